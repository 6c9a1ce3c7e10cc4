// The stdout table, the PyTorch comparison and the targets of the design.

import BERT
import Foundation
import Tensors

enum Report {
  static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return right ? padding + text : text + padding
  }

  static func number(_ value: Double?, _ decimals: Int = 1) -> String {
    guard let value, value.isFinite else { return "–" }
    return String(format: "%.\(decimals)f", value)
  }

  /// "12.3 ms" below a second, "1.234 s" above.
  static func seconds(_ value: Double) -> String {
    value < 1 ? String(format: "%.2f ms", value * 1000) : String(format: "%.3f s", value)
  }

  static func printHeader(_ machine: Machine) {
    print("bert-bench — \(machine.date)")
    print("  cpu: \(machine.cpu), \(machine.cores) cores")
    print("  openblas core: \(machine.openblasCore ?? "not in this build")")
    let peaks = (machine.peakGflopsByThreads ?? [:]).sorted { $0.key < $1.key }
      .map { "\(number($0.value)) GFLOP/s on \($0.key) thread\($0.key == "1" ? "" : "s")" }
    print("  FMA peak (measured, independent 8-wide FMAs): " + peaks.joined(separator: ", "))
    if let load = machine.loadAverage {
      print("  load average: " + load.map { number($0, 2) }.joined(separator: " "))
    }
    print(
      "  times: median [min–max] of interleaved repeats after warm-up; ratio = swift / openblas")
  }

  /// Prints one line per spec, with a heading whenever the kind changes.
  struct TablePrinter {
    var lastKind: RowSpec.Kind?

    mutating func print(kind: RowSpec.Kind, id: String, _ rows: [BenchRow]) {
      if kind != lastKind {
        lastKind = kind
        Swift.print("")
        Swift.print(Report.heading(kind))
      }
      var line = Report.pad(id, 30)
      for row in rows {
        line += " | " + Report.pad(row.backend, 8)
        line += Report.pad(Report.seconds(row.medianSeconds), 10, right: true)
        line += " [" + Report.seconds(row.minSeconds) + "–" + Report.seconds(row.maxSeconds) + "]"
        line += Report.pad(Report.number(row.gflops), 7, right: true) + " GF/s"
        if let percent = row.percentOfPeak { line += " " + Report.number(percent, 0) + "%pk" }
        if kind == .search {
          if let share = row.gemmShare, let rate = row.gemmGflops {
            line += " gemm " + Report.number(rate) + " GF/s top-k +"
            line += Report.number(100 * (1 / share - 1), 0) + "%"
          } else {
            line += " direct dot products"
          }
          if let full = row.fullGemmGflops, let gflops = row.gflops {
            line += " of full GEMM " + Report.number(100 * gflops / full, 0) + "%"
          }
          if let read = row.readSeconds {
            line += " read " + Report.seconds(read) + " ×"
            line += Report.number(row.medianSeconds / read, 2)
          }
        } else if let share = row.gemmShare {
          line += " gemm " + Report.number(100 * share, 0) + "%"
        }
      }
      let byBackend = Dictionary(rows.map { ($0.backend, $0) }, uniquingKeysWith: { a, _ in a })
      if let blas = byBackend["openblas"], let swift = byBackend["swift"] {
        line += " | ×" + Report.number(swift.medianSeconds / blas.medianSeconds, 2)
      }
      // fp32 time / int8 time, for each int8 kernel against OpenBLAS (else Swift).
      if let fp32 = byBackend["openblas"] ?? byBackend["swift"] {
        for int8 in rows where int8.backend.hasPrefix("int8") {
          line += " | \(fp32.backend)/\(int8.backend) ×"
          line += Report.number(fp32.medianSeconds / int8.medianSeconds, 2)
        }
      }
      if let first = rows.first {
        if let tokens = first.tokensPerSecond {
          line += " | " + Report.number(tokens, 0) + " tok/s"
        }
        if let sequences = first.sequencesPerSecond {
          line += " | " + Report.number(sequences, 1) + " seq/s"
        }
        if kind == .encoder || kind == .train, let rss = first.peakRSSMegabytes {
          line += " | rss " + Report.number(rss, 0) + " MB"
        }
      }
      Swift.print(line)
    }
  }

  static func heading(_ kind: RowSpec.Kind) -> String {
    switch kind {
    case .gemm:
      "GEMM: C = A·op(B), m×n×k, NN or NT; GFLOP/s = 2mnk / time; %pk of the measured FMA peak"
    case .int8:
      "int8 linear (quantizedLinear with bias) against fp32 linear, tokens×out×in; "
        + "GOP/s = 2mnk / time; openblas/int8-… = fp32 time / int8 time"
    case .attention:
      "Attention (12 heads × 64): forward = 4·B·NH·T²·D FLOPs, backward = twice that"
    case .encoder:
      "Encoder forward (BertModel with pooler): GFLOP/s of its GEMMs; gemm = share of the time in GEMM"
    case .train:
      "Fine-tuning step (forward, loss, backward, clip, AdamW): GFLOP/s = 3 × forward GEMM FLOPs"
    case .search:
      "Exact search, top 10, N×D documents, Q queries: GFLOP/s = 2QND / time; gemm GF/s = the "
        + "same GEMMs alone; top-k = search time / GEMM time − 1; of full GEMM = GFLOP/s over one "
        + "GEMM's at [Q, N]; up to \(DenseIndex.directQueryLimit) queries no GEMM (direct dot "
        + "products); read = reading the vectors once, × = search time / read time"
    }
  }

  static func load(_ path: String) throws -> BenchReport {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return try JSONDecoder().decode(BenchReport.self, from: data)
  }

  /// Our time / theirs for every encoder and train row both reports hold (int8
  /// rows against int8 rows), and our peak RSS / theirs against the targets
  /// (≤ 1.0 time; RSS ≤ 0.5 inference, ≤ 0.7 training). `reference` is a
  /// report of pytorch_bench.py or ort_bench.py; its rows name its backend.
  static func printComparison(ours: BenchReport, reference report: BenchReport) {
    let theirs = Dictionary(
      report.rows.map { ($0.matchKey, $0) }, uniquingKeysWith: { a, _ in a })
    let name = report.rows.first?.backend ?? "reference"
    print("")
    print(
      "Against \(name) (\(report.machine.date), \(report.machine.cpu)): time ratio = ours / \(name)'s"
        + " (target ≤ 1.00, aim 0.85); RSS ratio target ≤ 0.50 inference, ≤ 0.70 training")
    print(
      pad("row", 30) + pad(name, 12, right: true) + pad("openblas", 11, right: true)
        + pad("ratio", 7, right: true) + pad("swift", 11, right: true)
        + pad("ratio", 7, right: true) + pad("rss ours/pt MB", 17, right: true)
        + pad("ratio", 7, right: true))
    var keys: [String] = []
    for row in ours.rows where row.kind == "encoder" || row.kind == "train" {
      if !keys.contains(row.matchKey) { keys.append(row.matchKey) }
    }
    for key in keys {
      guard let reference = theirs[key] else { continue }
      let mine = ours.rows.filter { $0.matchKey == key }
      func ratio(_ backend: String) -> (String, String) {
        guard let row = mine.first(where: { $0.backend == backend }) else { return ("–", "–") }
        let value = row.medianSeconds / reference.medianSeconds
        return (seconds(row.medianSeconds), number(value, 2) + (value <= 1 ? " " : "!"))
      }
      let blas = ratio("openblas")
      let swift = ratio("swift")
      var rss = "–"
      var rssRatio = "–"
      if let mineRSS = mine.first?.peakRSSMegabytes, let theirRSS = reference.peakRSSMegabytes {
        rss = number(mineRSS, 0) + "/" + number(theirRSS, 0)
        let value = mineRSS / theirRSS
        rssRatio = number(value, 2) + (value <= (reference.kind == "train" ? 0.7 : 0.5) ? " " : "!")
      }
      print(
        pad(key, 30) + pad(seconds(reference.medianSeconds), 12, right: true)
          + pad(blas.0, 11, right: true) + pad(blas.1, 7, right: true)
          + pad(swift.0, 11, right: true) + pad(swift.1, 7, right: true)
          + pad(rss, 17, right: true) + pad(rssRatio, 7, right: true))
    }
    print("  (! marks a missed target)")
  }
}
