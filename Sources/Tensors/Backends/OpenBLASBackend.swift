#if OpenBLAS
  import COpenBLAS
  import Foundation

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
      let threads = Compute.gemmThreadCount
      guard Self.splitsAcrossThreads, threads > 1, 2 * m * n * k >= Self.minimumSplitWork else {
        Self.single(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
      }
      // One single-threaded call per thread on a block of C's columns (or of
      // its rows when C is taller than wide). Each call packs its own panels;
      // no OpenBLAS worker threads are woken, so none is left spinning after
      // the call on a core that the next elementwise kernel needs.
      if n >= m {
        let chunk = ((n + threads - 1) / threads + 15) & ~15
        Parallel.forEach((n + chunk - 1) / chunk) { part in
          let start = part * chunk
          let width = min(chunk, n - start)
          Self.single(
            transposeA, transposeB, m, width, k, alpha, a, lda,
            b + (transposeB ? start * ldb : start), ldb, beta, c + start, ldc)
        }
      } else {
        let chunk = ((m + threads - 1) / threads + 15) & ~15
        Parallel.forEach((m + chunk - 1) / chunk) { part in
          let start = part * chunk
          let height = min(chunk, m - start)
          Self.single(
            transposeA, transposeB, height, n, k, alpha, a + (transposeA ? start : start * lda),
            lda, b, ldb, beta, c + start * ldc, ldc)
        }
      }
    }

    public func sgemmBatched(
      transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
      alpha: Float, a: UnsafePointer<Float>, lda: Int, strideA: Int,
      b: UnsafePointer<Float>, ldb: Int, strideB: Int,
      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
      batchCount: Int
    ) {
      guard m > 0, n > 0, batchCount > 0 else { return }
      let product = { (index: Int) in
        Self.single(
          transposeA, transposeB, m, n, k, alpha, a + index * strideA, lda,
          b + index * strideB, ldb, beta, c + index * strideC, ldc)
      }
      // Attention's products are small (T×D·D×T): one thread per product, or
      // one after another, each threaded by OpenBLAS when it threads its calls.
      if Self.splitsAcrossThreads, Compute.gemmThreadCount > 1, batchCount > 1 {
        Parallel.forEach(batchCount, product)
      } else {
        for index in 0..<batchCount { product(index) }
      }
    }

    /// Whether this package splits each GEMM across its own threads, calling
    /// a single-threaded OpenBLAS (the default), or lets OpenBLAS thread each
    /// call itself (`BERT_OPENBLAS_THREADING=openblas`).
    static let splitsAcrossThreads: Bool =
      ProcessInfo.processInfo.environment["BERT_OPENBLAS_THREADING"]?.lowercased() != "openblas"

    /// Below this many FLOPs a product stays on one thread: waking a second
    /// thread costs about as much as the work.
    static let minimumSplitWork = 4_000_000

    /// One `cblas_sgemm` call (on OpenBLAS's own threads only when
    /// ``splitsAcrossThreads`` is off).
    private static func single(
      _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
      _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
      _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
      cblas_sgemm(
        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
        transposeB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Sets the number of threads OpenBLAS uses: `count` when OpenBLAS threads
    /// each call itself, else 1.
    static func setThreadCount(_ count: Int) {
      openblas_set_num_threads(Int32(splitsAcrossThreads ? 1 : count))
    }
  }
#endif
