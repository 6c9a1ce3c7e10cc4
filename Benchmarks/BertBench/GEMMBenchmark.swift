// GEMM throughput of each backend, side by side, against the machine's FMA peak.
//
// m, n, k: op(A) is [m, k], op(B) is [k, n], C is [m, n]

import Dispatch
import Foundation
import Tensors

/// Measures sgemm in GFLOP/s for every available backend at square sizes and
/// BERT's shapes, with 1 and 2 threads, and prints one row per case.
enum GEMMBenchmark {
  /// One product to time: its shape and whether B is transposed (NT, as in y = x·Wᵀ).
  struct Case {
    var name: String
    var m: Int
    var n: Int
    var k: Int
    var transposeB: Bool
  }

  /// Square sizes, then BERT-base's linear layers at 128 and 1024 tokens
  /// (QKV/output projection, FFN up, FFN down).
  /// With `quick`, only n = 1024 and the 128-token shapes.
  static func cases(quick: Bool) -> [Case] {
    var cases: [Case] = []
    for size in quick ? [1024] : [256, 512, 1024, 2048] {
      for transposeB in [false, true] {
        cases.append(Case(name: "square", m: size, n: size, k: size, transposeB: transposeB))
      }
    }
    for tokens in quick ? [128] : [128, 1024] {
      for (n, k) in [(768, 768), (3072, 768), (768, 3072)] {
        for transposeB in [false, true] {
          cases.append(Case(name: "bert", m: tokens, n: n, k: k, transposeB: transposeB))
        }
      }
    }
    return cases
  }

  /// Runs the table. With `cpuTime`, each call is timed by the CPU time the
  /// process used rather than by the wall clock: on a machine shared with other
  /// work this shows what the kernels would do on idle cores (for 2 threads it
  /// is GFLOP per CPU-second, so it hides poor scaling; read it next to a wall-clock run).
  static func run(quick: Bool = false, cpuTime: Bool = false, threadCounts: [Int] = [1, 2]) {
    clock = cpuTime ? .processCPU : .wall
    let backends = BackendKind.allAvailable
    print(
      "GEMM benchmark: C = A·op(B), float32, GFLOP/s (median of timed repeats, "
        + (cpuTime ? "process CPU time)" : "wall clock)"))
    for kind in backends { print("  \(kind): kernel \(kind.implementation.kernelName)") }
    var peaks: [Int: Double] = [:]
    for threads in threadCounts {
      peaks[threads] = measureFMAPeak(threads: threads)
      print(
        "  FMA peak, \(threads) thread\(threads == 1 ? "" : "s"): "
          + format(peaks[threads]!, width: 0) + " GFLOP/s (independent 8-wide FMAs)")
    }
    var header = pad("shape m×n×k", 18) + pad("op", 4) + pad("thr", 4)
    for kind in backends { header += pad("\(kind)", 10, right: true) }
    if backends.count == 2 { header += pad("swift/blas", 12, right: true) }
    header += pad("swift %peak", 13, right: true)
    print(header)
    let saved = Compute.threadCount
    defer { Compute.threadCount = saved }
    for benchCase in cases(quick: quick) {
      for threads in threadCounts {
        Compute.threadCount = threads
        let rates = measure(benchCase, backends: backends)
        var row =
          pad("\(benchCase.m)×\(benchCase.n)×\(benchCase.k)", 18)
          + pad(benchCase.transposeB ? "NT" : "NN", 4) + pad("\(threads)", 4)
        for kind in backends { row += format(rates[kind]!, width: 10) }
        if let blas = rates[.openblas], let swift = rates[.swift] {
          row += format(swift / blas, width: 12, decimals: 2)
        }
        if let swift = rates[.swift], let peak = peaks[threads] {
          row += format(100 * swift / peak, width: 12) + "%"
        }
        print(row)
      }
    }
  }

  /// GFLOP/s of one case on each backend: two warm-up calls each, then rounds
  /// that time one call per backend in turn (so that load from other processes
  /// hits both alike) until a time budget is spent; the median of each.
  static func measure(_ benchCase: Case, backends: [BackendKind]) -> [BackendKind: Double] {
    let m = benchCase.m
    let n = benchCase.n
    let k = benchCase.k
    var generator = SeededGenerator(seed: 7)
    let a = Tensor.randomUniform(shape: [m, k], generator: &generator)  // [m, k]
    let b = Tensor.randomUniform(
      shape: benchCase.transposeB ? [n, k] : [k, n], generator: &generator)  // op(B) is [k, n]
    var c = Tensor(zeros: [m, n])  // [m, n]
    let flops = 2.0 * Double(m) * Double(n) * Double(k)
    let implementations = backends.map(\.implementation)
    var seconds = Array(repeating: [Double](), count: backends.count)
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        c.withUnsafeMutableBufferPointer { c in
          func once(_ backend: any Backend) {
            backend.sgemm(
              transposeA: false, transposeB: benchCase.transposeB, m: m, n: n, k: k,
              alpha: 1, a: a.baseAddress!, lda: k, b: b.baseAddress!,
              ldb: benchCase.transposeB ? k : n, beta: 0, c: c.baseAddress!, ldc: n)
          }
          for backend in implementations {
            once(backend)
            once(backend)
          }
          let budget = 0.5 * Double(backends.count)
          var total = 0.0
          var rounds = 0
          while rounds < 5 || (total < budget && rounds < 50) {
            for (index, backend) in implementations.enumerated() {
              let start = now()
              once(backend)
              let elapsed = now() - start
              seconds[index].append(elapsed)
              total += elapsed
            }
            rounds += 1
          }
        }
      }
    }
    var rates: [BackendKind: Double] = [:]
    for (index, kind) in backends.enumerated() {
      let sorted = seconds[index].sorted()
      rates[kind] = flops / sorted[sorted.count / 2] / 1e9
    }
    return rates
  }

  /// The best GFLOP/s of a loop of independent 8-wide FMAs on `threads` threads:
  /// twelve accumulators hide the FMA latency, so this is the issue-rate bound.
  static func measureFMAPeak(threads: Int) -> Double {
    let iterations = 20_000_000
    let flopsPerThread = Double(iterations) * 12 * 8 * 2
    var best = 0.0
    for _ in 0..<3 {
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

  private static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return right ? padding + text : text + padding
  }

  private static func format(_ value: Double, width: Int, decimals: Int = 1) -> String {
    pad(String(format: "%.\(decimals)f", value), width, right: true)
  }
}
