/// The textbook triple loop, accumulated in Double: the oracle that the fast
/// kernels are tested against. Never used for real work.
public enum ReferenceGEMM {
  /// C = alpha · op(A) · op(B) + beta · C, row-major, with the same contract as
  /// ``Backend/sgemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
  public static func sgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        for p in 0..<k {
          let aValue = transposeA ? a[p * lda + i] : a[i * lda + p]
          let bValue = transposeB ? b[j * ldb + p] : b[p * ldb + j]
          sum += Double(aValue) * Double(bValue)
        }
        let previous = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
        c[i * ldc + j] = Float(Double(alpha) * sum + previous)
      }
    }
  }
}
