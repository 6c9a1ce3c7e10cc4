#if OpenBLAS
  import COpenBLAS

  /// GEMM through `cblas_sgemm` and linear algebra through LAPACKE.
  public struct OpenBLASBackend: Backend {
    public init() {}

    public var kind: BackendKind { .openblas }

    /// OpenBLAS's name for the kernel it chose for this CPU, e.g. `Haswell`.
    public var kernelName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's build configuration string.
    public var configuration: String { String(cString: openblas_get_config()) }

    public func sgemm(
      transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
      alpha: Float, a: UnsafePointer<Float>, lda: Int,
      b: UnsafePointer<Float>, ldb: Int,
      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
      guard m > 0, n > 0 else { return }
      cblas_sgemm(
        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
        transposeB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    public func sgemmBatched(
      transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
      alpha: Float, a: UnsafePointer<Float>, lda: Int, strideA: Int,
      b: UnsafePointer<Float>, ldb: Int, strideB: Int,
      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
      batchCount: Int
    ) {
      // Attention's products are small (T×D·D×T); OpenBLAS threads each call
      // internally, so a plain loop of sgemm calls keeps every core busy.
      for index in 0..<batchCount {
        sgemm(
          transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
          a: a + index * strideA, lda: lda, b: b + index * strideB, ldb: ldb,
          beta: beta, c: c + index * strideC, ldc: ldc)
      }
    }

    /// Sets the number of threads OpenBLAS uses.
    static func setThreadCount(_ count: Int) { openblas_set_num_threads(Int32(count)) }
  }
#endif
