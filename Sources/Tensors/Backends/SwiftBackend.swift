/// The pure-Swift backend: always built, needs no system library.
public struct SwiftBackend: Backend {
  public init() {}

  public var kind: BackendKind { .swift }

  /// The blocked SIMD kernel: a 6×16 register tile of 8-wide FMAs.
  public var kernelName: String { "swift-simd8-6x16" }

  public func sgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    SwiftGEMM.sgemm(
      transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
      threadCount: Compute.gemmThreadCount)
  }

  public func sgemmBatched(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, strideA: Int,
    b: UnsafePointer<Float>, ldb: Int, strideB: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
    batchCount: Int
  ) {
    SwiftGEMM.sgemmBatched(
      transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
      a: a, lda: lda, strideA: strideA, b: b, ldb: ldb, strideB: strideB,
      beta: beta, c: c, ldc: ldc, strideC: strideC,
      batchCount: batchCount, threadCount: Compute.gemmThreadCount)
  }
}
