// Splitting loops across the compute threads.

//
// A chunk of a parallel loop runs as part of a parallel region: a loop or a
// GEMM started inside it stays on the chunk's thread. The mark is per thread,
// so two callers that run at the same time (a server's batch and a test, two
// pipelines) never change each other's splits, and a result depends only on
// the thread count.

import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Work splitting for the elementwise and row-wise kernels.
public enum Parallel {
  /// Calls `body` on disjoint chunks that cover `0..<count`, on up to
  /// ``Compute/threadCount`` threads. Work smaller than `minimumChunk` elements
  /// per thread, and work started inside another parallel loop's chunk
  /// (``isInsideRegion``), stays on the calling thread.
  @inlinable
  public static func forEachChunk(
    _ count: Int, minimumChunk: Int = 16_384, _ body: (Range<Int>) -> Void
  ) {
    guard count > 0 else { return }
    let threads =
      isInsideRegion ? 1 : min(Compute.threadCount, max(1, count / max(minimumChunk, 1)))
    if threads <= 1 {
      body(0..<count)
      return
    }
    let chunk = (count + threads - 1) / threads
    DispatchQueue.concurrentPerform(iterations: threads) { index in
      let start = index * chunk
      let end = min(count, start + chunk)
      if start < end { inRegion { body(start..<end) } }
    }
  }

  /// Whether the calling thread is running a chunk of a parallel loop.
  public static var isInsideRegion: Bool { pthread_getspecific(regionKey) != nil }

  /// Runs `body` marked as a chunk of a parallel region on this thread.
  @usableFromInline
  static func inRegion(_ body: () -> Void) {
    let outer = pthread_getspecific(regionKey)
    pthread_setspecific(regionKey, UnsafeRawPointer(bitPattern: 1))
    defer { pthread_setspecific(regionKey, outer) }
    body()
  }

  /// The thread-specific key of the region mark (non-nil inside a chunk).
  private static let regionKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key, nil)
    ensure(status == 0, "Parallel: pthread_key_create failed with status \(status)")
    return key
  }()

  /// Calls `body(i)` for each `i` in `0..<count`, spread over the compute threads.
  /// For independent tasks of roughly equal cost (rows, attention heads).
  @inlinable
  public static func forEach(_ count: Int, _ body: (Int) -> Void) {
    forEachChunk(count, minimumChunk: 1) { range in
      for index in range { body(index) }
    }
  }

  /// Splits an m × n product C = A·B (depth k) over up to `threadCount`
  /// threads, in ranges of whole tiles (`rowTile` rows or `columnTile`
  /// columns), and calls `body` with each thread's rows and columns of C.
  /// Threads split the larger of m and n, so that the operand each thread
  /// packs in full (A for a column split, B for a row split) is the smaller
  /// one; a product under `minimumWorkPerThread` multiply-adds per thread stays
  /// on fewer threads, down to the calling one.
  public static func forEachTileBlock(
    m: Int, n: Int, k: Int, rowTile: Int, columnTile: Int, threadCount: Int,
    minimumWorkPerThread: Int, _ body: (_ rows: Range<Int>, _ columns: Range<Int>) -> Void
  ) {
    guard m > 0, n > 0 else { return }
    let splitColumns = n >= m
    let tile = splitColumns ? columnTile : rowTile
    let extent = splitColumns ? n : m
    let tiles = (extent + tile - 1) / tile
    let byWork = max(1, m * n * max(k, 1) / max(1, minimumWorkPerThread))
    let threads = max(1, min(threadCount, tiles, byWork))
    if threads == 1 {
      body(0..<m, 0..<n)
      return
    }
    let tilesPerThread = (tiles + threads - 1) / threads
    DispatchQueue.concurrentPerform(iterations: threads) { thread in
      let start = min(extent, thread * tilesPerThread * tile)
      let end = min(extent, (thread + 1) * tilesPerThread * tile)
      guard start < end else { return }
      inRegion {
        body(splitColumns ? 0..<m : start..<end, splitColumns ? start..<end : 0..<n)
      }
    }
  }
}
