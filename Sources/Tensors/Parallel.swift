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
}
