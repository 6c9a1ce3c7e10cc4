import Dispatch
import Foundation
import Testing

@testable import Tensors

/// The parallel-region rule: work started inside a chunk of a parallel loop
/// stays on that chunk's thread, and the mark belongs to that thread alone, so
/// one caller's region never changes another caller's GEMM split (and with it
/// the last bits of its results).
@Suite(.enabled(if: Compute.threadCount > 1, "Needs at least 2 compute threads"))
struct ParallelTests {
  @Test func gemmsInsideAChunkAreSingleThreadedAndOutsideAreNot() {
    #expect(!Parallel.isInsideRegion)
    #expect(Compute.gemmThreadCount == Compute.threadCount)
    let chunks = Compute.threadCount
    let seen = Locked<[(inside: Bool, gemmThreads: Int)]>([])
    Parallel.forEachChunk(chunks, minimumChunk: 1) { _ in
      let observation = (inside: Parallel.isInsideRegion, gemmThreads: Compute.gemmThreadCount)
      seen.withLock { $0.append(observation) }
    }
    let observations = seen.withLock { $0 }
    #expect(observations.count == chunks)
    #expect(observations.allSatisfy { $0.inside && $0.gemmThreads == 1 }, "\(observations)")
    // The calling thread ran chunks too; its mark is gone afterwards.
    #expect(!Parallel.isInsideRegion)
    #expect(Compute.gemmThreadCount == Compute.threadCount)
  }

  @Test func aLoopStartedInsideAChunkRunsWhole() {
    let ranges = Locked<[Range<Int>]>([])
    Parallel.forEachChunk(Compute.threadCount, minimumChunk: 1) { _ in
      Parallel.forEachChunk(1_000, minimumChunk: 1) { range in
        ranges.withLock { $0.append(range) }
      }
    }
    let seen = ranges.withLock { $0 }
    #expect(seen.count == Compute.threadCount)
    #expect(seen.allSatisfy { $0 == 0..<1_000 }, "\(seen)")
  }

  /// Attention's pattern (`withSingleThreadedGEMM` around a parallel loop over
  /// heads) held open on one thread while another thread asks how many threads
  /// its GEMM may use: it must get the full count, as when nothing else runs.
  @Test func anotherThreadsRegionLeavesThisThreadsSplit() throws {
    let chunks = Compute.threadCount
    let entered = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    let finished = DispatchSemaphore(value: 0)
    let timedOut = Locked(false)
    let holder = Thread {
      Compute.withSingleThreadedGEMM {
        Parallel.forEachChunk(chunks, minimumChunk: 1) { _ in
          entered.signal()
          if release.wait(timeout: .now() + 30) == .timedOut {
            timedOut.withLock { $0 = true }
          }
        }
      }
      finished.signal()
    }
    holder.start()
    for _ in 0..<chunks {
      try #require(entered.wait(timeout: .now() + 30) == .success, "the region never started")
    }
    let checker = Locked<Int?>(nil)
    let checked = DispatchSemaphore(value: 0)
    Thread {
      checker.withLock { $0 = Compute.gemmThreadCount }
      checked.signal()
    }.start()
    try #require(checked.wait(timeout: .now() + 30) == .success)
    for _ in 0..<chunks { release.signal() }
    try #require(finished.wait(timeout: .now() + 30) == .success, "the region never finished")
    #expect(!timedOut.withLock { $0 })
    #expect(
      checker.withLock { $0 } == Compute.threadCount,
      "a GEMM on another thread got \(String(describing: checker.withLock { $0 })) threads")
  }
}

/// A value behind a lock, shared with the threads of a test.
private final class Locked<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Value

  init(_ value: Value) { self.value = value }

  func withLock<R>(_ body: (inout Value) -> R) -> R {
    lock.withLock { body(&value) }
  }
}
