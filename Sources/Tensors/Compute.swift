// Run-time choice of backend and thread count.

import Foundation

#if OpenBLAS
  import COpenBLAS
#endif

/// The process-wide compute settings: which backend runs the kernels and how
/// many threads they use.
///
/// The defaults come from the environment: `BERT_BACKEND=openblas|swift` and
/// `BERT_NUM_THREADS=N`. A scoped override (``withBackend(_:_:)``) applies to the
/// current task only, so tests running in parallel can use different backends.
public enum Compute {
  private static let lock = NSLock()
  nonisolated(unsafe) private static var globalBackend: BackendKind = initialBackend()
  nonisolated(unsafe) private static var globalThreadCount: Int = initialThreadCount()
  nonisolated(unsafe) private static var openBLASConfigured = false

  @TaskLocal private static var scopedBackend: BackendKind?
  @TaskLocal private static var scopedImplementation: (any Backend)?

  /// The backend that ops dispatch to in the current context.
  public static var backendKind: BackendKind {
    if let scoped = scopedBackend { return scoped }
    return lock.withLock { globalBackend }
  }

  /// The implementation of ``backendKind``.
  public static var backend: any Backend {
    if let scoped = scopedImplementation { return scoped }
    let kind = backendKind
    configureOpenBLASOnce()
    return kind.implementation
  }

  /// Sets the process-wide default backend. Throws if this build lacks it.
  public static func setBackend(_ kind: BackendKind) throws(ComputeError) {
    guard kind.isAvailable else { throw .backendUnavailable(kind) }
    lock.withLock { globalBackend = kind }
  }

  /// Runs `body` with `kind` as the backend of the current task.
  public static func withBackend<R>(_ kind: BackendKind, _ body: () throws -> R) rethrows -> R {
    ensure(kind.isAvailable, "Compute.withBackend: \(kind) is not in this build")
    return try $scopedBackend.withValue(kind, operation: body)
  }

  /// Runs `body` with `backend` as the implementation of the current task, e.g. a
  /// wrapper that times the kernels of another backend; ``backendKind`` is its kind.
  public static func withBackend<R>(_ backend: any Backend, _ body: () throws -> R) rethrows
    -> R
  {
    configureOpenBLASOnce()
    return try $scopedBackend.withValue(backend.kind) {
      try $scopedImplementation.withValue(backend, operation: body)
    }
  }

  /// The number of threads the kernels split work across, GEMM included (the
  /// OpenBLAS backend splits each product over single-threaded OpenBLAS calls).
  public static var threadCount: Int {
    get { lock.withLock { globalThreadCount } }
    set {
      let count = max(1, newValue)
      lock.withLock { globalThreadCount = count }
      #if OpenBLAS
        OpenBLASBackend.setThreadCount(count)
      #endif
    }
  }

  /// The threads one GEMM call may use: ``threadCount``, or 1 inside a chunk
  /// of a parallel loop (``Parallel/isInsideRegion``), such as attention's
  /// (batch, head) pairs. The rule is per thread: a caller on another thread
  /// keeps its split, so its results do not depend on what else is running.
  public static var gemmThreadCount: Int {
    Parallel.isInsideRegion ? 1 : threadCount
  }

  nonisolated(unsafe) private static var openBLASThreadsOffDepth = 0

  /// Runs `body`, which splits many small products across the threads itself
  /// (GEMMs inside its parallel chunks are single-threaded by
  /// ``gemmThreadCount``). Under `BERT_OPENBLAS_THREADING=openblas`, where
  /// OpenBLAS threads each call, it also sets OpenBLAS's own thread count to 1
  /// while `body` runs; that setting is OpenBLAS's and process-wide. Otherwise
  /// OpenBLAS is single-threaded anyway and nothing else changes.
  public static func withSingleThreadedGEMM<R>(_ body: () throws -> R) rethrows -> R {
    #if OpenBLAS
      guard !OpenBLASBackend.splitsAcrossThreads else { return try body() }
      let first = lock.withLock {
        openBLASThreadsOffDepth += 1
        return openBLASThreadsOffDepth == 1
      }
      if first { OpenBLASBackend.setThreadCount(1) }
      defer {
        let last = lock.withLock {
          openBLASThreadsOffDepth -= 1
          return openBLASThreadsOffDepth == 0
        }
        if last { OpenBLASBackend.setThreadCount(threadCount) }
      }
    #endif
    return try body()
  }

  /// A one-line description of the backend, kernel and threads, for logs.
  public static var summary: String {
    "backend \(backendKind) (kernel \(backend.kernelName)), \(threadCount) threads"
  }

  private static func configureOpenBLASOnce() {
    #if OpenBLAS
      let needed = lock.withLock {
        defer { openBLASConfigured = true }
        return !openBLASConfigured
      }
      if needed { OpenBLASBackend.setThreadCount(threadCount) }
    #endif
  }

  private static func initialBackend() -> BackendKind {
    if let name = ProcessInfo.processInfo.environment["BERT_BACKEND"]?.lowercased(),
      let kind = BackendKind(rawValue: name), kind.isAvailable
    {
      return kind
    }
    return BackendKind.allAvailable[0]
  }

  private static func initialThreadCount() -> Int {
    if let text = ProcessInfo.processInfo.environment["BERT_NUM_THREADS"], let count = Int(text),
      count > 0
    {
      return count
    }
    return ProcessInfo.processInfo.activeProcessorCount
  }
}

/// An error in the compute settings.
public enum ComputeError: Error, CustomStringConvertible {
  /// The backend is not part of this build.
  case backendUnavailable(BackendKind)

  public var description: String {
    switch self {
    case .backendUnavailable(let kind):
      "the \(kind) backend is not in this build; available: "
        + BackendKind.allAvailable.map(\.rawValue).joined(separator: ", ")
    }
  }
}
