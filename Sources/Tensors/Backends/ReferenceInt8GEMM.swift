/// The textbook triple loop of the int8 product, accumulated in Int64: the
/// oracle that ``Int8GEMM``'s kernels are tested against. Never used for real work.
public enum ReferenceInt8GEMM {
  /// C[i, j] = Σ_k (A[i, k] − z[i]) · W[j, k], the contract of
  /// ``Int8GEMM/multiply(activations:rows:zeroPoints:weights:kernel:threadCount:minimumWorkPerThread:)``.
  ///
  /// - Parameters:
  ///   - activations: A [m, k] row-major.
  ///   - zeroPoints: z [m], or nil for none.
  ///   - weights: W [n, k] row-major (the layer's [out, in]).
  /// - Returns: C [m, n] row-major; each sum is checked to fit in Int32.
  public static func multiply(
    activations: [UInt8], zeroPoints: [Int32]?, weights: [Int8], m: Int, n: Int, k: Int
  ) -> [Int32] {
    ensure(
      activations.count == m * k && weights.count == n * k && (zeroPoints?.count ?? m) == m,
      "ReferenceInt8GEMM: operands do not match m \(m), n \(n), k \(k)")
    var result = [Int32](repeating: 0, count: m * n)
    for i in 0..<m {
      let zeroPoint = Int64(zeroPoints?[i] ?? 0)
      for j in 0..<n {
        var sum: Int64 = 0
        for p in 0..<k {
          sum += (Int64(activations[i * k + p]) - zeroPoint) * Int64(weights[j * k + p])
        }
        ensure(
          sum >= Int64(Int32.min) && sum <= Int64(Int32.max),
          "ReferenceInt8GEMM: C[\(i), \(j)] = \(sum) does not fit in Int32")
        result[i * n + j] = Int32(sum)
      }
    }
    return result
  }
}
