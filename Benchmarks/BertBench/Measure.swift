// Timing: warm-up, then interleaved repeats of every backend, and their statistics.

import Foundation
import Tensors

#if canImport(Glibc)
  import Glibc
#endif

/// How many times a workload runs.
struct RepeatPolicy {
  /// Untimed runs of each backend before the first timed one.
  var warmups: Int
  /// Timed runs of each backend, at least and at most.
  var minimumRounds: Int
  var maximumRounds: Int
  /// More rounds run until the timed seconds of all backends add up to this.
  var budgetSeconds: Double
  /// Whether one more run per backend measures the share of time in GEMM.
  var profilesGEMM = true

  /// The policy for a kind of row.
  static func forKind(_ kind: RowSpec.Kind, quick: Bool, minimal: Bool) -> RepeatPolicy {
    if minimal {
      return RepeatPolicy(
        warmups: 0, minimumRounds: 1, maximumRounds: 1, budgetSeconds: 0, profilesGEMM: false)
    }
    if quick {
      return RepeatPolicy(warmups: 1, minimumRounds: 3, maximumRounds: 10, budgetSeconds: 0.4)
    }
    switch kind {
    case .gemm, .int8:
      return RepeatPolicy(warmups: 2, minimumRounds: 5, maximumRounds: 50, budgetSeconds: 1)
    case .attention:
      return RepeatPolicy(warmups: 1, minimumRounds: 5, maximumRounds: 30, budgetSeconds: 2)
    case .encoder:
      return RepeatPolicy(warmups: 1, minimumRounds: 5, maximumRounds: 20, budgetSeconds: 6)
    case .train:
      return RepeatPolicy(warmups: 1, minimumRounds: 3, maximumRounds: 10, budgetSeconds: 10)
    case .search:
      return RepeatPolicy(
        warmups: 1, minimumRounds: 3, maximumRounds: 20, budgetSeconds: 4, profilesGEMM: false)
    }
  }
}

/// Median, minimum and maximum of timed runs.
struct Timing {
  var samples: [Double]
  var median: Double {
    let sorted = samples.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  }
  var minimum: Double { samples.min() ?? .nan }
  var maximum: Double { samples.max() ?? .nan }
}

enum Measure {
  /// Seconds on the benchmark's clock (the wall clock unless `--cpu-time`).
  static func now() -> Double { GEMMBenchmark.now() }

  /// Times `body` on every backend: warm-ups, then rounds that run each backend
  /// once in turn (so that load from other processes hits all alike).
  ///
  /// `body` runs with the backend in scope and returns the seconds it measured
  /// itself, so that it can leave set-up work out of the timed region.
  static func interleaved(
    _ backends: [BackendKind], policy: RepeatPolicy, _ body: () -> Double
  ) -> [BackendKind: Timing] {
    for kind in backends {
      for _ in 0..<policy.warmups { _ = Compute.withBackend(kind, body) }
    }
    var samples = Array(repeating: [Double](), count: backends.count)
    var total = 0.0
    var rounds = 0
    while rounds < policy.minimumRounds
      || (total < policy.budgetSeconds && rounds < policy.maximumRounds)
    {
      for (index, kind) in backends.enumerated() {
        let seconds = Compute.withBackend(kind, body)
        samples[index].append(seconds)
        total += seconds
      }
      rounds += 1
    }
    var result: [BackendKind: Timing] = [:]
    for (index, kind) in backends.enumerated() { result[kind] = Timing(samples: samples[index]) }
    return result
  }

  /// Times named variants of one workload (fp32 on each backend, int8) the
  /// same way: warm-ups, then rounds that run each variant once in turn.
  /// Each body returns the seconds it measured itself.
  static func interleaved(
    variants: [(name: String, body: () -> Double)], policy: RepeatPolicy
  ) -> [(name: String, timing: Timing)] {
    for variant in variants {
      for _ in 0..<policy.warmups { _ = variant.body() }
    }
    var samples = Array(repeating: [Double](), count: variants.count)
    var total = 0.0
    var rounds = 0
    while rounds < policy.minimumRounds
      || (total < policy.budgetSeconds && rounds < policy.maximumRounds)
    {
      for (index, variant) in variants.enumerated() {
        let seconds = variant.body()
        samples[index].append(seconds)
        total += seconds
      }
      rounds += 1
    }
    return variants.indices.map { (variants[$0].name, Timing(samples: samples[$0])) }
  }

  /// Runs `body` once on `kind` with its GEMMs timed: the share of the pass
  /// spent in GEMM and the GEMM rate.
  static func gemmProfile(_ kind: BackendKind, _ body: () -> Double) -> (
    share: Double, gflops: Double
  ) {
    let profiler = ProfilingBackend(kind.implementation)
    let seconds = Compute.withBackend(profiler, body)
    let gemm = profiler.gemmSeconds
    return (gemm / seconds, gemm > 0 ? profiler.gemmFlops / gemm / 1e9 : 0)
  }

  /// The seconds `body` takes.
  static func time(_ body: () -> Void) -> Double {
    let start = now()
    body()
    return now() - start
  }

  /// The process's peak resident set so far, in MiB (`ru_maxrss`, KiB on Linux).
  static func peakRSSMegabytes() -> Double {
    var usage = rusage()
    #if os(Linux)
      getrusage(RUSAGE_SELF.rawValue, &usage)
      return Double(usage.ru_maxrss) / 1024
    #else
      getrusage(RUSAGE_SELF, &usage)
      return Double(usage.ru_maxrss) / (1024 * 1024)
    #endif
  }
}
