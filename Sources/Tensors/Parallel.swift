// Splitting loops across the compute threads.

import Dispatch

/// Work splitting for the elementwise and row-wise kernels.
public enum Parallel {
  /// Calls `body` on disjoint chunks that cover `0..<count`, on up to
  /// ``Compute/threadCount`` threads. Work smaller than `minimumChunk` elements
  /// per thread stays on the calling thread.
  @inlinable
  public static func forEachChunk(
    _ count: Int, minimumChunk: Int = 16_384, _ body: (Range<Int>) -> Void
  ) {
    guard count > 0 else { return }
    let threads = min(Compute.threadCount, max(1, count / max(minimumChunk, 1)))
    if threads <= 1 {
      body(0..<count)
      return
    }
    let chunk = (count + threads - 1) / threads
    DispatchQueue.concurrentPerform(iterations: threads) { index in
      let start = index * chunk
      let end = min(count, start + chunk)
      if start < end { body(start..<end) }
    }
  }

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
      body(splitColumns ? 0..<m : start..<end, splitColumns ? start..<end : 0..<n)
    }
  }
}
