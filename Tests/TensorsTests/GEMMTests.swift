import Tensors
import TestSupport
import Testing

/// One (possibly batched) GEMM on padded operands: every leading dimension and
/// batch stride is larger than the minimum, and the gaps hold a sentinel that
/// must survive. The expected C comes from ``ReferenceGEMM``.
private struct GEMMCase: CustomStringConvertible {
  var transposeA = false
  var transposeB = false
  var m: Int
  var n: Int
  var k: Int
  var alpha: Float = 1
  var beta: Float = 0
  /// Extra columns in each operand's rows (lda, ldb, ldc beyond the minimum).
  var padding = 0
  var batchCount = 1

  var lda: Int { (transposeA ? m : k) + padding }
  var ldb: Int { (transposeB ? k : n) + padding }
  var ldc: Int { n + padding }
  // Each batch item is followed by a gap of 3 unused elements.
  var strideA: Int { (transposeA ? k : m) * lda + 3 }
  var strideB: Int { (transposeB ? n : k) * ldb + 3 }
  var strideC: Int { m * ldc + 3 }

  var description: String {
    "\(m)×\(n)×\(k) \(transposeA ? "T" : "N")\(transposeB ? "T" : "N") α=\(alpha) β=\(beta) "
      + "pad=\(padding) batch=\(batchCount)"
  }

  /// Runs `product` on random operands (C full of NaN when beta is 0) and
  /// compares every element of C's buffer, gaps included, with the reference.
  func check(
    seed: UInt64, _ comment: String = "",
    sourceLocation: SourceLocation = #_sourceLocation,
    _ product:
      (
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>
      ) -> Void
  ) {
    var generator = SeededGenerator(seed: seed)
    let sentinel: Float = -12_345
    let a = Tensor.randomNormal(shape: [batchCount * strideA], generator: &generator).scalars
    let b = Tensor.randomNormal(shape: [batchCount * strideB], generator: &generator).scalars
    var c = Tensor.randomNormal(shape: [batchCount * strideC], generator: &generator).scalars
    for index in c.indices {
      let (batch, offset) = index.quotientAndRemainder(dividingBy: strideC)
      let (row, column) = offset.quotientAndRemainder(dividingBy: ldc)
      if batch >= batchCount || row >= m || column >= n {
        c[index] = sentinel
      } else if beta == 0 {
        c[index] = .nan
      }
    }
    var expected = c
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        expected.withUnsafeMutableBufferPointer { c in
          for batch in 0..<batchCount {
            ReferenceGEMM.sgemm(
              transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
              a: a.baseAddress! + batch * strideA, lda: lda,
              b: b.baseAddress! + batch * strideB, ldb: ldb,
              beta: beta, c: c.baseAddress! + batch * strideC, ldc: ldc)
          }
        }
        c.withUnsafeMutableBufferPointer { c in
          product(a.baseAddress!, b.baseAddress!, c.baseAddress!)
        }
      }
    }
    // Float accumulation against the reference's Double, over up to a few hundred terms.
    expectClose(
      c, expected, rtol: 1e-4, atol: 1e-4, "\(self) \(comment)", sourceLocation: sourceLocation)
  }
}

@Suite struct GEMMTests {
  /// Shapes around every block size: the 6×16 tile, MC = 144, KC = 256, NC = 4080,
  /// plus degenerate sizes (1×1×1, k = 1, m = 1, n = 1).
  static let shapes: [(m: Int, n: Int, k: Int)] = [
    (1, 1, 1), (7, 13, 5), (6, 16, 8), (5, 15, 7), (12, 32, 3), (1, 37, 9), (23, 1, 17),
    (9, 21, 1), (143, 17, 4), (144, 16, 3), (145, 33, 2), (8, 20, 255), (7, 17, 256),
    (13, 18, 257), (3, 4081, 2), (300, 257, 129),
  ]

  @Test(arguments: [false, true], [false, true])
  func swiftKernelMatchesReferenceOnEdgeShapes(transposeA: Bool, transposeB: Bool) {
    for (index, shape) in Self.shapes.enumerated() {
      let gemm = GEMMCase(
        transposeA: transposeA, transposeB: transposeB, m: shape.m, n: shape.n, k: shape.k)
      gemm.check(seed: UInt64(index)) { a, b, c in
        SwiftGEMM.sgemm(
          transposeA: transposeA, transposeB: transposeB, m: gemm.m, n: gemm.n, k: gemm.k,
          alpha: gemm.alpha, a: a, lda: gemm.lda, b: b, ldb: gemm.ldb,
          beta: gemm.beta, c: c, ldc: gemm.ldc, threadCount: 1)
      }
    }
  }

  /// alpha ≠ 1, beta ∈ {0, 1, 0.5} (beta = 0 on a C of NaN) and sub-matrices
  /// whose leading dimensions exceed their widths.
  @Test(arguments: [false, true], [false, true])
  func swiftKernelAppliesAlphaBetaAndStrides(transposeA: Bool, transposeB: Bool) {
    var seed: UInt64 = 100
    for (m, n, k) in [(7, 13, 5), (37, 45, 29), (150, 20, 260)] {
      for alpha: Float in [1, -0.75] {
        for beta: Float in [0, 1, 0.5] {
          let gemm = GEMMCase(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
            beta: beta, padding: 5)
          seed += 1
          gemm.check(seed: seed) { a, b, c in
            SwiftGEMM.sgemm(
              transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
              alpha: alpha, a: a, lda: gemm.lda, b: b, ldb: gemm.ldb,
              beta: beta, c: c, ldc: gemm.ldc, threadCount: 1)
          }
        }
      }
    }
  }

  /// The split of C across threads, by columns (n ≥ m) and by rows (m > n),
  /// including more threads than there are tiles.
  @Test(arguments: [1, 2, 3, 5])
  func swiftKernelSplitsAcrossThreads(threads: Int) {
    var seed: UInt64 = 200
    for (m, n, k) in [(40, 100, 30), (100, 40, 30), (1, 200, 7), (200, 1, 7), (7, 13, 5)] {
      for transposeB in [false, true] {
        let gemm = GEMMCase(
          transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, beta: 0.5, padding: 2)
        seed += 1
        gemm.check(seed: seed, "threads=\(threads)") { a, b, c in
          SwiftGEMM.sgemm(
            transposeA: false, transposeB: transposeB, m: m, n: n, k: k,
            alpha: gemm.alpha, a: a, lda: gemm.lda, b: b, ldb: gemm.ldb,
            beta: gemm.beta, c: c, ldc: gemm.ldc, threadCount: threads, minimumWorkPerThread: 1)
        }
      }
    }
    guard threads == 3 else { return }
    let large = GEMMCase(transposeA: true, m: 300, n: 257, k: 129, beta: 1)
    large.check(seed: 299, "threads=\(threads)") { a, b, c in
      SwiftGEMM.sgemm(
        transposeA: true, transposeB: false, m: 300, n: 257, k: 129,
        alpha: 1, a: a, lda: large.lda, b: b, ldb: large.ldb,
        beta: 1, c: c, ldc: large.ldc, threadCount: threads, minimumWorkPerThread: 1)
    }
  }

  /// Batched products with strides: across the batch (batch ≥ threads) and
  /// inside each product (batch < threads).
  @Test(arguments: [1, 2, 3])
  func swiftBatchedMatchesReference(threads: Int) {
    var seed: UInt64 = 300
    for batchCount in [1, 2, 5] {
      for (transposeA, transposeB) in [(false, true), (false, false), (true, false)] {
        let gemm = GEMMCase(
          transposeA: transposeA, transposeB: transposeB, m: 19, n: 21, k: 17, alpha: 1.5,
          beta: batchCount == 2 ? 0 : 0.5, padding: 1, batchCount: batchCount)
        seed += 1
        gemm.check(seed: seed, "threads=\(threads)") { a, b, c in
          SwiftGEMM.sgemmBatched(
            transposeA: transposeA, transposeB: transposeB, m: gemm.m, n: gemm.n, k: gemm.k,
            alpha: gemm.alpha, a: a, lda: gemm.lda, strideA: gemm.strideA,
            b: b, ldb: gemm.ldb, strideB: gemm.strideB,
            beta: gemm.beta, c: c, ldc: gemm.ldc, strideC: gemm.strideC,
            batchCount: batchCount, threadCount: threads, minimumWorkPerThread: 1)
        }
      }
    }
  }

  /// Every backend through the ``Backend`` protocol, at the process thread count.
  @Test(arguments: BackendKind.allAvailable)
  func backendMatchesReference(_ kind: BackendKind) {
    let backend = kind.implementation
    var seed: UInt64 = 400
    for transposeA in [false, true] {
      for transposeB in [false, true] {
        for (m, n, k, beta) in [(1, 1, 1, Float(0)), (7, 13, 5, 0.5), (65, 70, 33, 0)] {
          let gemm = GEMMCase(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: -2,
            beta: beta, padding: 3)
          seed += 1
          gemm.check(seed: seed, "\(kind)") { a, b, c in
            backend.sgemm(
              transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
              alpha: gemm.alpha, a: a, lda: gemm.lda, b: b, ldb: gemm.ldb,
              beta: beta, c: c, ldc: gemm.ldc)
          }
        }
        let batched = GEMMCase(
          transposeA: transposeA, transposeB: transposeB, m: 9, n: 11, k: 7, beta: 0.5,
          padding: 2, batchCount: 4)
        seed += 1
        batched.check(seed: seed, "\(kind) batched") { a, b, c in
          backend.sgemmBatched(
            transposeA: transposeA, transposeB: transposeB, m: 9, n: 11, k: 7,
            alpha: 1, a: a, lda: batched.lda, strideA: batched.strideA,
            b: b, ldb: batched.ldb, strideB: batched.strideB,
            beta: 0.5, c: c, ldc: batched.ldc, strideC: batched.strideC, batchCount: 4)
        }
      }
    }
  }

  /// k = 0 and alpha = 0 leave beta · C (zeros, not NaN, for beta = 0).
  @Test(arguments: BackendKind.allAvailable)
  func emptyProductScalesC(_ kind: BackendKind) {
    for (k, alpha) in [(0, Float(1)), (4, 0)] {
      for beta: Float in [0, 0.5] {
        let gemm = GEMMCase(m: 3, n: 5, k: k, alpha: alpha, beta: beta, padding: 1)
        gemm.check(seed: 500, "\(kind)") { a, b, c in
          kind.implementation.sgemm(
            transposeA: false, transposeB: false, m: 3, n: 5, k: k, alpha: alpha,
            a: a, lda: gemm.lda, b: b, ldb: gemm.ldb, beta: beta, c: c, ldc: gemm.ldc)
        }
      }
    }
  }

  #if OpenBLAS
    /// OpenBLAS directly, on the shapes around the Swift kernel's block sizes.
    @Test func openBLASMatchesReference() {
      // The large shape is left out: the reference takes long in a debug build.
      for (index, shape) in Self.shapes.enumerated() where shape.m * shape.n * shape.k < 1 << 20 {
        for (transposeA, transposeB) in [(false, false), (false, true), (true, true)] {
          let gemm = GEMMCase(
            transposeA: transposeA, transposeB: transposeB, m: shape.m, n: shape.n, k: shape.k,
            alpha: 0.5, beta: index.isMultiple(of: 2) ? 0 : 1, padding: 1)
          gemm.check(seed: 600 + UInt64(index)) { a, b, c in
            OpenBLASBackend().sgemm(
              transposeA: transposeA, transposeB: transposeB, m: gemm.m, n: gemm.n, k: gemm.k,
              alpha: gemm.alpha, a: a, lda: gemm.lda, b: b, ldb: gemm.ldb,
              beta: gemm.beta, c: c, ldc: gemm.ldc)
          }
        }
      }
    }
  #endif
}
