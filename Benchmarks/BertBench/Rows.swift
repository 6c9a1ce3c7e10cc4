// What the benchmark measures (row specifications) and what it reports (rows, machine).

import Foundation
import Tensors

/// One row of the benchmark before it runs: what to measure, on every backend.
struct RowSpec {
  enum Kind: String, Codable, CaseIterable {
    case gemm, int8, attention, encoder, train, search
  }

  var kind: Kind
  /// `1024x1024x1024-NT` for GEMM (m×n×k), `1024x768x3072` for int8 (tokens ×
  /// out × in), `forward`/`backward` for attention,
  /// the config name for encoder and train rows.
  var name: String
  var batch: Int?
  var seq: Int?
  var threads: Int
  /// Encoder rows: `fp32`, or `int8` (every projection quantized as
  /// `Precision.int8` does it).
  var precision = "fp32"
  /// GEMM: op(A) is [m, k], op(B) is [k, n]. int8: x [m, k], W [n, k].
  var m = 0
  var n = 0
  var k = 0
  var transposeB = false

  /// A stable identifier, matched by `--filter` and passed to child processes with `--row`.
  var id: String {
    var text = "\(kind.rawValue)/\(name)"
    if let batch, let seq { text += "/\(batch)x\(seq)" }
    return text + "/t\(threads)" + (precision == "fp32" ? "" : "/\(precision)")
  }

  static func gemm(m: Int, n: Int, k: Int, transposeB: Bool, threads: Int) -> RowSpec {
    var spec = RowSpec(
      kind: .gemm, name: "\(m)x\(n)x\(k)-\(transposeB ? "NT" : "NN")", threads: threads)
    spec.m = m
    spec.n = n
    spec.k = k
    spec.transposeB = transposeB
    return spec
  }

  /// Exact search of `queries` random unit vectors over `documents` of `dimension`.
  static func search(documents: Int, dimension: Int, queries: Int, threads: Int) -> RowSpec {
    let size = documents >= 1_000_000 ? "1e6" : documents >= 100_000 ? "1e5" : "\(documents)"
    var spec = RowSpec(kind: .search, name: "\(size)x\(dimension)-q\(queries)", threads: threads)
    spec.m = queries
    spec.n = documents
    spec.k = dimension
    return spec
  }

  /// A linear layer y = x·Wᵀ + b with x [m, k] and W [n, k], int8 against fp32.
  static func int8(m: Int, n: Int, k: Int, threads: Int) -> RowSpec {
    var spec = RowSpec(kind: .int8, name: "\(m)x\(n)x\(k)", threads: threads)
    spec.m = m
    spec.n = n
    spec.k = k
    return spec
  }
}

/// The encoder shapes the benchmark runs; the vocabulary is BERT's 30 522 words.
struct EncoderShape {
  var name: String
  var layers: Int  // L
  var hidden: Int  // H
  var heads: Int  // NH
  var intermediate: Int  // I

  static let all = [
    EncoderShape(name: "tiny", layers: 2, hidden: 128, heads: 2, intermediate: 512),
    EncoderShape(name: "small", layers: 4, hidden: 256, heads: 4, intermediate: 1024),
    EncoderShape(name: "minilm", layers: 6, hidden: 384, heads: 12, intermediate: 1536),
    EncoderShape(name: "base", layers: 12, hidden: 768, heads: 12, intermediate: 3072),
  ]

  static func named(_ name: String) -> EncoderShape? { all.first { $0.name == name } }

  /// FLOPs of the forward pass's matrix products, pooler included:
  /// B·T·L·(8H² + 4H·I + 4T·H) + 2·B·H².
  func forwardFlops(batch: Int, seq: Int) -> Double {
    let (b, t, h, i) = (Double(batch), Double(seq), Double(hidden), Double(intermediate))
    return b * t * Double(layers) * (8 * h * h + 4 * h * i + 4 * t * h) + 2 * b * h * h
  }
}

/// The full list of rows, in the order they run.
///
/// - Parameters:
///   - quick: fewer sizes, for a run of about a minute.
///   - threads: the main thread count; thread-scaling rows add 1 thread.
func rowSpecs(quick: Bool, threads: Int) -> [RowSpec] {
  let scaling = threads == 1 ? [1] : [1, threads]
  var specs: [RowSpec] = []
  // GEMM: square sizes, then BERT-base's linear layers (QKV/output, FFN up, FFN down).
  if quick {
    for transposeB in [false, true] {
      for t in scaling {
        specs.append(.gemm(m: 1024, n: 1024, k: 1024, transposeB: transposeB, threads: t))
      }
    }
    for (n, k) in [(768, 768), (3072, 768)] {
      specs.append(.gemm(m: 128, n: n, k: k, transposeB: true, threads: threads))
    }
  } else {
    for size in [128, 256, 512, 1024, 2048] {
      for transposeB in [false, true] {
        for t in scaling {
          specs.append(.gemm(m: size, n: size, k: size, transposeB: transposeB, threads: t))
        }
      }
    }
    for tokens in [128, 1024] {
      for (n, k) in [(768, 768), (3072, 768), (768, 3072)] {
        for transposeB in [false, true] {
          for t in scaling {
            specs.append(.gemm(m: tokens, n: n, k: k, transposeB: transposeB, threads: t))
          }
        }
      }
    }
  }
  // int8: BERT-base's linear layers as quantizedLinear against fp32 linear.
  let int8Tokens = quick ? [128] : [8, 128, 1024]
  let int8Shapes = quick ? [(768, 768), (3072, 768)] : [(768, 768), (3072, 768), (768, 3072)]
  for tokens in int8Tokens {
    for (n, k) in int8Shapes {
      specs.append(.int8(m: tokens, n: n, k: k, threads: threads))
    }
  }
  // Attention: BERT-base heads (12 × 64).
  let attentionShapes = quick ? [(8, 128)] : [(8, 64), (8, 128), (1, 256), (1, 512)]
  for (batch, seq) in attentionShapes {
    for name in ["forward", "backward"] {
      specs.append(
        RowSpec(kind: .attention, name: name, batch: batch, seq: seq, threads: threads))
    }
  }
  // Encoder forward.
  if quick {
    for (name, batch, t) in [
      ("tiny", 8, threads), ("minilm", 8, threads), ("base", 1, threads),
    ] {
      specs.append(RowSpec(kind: .encoder, name: name, batch: batch, seq: 128, threads: t))
    }
    specs.append(
      RowSpec(
        kind: .encoder, name: "minilm", batch: 8, seq: 128, threads: threads, precision: "int8"))
    if threads != 1 {
      specs.append(RowSpec(kind: .encoder, name: "tiny", batch: 8, seq: 128, threads: 1))
    }
  } else {
    for shape in EncoderShape.all {
      for (batch, seq) in [(1, 128), (8, 128), (1, 512)] {
        for precision in ["fp32", "int8"] {
          specs.append(
            RowSpec(
              kind: .encoder, name: shape.name, batch: batch, seq: seq, threads: threads,
              precision: precision))
        }
      }
    }
    if threads != 1 {
      for shape in EncoderShape.all {
        specs.append(RowSpec(kind: .encoder, name: shape.name, batch: 8, seq: 128, threads: 1))
      }
    }
  }
  // Exact search over random unit vectors: batched queries and a single query.
  for documents in quick ? [100_000] : [100_000, 1_000_000] {
    for queries in [256, 1] {
      specs.append(
        .search(documents: documents, dimension: 384, queries: queries, threads: threads))
    }
  }
  // Fine-tuning step; minilm 16×32 is a batch of short sentences, where the
  // costs that do not scale with tokens (AdamW, the embedding table) weigh most.
  let trainShapes =
    quick
    ? [("tiny", 8, 128)]
    : [("tiny", 8, 128), ("minilm", 32, 128), ("minilm", 16, 32), ("base", 8, 128)]
  for (name, batch, seq) in trainShapes {
    specs.append(RowSpec(kind: .train, name: name, batch: batch, seq: seq, threads: threads))
  }
  return specs
}

/// One measured row: one spec on one backend. The JSON names are a contract.
struct BenchRow: Codable {
  var kind: String
  var backend: String
  var name: String
  var batch: Int?
  var seq: Int?
  var threads: Int
  /// Encoder rows: `fp32` or `int8`; nil for the other kinds.
  var precision: String?
  var medianSeconds: Double
  var minSeconds: Double
  var maxSeconds: Double
  /// Useful FLOPs per second at the median time (GEMM FLOPs; see the README).
  var gflops: Double?
  /// The peak resident set of the process that measured this row, in MiB.
  var peakRSSMegabytes: Double?
  var repeats: Int?
  /// GEMM rows: % of the measured FMA peak at the same thread count.
  var percentOfPeak: Double?
  /// Encoder rows.
  var tokensPerSecond: Double?
  /// Train rows.
  var sequencesPerSecond: Double?
  /// Share of one pass's wall time spent inside the backend's GEMM calls.
  var gemmShare: Double?
  /// That pass's GEMM rate, GFLOP/s of the products it issued.
  var gemmGflops: Double?
  /// Search rows: the backend's rate for one GEMM over the whole shape,
  /// [Q, D] · [N, D]ᵀ into [Q, N], the reference of the 70% target.
  var fullGemmGflops: Double?
  /// Search rows: seconds to read the N×D document vectors once (a threaded sum).
  var readSeconds: Double?

  enum CodingKeys: String, CodingKey {
    case kind, backend, name, batch, seq, threads, precision
    case medianSeconds = "median_s"
    case minSeconds = "min_s"
    case maxSeconds = "max_s"
    case gflops
    case peakRSSMegabytes = "peak_rss_mb"
    case repeats
    case percentOfPeak = "percent_of_peak"
    case tokensPerSecond = "tokens_per_s"
    case sequencesPerSecond = "sequences_per_s"
    case gemmShare = "gemm_share"
    case gemmGflops = "gemm_gflops"
    case fullGemmGflops = "full_gemm_gflops"
    case readSeconds = "read_s"
  }

  /// The contract's fields are always written, as null where they do not apply.
  func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(kind, forKey: .kind)
    try c.encode(backend, forKey: .backend)
    try c.encode(name, forKey: .name)
    try c.encode(batch, forKey: .batch)
    try c.encode(seq, forKey: .seq)
    try c.encode(threads, forKey: .threads)
    try c.encodeIfPresent(precision, forKey: .precision)
    try c.encode(medianSeconds, forKey: .medianSeconds)
    try c.encode(minSeconds, forKey: .minSeconds)
    try c.encode(maxSeconds, forKey: .maxSeconds)
    try c.encode(gflops, forKey: .gflops)
    try c.encode(peakRSSMegabytes, forKey: .peakRSSMegabytes)
    try c.encodeIfPresent(repeats, forKey: .repeats)
    try c.encodeIfPresent(percentOfPeak, forKey: .percentOfPeak)
    try c.encodeIfPresent(tokensPerSecond, forKey: .tokensPerSecond)
    try c.encodeIfPresent(sequencesPerSecond, forKey: .sequencesPerSecond)
    try c.encodeIfPresent(gemmShare, forKey: .gemmShare)
    try c.encodeIfPresent(gemmGflops, forKey: .gemmGflops)
    try c.encodeIfPresent(fullGemmGflops, forKey: .fullGemmGflops)
    try c.encodeIfPresent(readSeconds, forKey: .readSeconds)
  }

  /// The key that pairs this row with the same row on another backend or in PyTorch.
  var matchKey: String {
    var text = "\(kind)/\(name)"
    if let batch, let seq { text += "/\(batch)x\(seq)" }
    return text + "/t\(threads)" + (precision.map { $0 == "fp32" ? "" : "/\($0)" } ?? "")
  }
}

/// The machine a report was measured on.
struct Machine: Codable {
  var cpu: String
  var cores: Int
  var openblasCore: String?
  var date: String
  var peakGflops: Double?
  var peakGflopsByThreads: [String: Double]?
  var peakMethod: String?
  var loadAverage: [Double]?
  var threads: Int?
  var quick: Bool?
  var debugBuild: Bool?

  enum CodingKeys: String, CodingKey {
    case cpu, cores, date, threads, quick
    case openblasCore = "openblas_core"
    case peakGflops = "peak_gflops"
    case peakGflopsByThreads = "peak_gflops_by_threads"
    case peakMethod = "peak_method"
    case loadAverage = "load_average"
    case debugBuild = "debug_build"
  }

  /// Writes `openblas_core` always, as `null` in a build without OpenBLAS: the
  /// key is part of the JSON contract. Other absent fields are left out.
  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(cpu, forKey: .cpu)
    try container.encode(cores, forKey: .cores)
    if let openblasCore {
      try container.encode(openblasCore, forKey: .openblasCore)
    } else {
      try container.encodeNil(forKey: .openblasCore)
    }
    try container.encode(date, forKey: .date)
    try container.encodeIfPresent(peakGflops, forKey: .peakGflops)
    try container.encodeIfPresent(peakGflopsByThreads, forKey: .peakGflopsByThreads)
    try container.encodeIfPresent(peakMethod, forKey: .peakMethod)
    try container.encodeIfPresent(loadAverage, forKey: .loadAverage)
    try container.encodeIfPresent(threads, forKey: .threads)
    try container.encodeIfPresent(quick, forKey: .quick)
    try container.encodeIfPresent(debugBuild, forKey: .debugBuild)
  }

  /// This machine now: CPU model from /proc/cpuinfo, cores, OpenBLAS core, date, load.
  static func current(threads: Int, quick: Bool, debugBuild: Bool) -> Machine {
    var cpu = "unknown"
    if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
      let colon = line.firstIndex(of: ":")
    {
      cpu = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    var load: [Double]?
    if let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) {
      load = text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }
    let formatter = ISO8601DateFormatter()
    return Machine(
      cpu: cpu, cores: ProcessInfo.processInfo.activeProcessorCount,
      openblasCore: BackendKind.openblas.isAvailable
        ? BackendKind.openblas.implementation.kernelName : nil,
      date: formatter.string(from: Date()), loadAverage: load, threads: threads, quick: quick,
      debugBuild: debugBuild)
  }
}

/// The whole `--json` document.
struct BenchReport: Codable {
  var machine: Machine
  var rows: [BenchRow]
}
