// GEMM throughput of each backend, side by side, against the machine's FMA peak.
//
// m, n, k: op(A) is [m, k], op(B) is [k, n], C is [m, n]

import Dispatch
import Foundation
import Tensors

/// The machine's measured FMA peak and the benchmark's clock. The GEMM rows
/// themselves are measured in `Workloads.gemm`.
enum GEMMBenchmark {
  /// The best GFLOP/s of a loop of independent 8-wide FMAs on `threads` threads:
  /// twelve accumulators hide the FMA latency, so this is the issue-rate bound.
  /// Many short bursts (a few ms each), best of all: on a machine shared with
  /// other work, some of them get whole cores.
  /// A debug build (where SIMD code is not inlined) runs a thousandth of the loop.
  static func measureFMAPeak(threads: Int) -> Double {
    #if DEBUG
      let iterations = 20_000
    #else
      let iterations = 2_000_000
    #endif
    let flopsPerThread = Double(iterations) * 12 * 8 * 2
    var best = 0.0
    for _ in 0..<30 {
      let start = now()
      DispatchQueue.concurrentPerform(iterations: threads) { thread in
        let sum = fmaLoop(iterations: iterations, seed: Float(thread + 1))
        if sum == 42 { print("") }  // keeps the loop observable
      }
      let elapsed = now() - start
      best = max(best, flopsPerThread * Double(threads) / elapsed / 1e9)
    }
    return best
  }

  @inline(never)
  static func fmaLoop(iterations: Int, seed: Float) -> Float {
    let x = SIMD8<Float>(repeating: 1 + seed * 1e-7)
    let y = SIMD8<Float>(repeating: 1 - seed * 1e-7)
    var accumulators = (
      SIMD8<Float>(repeating: 0), SIMD8<Float>(repeating: 1), SIMD8<Float>(repeating: 2),
      SIMD8<Float>(repeating: 3), SIMD8<Float>(repeating: 4), SIMD8<Float>(repeating: 5),
      SIMD8<Float>(repeating: 6), SIMD8<Float>(repeating: 7), SIMD8<Float>(repeating: 8),
      SIMD8<Float>(repeating: 9), SIMD8<Float>(repeating: 10), SIMD8<Float>(repeating: 11)
    )
    for _ in 0..<iterations {
      accumulators.0 = accumulators.0.addingProduct(x, y)
      accumulators.1 = accumulators.1.addingProduct(x, y)
      accumulators.2 = accumulators.2.addingProduct(x, y)
      accumulators.3 = accumulators.3.addingProduct(x, y)
      accumulators.4 = accumulators.4.addingProduct(x, y)
      accumulators.5 = accumulators.5.addingProduct(x, y)
      accumulators.6 = accumulators.6.addingProduct(x, y)
      accumulators.7 = accumulators.7.addingProduct(x, y)
      accumulators.8 = accumulators.8.addingProduct(x, y)
      accumulators.9 = accumulators.9.addingProduct(x, y)
      accumulators.10 = accumulators.10.addingProduct(x, y)
      accumulators.11 = accumulators.11.addingProduct(x, y)
    }
    let total =
      accumulators.0 + accumulators.1 + accumulators.2 + accumulators.3 + accumulators.4
      + accumulators.5 + accumulators.6 + accumulators.7 + accumulators.8 + accumulators.9
      + accumulators.10 + accumulators.11
    return total.sum()
  }

  enum Clock {
    case wall
    case processCPU
  }

  nonisolated(unsafe) static var clock = Clock.wall

  /// Seconds on the chosen clock. Process CPU time adds up all threads, so with
  /// N threads busy it runs N times faster than the wall clock.
  static func now() -> Double {
    var time = timespec()
    clock_gettime(clock == .wall ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
  }
}
