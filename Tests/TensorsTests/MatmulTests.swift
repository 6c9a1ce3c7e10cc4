import Tensors
import TestSupport
import Testing

@Suite struct MatmulTests {
  /// op(A)·op(B) through the tensor API against the naive reference, for every
  /// transpose combination and shapes that are not multiples of any block size.
  @Test(arguments: BackendKind.allAvailable)
  func matmulMatchesReference(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 1)
    for (m, n, k) in [(1, 1, 1), (7, 13, 5), (17, 3, 33), (64, 65, 63)] {
      for transposeA in [false, true] {
        for transposeB in [false, true] {
          let a = Tensor.randomNormal(shape: transposeA ? [k, m] : [m, k], generator: &generator)
          let b = Tensor.randomNormal(shape: transposeB ? [n, k] : [k, n], generator: &generator)
          let actual = Compute.withBackend(backend) {
            a.matmul(b, transposeA: transposeA, transposeB: transposeB)
          }
          var expected = Tensor(zeros: [m, n])
          expected.withUnsafeMutableBufferPointer { c in
            ReferenceGEMM.sgemm(
              transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
              a: a.storage.pointer, lda: a.shape[1], b: b.storage.pointer, ldb: b.shape[1],
              beta: 0, c: c.baseAddress!, ldc: n)
          }
          expectClose(
            actual, expected, rtol: 1e-5, atol: 1e-5,
            "\(m)×\(n)×\(k) tA=\(transposeA) tB=\(transposeB)")
        }
      }
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func batchedMatmulMatchesPerBatchProducts(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 2)
    let a = Tensor.randomNormal(shape: [2, 3, 4, 5], generator: &generator)  // [B, NH, T, D]
    let b = Tensor.randomNormal(shape: [2, 3, 6, 5], generator: &generator)  // [B, NH, S, D]
    let product = Compute.withBackend(backend) { a.matmul(b, transposeB: true) }  // [B, NH, T, S]
    #expect(product.shape == [2, 3, 4, 6])
    for batch in 0..<2 {
      for head in 0..<3 {
        for t in 0..<4 {
          for s in 0..<6 {
            var dot: Float = 0
            for d in 0..<5 { dot += a[batch, head, t, d] * b[batch, head, s, d] }
            #expect(abs(product[batch, head, t, s] - dot) <= 1e-5)
          }
        }
      }
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func matmulGradients(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 3)
    for transposeA in [false, true] {
      for transposeB in [false, true] {
        let a = Tensor.randomNormal(
          shape: transposeA ? [2, 4, 3] : [2, 3, 4], generator: &generator)
        let b = Tensor.randomNormal(
          shape: transposeB ? [2, 5, 4] : [2, 4, 5], generator: &generator)
        Compute.withBackend(backend) {
          checkGradients([a, b]) {
            $0[0].matmul($0[1], transposeA: transposeA, transposeB: transposeB, alpha: 0.5)
          }
        }
      }
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func linearGradients(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 4)
    let x = Tensor.randomNormal(shape: [2, 3, 5], generator: &generator)  // [B, T, in]
    let w = Tensor.randomNormal(shape: [4, 5], generator: &generator)  // [out, in]
    let bias = Tensor.randomNormal(shape: [4], generator: &generator)  // [out]
    Compute.withBackend(backend) {
      let y = x.linear(weight: w, bias: bias)
      #expect(y.shape == [2, 3, 4])
      // y[b,t,o] = Σᵢ x[b,t,i]·w[o,i] + bias[o], written out by hand.
      var expected: Float = bias[1]
      for i in 0..<5 { expected += x[1, 2, i] * w[1, i] }
      #expect(abs(y[1, 2, 1] - expected) <= 1e-5)
      checkGradients([x, w, bias]) { $0[0].linear(weight: $0[1], bias: $0[2]) }
    }
  }
}
