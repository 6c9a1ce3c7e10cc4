// bert-bench: OpenBLAS against the pure-Swift backend, from GEMM to a fine-tuning step.
//
// Every row runs in a child process (this executable with `--row ID`) so that
// its peak resident set is its own; the child measures all backends side by
// side, interleaved, and writes its rows as JSON to stdout.

import ArgumentParser
import Foundation
import Tensors

#if DEBUG
  let isDebugBuild = true
#else
  let isDebugBuild = false
#endif

struct BertBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bert-bench",
    abstract:
      "Throughput of the OpenBLAS and pure-Swift backends: GEMM, attention, encoder, training.",
    discussion: "Run it in a release build: swift run -c release bert-bench")

  @Flag(help: "Fewer sizes and repeats: about a minute.")
  var quick = false

  @Option(help: "Write the machine and every row as JSON to this file.")
  var json: String?

  @Option(help: "Write a chart of the results as SVG to this file.")
  var svg: String?

  @Option(help: "Run only the rows whose id (e.g. encoder/base/8x128/t2) contains this text.")
  var filter: String?

  @Option(
    help: ArgumentHelp(
      "A JSON file from Benchmarks/pytorch_bench.py or Benchmarks/ort_bench.py: print our time "
        + "/ theirs per row and precision; repeat for both.", valueName: "file"))
  var compare: [String] = []

  @Option(help: "Threads for the main rows; thread-scaling rows also run on 1.")
  var threads: Int = 2

  @Flag(help: "Time by process CPU time instead of the wall clock (a shared machine).")
  var cpuTime = false

  @Option(
    help: "Measure nothing: print the table (and --svg, --compare) of a report that --json wrote.")
  var from: String?

  @Flag(help: "List the row ids and exit.")
  var list = false

  @Flag(help: .hidden)
  var allowDebug = false

  @Option(help: .hidden)
  var row: String?

  /// With --row: measure only this backend (for profiling one backend).
  @Option(help: .hidden)
  var backend: String?

  mutating func run() throws {
    if isDebugBuild && !allowDebug {
      throw ValidationError(
        "this is a debug build and its timings mean nothing; run: swift run -c release bert-bench")
    }
    guard threads > 0 else { throw ValidationError("--threads must be at least 1") }
    GEMMBenchmark.clock = cpuTime ? .processCPU : .wall
    let specs = rowSpecs(quick: quick, threads: threads)
    let minimal = isDebugBuild

    if let row {
      // Child: measure one row and write its JSON to stdout.
      guard let spec = specs.first(where: { $0.id == row }) else {
        throw ValidationError("no row \(row); see --list")
      }
      let policy = RepeatPolicy.forKind(spec.kind, quick: quick, minimal: minimal)
      var backends = BackendKind.allAvailable
      if let backend {
        guard let kind = BackendKind(rawValue: backend), kind.isAvailable else {
          throw ValidationError("--backend \(backend) is not in this build")
        }
        backends = [kind]
      }
      let rows = Workloads.run(spec, backends: backends, policy: policy)
      let encoder = JSONEncoder()
      FileHandle.standardOutput.write(try encoder.encode(rows))
      return
    }

    let selected = specs.filter { filter == nil || $0.id.contains(filter!) }
    if list {
      for spec in selected { print(spec.id) }
      return
    }
    if isDebugBuild {
      FileHandle.standardError.write(
        Data("bert-bench: DEBUG BUILD (--allow-debug): the timings mean nothing.\n".utf8))
    }
    let references = try compare.map { try Report.load($0) }
    if let from {
      var report = try Report.load(from)
      report.rows = report.rows.filter { filter == nil || $0.matchKey.contains(filter!) }
      Report.printHeader(report.machine)
      var printer = Report.TablePrinter()
      var keys: [String] = []
      for row in report.rows where !keys.contains(row.matchKey) { keys.append(row.matchKey) }
      for key in keys {
        let rows = report.rows.filter { $0.matchKey == key }
        printer.print(kind: RowSpec.Kind(rawValue: rows[0].kind) ?? .gemm, id: key, rows)
      }
      try finish(report, references: references)
      return
    }

    var machine = Machine.current(threads: threads, quick: quick, debugBuild: isDebugBuild)
    var peaks: [Int: Double] = [:]
    for count in Set(selected.map(\.threads) + [threads]).sorted() {
      peaks[count] = GEMMBenchmark.measureFMAPeak(threads: count)
    }
    machine.peakGflops = peaks[threads]
    machine.peakGflopsByThreads = Dictionary(
      uniqueKeysWithValues: peaks.map { (String($0.key), $0.value) })
    machine.peakMethod = "measured: independent 8-wide FMAs, best of 30 bursts"
    Report.printHeader(machine)

    var rows: [BenchRow] = []
    var printer = Report.TablePrinter()
    for spec in selected {
      var childRows = try runChild(spec)
      for index in childRows.indices where spec.kind == .gemm {
        if let peak = peaks[spec.threads], let gflops = childRows[index].gflops {
          childRows[index].percentOfPeak = 100 * gflops / peak
        }
      }
      printer.print(kind: spec.kind, id: spec.id, childRows)
      rows += childRows
    }
    try finish(BenchReport(machine: machine, rows: rows), references: references)
  }

  /// Prints the comparison and writes the JSON and the chart.
  func finish(_ report: BenchReport, references: [BenchReport]) throws {
    for reference in references { Report.printComparison(ours: report, reference: reference) }
    let pytorch = references.first { $0.rows.contains { $0.backend == "pytorch" } }
    if let json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      try encoder.encode(report).write(to: URL(fileURLWithPath: json))
      print("wrote \(json)")
    }
    if let svg {
      try SVGChart.render(report, pytorch: pytorch).write(
        to: URL(fileURLWithPath: svg), atomically: true, encoding: .utf8)
      print("wrote \(svg)")
    }
  }

  /// Runs this executable with `--row` for one spec and decodes its rows.
  func runChild(_ spec: RowSpec) throws -> [BenchRow] {
    let process = Process()
    process.executableURL = Self.executableURL
    var arguments = ["--row", spec.id, "--threads", String(threads)]
    if quick { arguments.append("--quick") }
    if cpuTime { arguments.append("--cpu-time") }
    if allowDebug { arguments.append("--allow-debug") }
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw ValidationError(
        "row \(spec.id): the child process exited with status \(process.terminationStatus)")
    }
    return try JSONDecoder().decode([BenchRow].self, from: data)
  }

  /// This executable's own file.
  static var executableURL: URL {
    #if os(Linux)
      let link = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
      if FileManager.default.isExecutableFile(atPath: link.path) { return link }
    #endif
    return Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
  }
}

BertBench.main()
