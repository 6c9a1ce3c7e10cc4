/// The pure-Swift backend: always built, needs no system library.
public struct SwiftBackend: Backend {
  public init() {}

  public var kind: BackendKind { .swift }

  public var kernelName: String { "swift-reference" }

  public func sgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    ReferenceGEMM.sgemm(
      transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
  }

  public func sgemmBatched(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, strideA: Int,
    b: UnsafePointer<Float>, ldb: Int, strideB: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
    batchCount: Int
  ) {
    for index in 0..<batchCount {
      sgemm(
        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
        a: a + index * strideA, lda: lda, b: b + index * strideB, ldb: ldb,
        beta: beta, c: c + index * strideC, ldc: ldc)
    }
  }
}
