// A backend wrapper that measures the time spent in matrix products.

import Foundation

/// Forwards every call to another backend and measures the wall-clock time
/// spent in `sgemm` and `sgemmBatched`, and their floating-point operations.
///
/// Run a workload under `Compute.withBackend(profiler) { ... }` to find the share of
/// a workload's time that its GEMMs take. ``gemmSeconds`` counts the time during
/// which at least one GEMM call is running, so concurrent calls from several
/// threads are not counted twice; ``callSeconds`` adds up every call's own time.
public final class ProfilingBackend: Backend, @unchecked Sendable {
  /// The backend that does the work.
  public let base: any Backend
  private let lock = NSLock()
  private var seconds = 0.0
  private var summedSeconds = 0.0
  private var operations = 0.0
  private var calls = 0
  private var active = 0
  private var busySince: UInt64 = 0

  /// A profiler around `base`, with its counters at zero.
  public init(_ base: any Backend) { self.base = base }

  public var kind: BackendKind { base.kind }
  public var kernelName: String { base.kernelName }

  /// Wall-clock seconds during which at least one GEMM call ran, since the last ``reset()``.
  public var gemmSeconds: Double { lock.withLock { seconds } }
  /// The sum of every GEMM call's duration (more than ``gemmSeconds`` when calls overlap).
  public var callSeconds: Double { lock.withLock { summedSeconds } }
  /// Floating-point operations (2·m·n·k per product) of those calls.
  public var gemmFlops: Double { lock.withLock { operations } }
  /// The number of `sgemm` and `sgemmBatched` calls.
  public var gemmCalls: Int { lock.withLock { calls } }

  /// Sets the counters to zero.
  public func reset() {
    lock.withLock {
      seconds = 0
      summedSeconds = 0
      operations = 0
      calls = 0
    }
  }

  private func begin() -> UInt64 {
    let start = DispatchTime.now().uptimeNanoseconds
    lock.withLock {
      if active == 0 { busySince = start }
      active += 1
    }
    return start
  }

  private func end(_ start: UInt64, flops: Double) {
    let stop = DispatchTime.now().uptimeNanoseconds
    lock.withLock {
      active -= 1
      if active == 0 { seconds += Double(stop - busySince) * 1e-9 }
      summedSeconds += Double(stop - start) * 1e-9
      operations += flops
      calls += 1
    }
  }

  public func sgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    let start = begin()
    base.sgemm(
      transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    end(start, flops: 2 * Double(m) * Double(n) * Double(k))
  }

  public func sgemmBatched(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, strideA: Int,
    b: UnsafePointer<Float>, ldb: Int, strideB: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
    batchCount: Int
  ) {
    let start = begin()
    base.sgemmBatched(
      transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
      a: a, lda: lda, strideA: strideA, b: b, ldb: ldb, strideB: strideB, beta: beta,
      c: c, ldc: ldc, strideC: strideC, batchCount: batchCount)
    end(start, flops: 2 * Double(m) * Double(n) * Double(k) * Double(batchCount))
  }

  public func solve(_ a: Tensor, _ b: Tensor) throws(LinearAlgebraError) -> Tensor {
    try base.solve(a, b)
  }

  public func cholesky(_ a: Tensor) throws(LinearAlgebraError) -> Tensor {
    try base.cholesky(a)
  }

  public func qr(_ a: Tensor) throws(LinearAlgebraError) -> (q: Tensor, r: Tensor) {
    try base.qr(a)
  }

  public func svd(_ a: Tensor) throws(LinearAlgebraError) -> (u: Tensor, s: Tensor, vt: Tensor) {
    try base.svd(a)
  }

  public func eigh(_ a: Tensor) throws(LinearAlgebraError) -> (values: Tensor, vectors: Tensor) {
    try base.eigh(a)
  }
}
