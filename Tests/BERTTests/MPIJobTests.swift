import Foundation
import Testing

@testable import BERT

private let mpiBert = ProcessInfo.processInfo.environment["BERT_MPI_BERT"]

/// `mpirun -np 2` on a bert built with the package trait MPI, which
/// `scripts/test-mpi` builds and names in `BERT_MPI_BERT` (the default builds
/// have no MPI, so these tests run only there).
@Suite(.enabled(if: mpiBert != nil, "set BERT_MPI_BERT (scripts/test-mpi does)"))
struct MPIJobTests {
  static var bert: String? { mpiBert }

  struct Run {
    var status: Int32
    var output: String
  }

  /// Runs `command` (the MPI bert's arguments, or a shell line with `$BERT`
  /// for it when `shell` is set) under `mpirun -np ranks`, failing the test
  /// if the job has not ended after `timeout` seconds.
  static func mpirun(
    _ ranks: Int, _ arguments: [String], shell: String? = nil, timeout: Double = 120
  )
    throws -> Run
  {
    let log = FileManager.default.temporaryDirectory
      .appendingPathComponent("bert-mpi-\(UUID().uuidString).log")
    FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    let program = try shell.map { ["sh", "-c", $0] } ?? [try #require(bert)] + arguments
    process.arguments =
      ["mpirun", "-np", "\(ranks)", "--oversubscribe", "--allow-run-as-root"] + program
    var environment = ProcessInfo.processInfo.environment
    environment["BERT"] = bert
    environment["BERT_NUM_THREADS"] = "1"
    environment["OPENBLAS_NUM_THREADS"] = "1"
    process.environment = environment
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: log)
    process.standardError = process.standardOutput
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    if process.isRunning {
      process.terminate()
      Issue.record("mpirun \(arguments) did not end within \(timeout) s")
    }
    process.waitUntilExit()
    return Run(
      status: process.terminationStatus,
      output: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
  }

  static let train = ModelFixtures.url("cli/sentiment-train.csv").path

  static func finetune(_ model: URL, output: URL, steps: Int = 3, epochs: Int = 2) -> [String] {
    [
      "finetune", "--task", "classification", "--model", model.path, "--train", train,
      "--output", output.path, "--batch-size", "8", "--epochs", "\(epochs)", "--max-steps",
      "\(steps)", "--learning-rate", "1e-3", "--warmup-ratio", "0",
    ]
  }

  /// 2 ranks × 4 sequences make the same 3 updates as 1 process × 8, with
  /// dropout off; rank 0 alone writes the output.
  @Test func twoRanksTrainLikeOneProcessAndWriteOnce() throws {
    let model = try ModelFixtures.tinyModelWithoutDropout()
    let one = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-1-\(UUID())")
    let two = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-2-\(UUID())")
    defer { for url in [model, one, two] { try? FileManager.default.removeItem(at: url) } }
    let single = try Self.mpirun(1, Self.finetune(model, output: one))
    try #require(single.status == 0, "\(single.output)")
    let pair = try Self.mpirun(2, Self.finetune(model, output: two))
    try #require(pair.status == 0, "\(pair.output)")
    #expect(pair.output.contains("2 ranks, each with 4-4 of every batch"), "\(pair.output)")
    // See DistributedTests: the key bias's true gradient is zero, so only
    // rounding noise moves it. Elsewhere Adam's step, lr·m/√v, is about lr
    // (1e-3) for every element, so an element whose gradient is a few
    // roundings in size moves by a slightly different fraction of lr: the
    // bound is 5% of lr. Measured: 1.2e-5 in layer 0's query weight.
    let (difference, tensor) = try ModelFixtures.largestDifference(
      one.appendingPathComponent("model.safetensors"),
      two.appendingPathComponent("model.safetensors"),
      skip: { $0.hasSuffix("attention.self.key.bias") })
    #expect(difference <= 5e-5, "largest difference \(difference) in \(tensor)")
    let log = try String(
      contentsOf: two.appendingPathComponent("training_log.jsonl"), encoding: .utf8)
    #expect(log.split(separator: "\n").count == 3, "the log was written more than once:\n\(log)")
    // The allreduce time is logged for 2 ranks, and is 0 for one process.
    func communication(_ directory: URL) throws -> Double {
      let last =
        try String(
          contentsOf: directory.appendingPathComponent("training_log.jsonl"), encoding: .utf8
        ).split(separator: "\n").last.map(String.init) ?? ""
      let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
      return try #require(object?["communication_seconds"] as? Double, "\(last)")
    }
    #expect(try communication(one) == 0)
    #expect(try communication(two) > 0)
    #expect(pair.output.components(separatedBy: "saved to").count == 2, "\(pair.output)")
  }

  /// A run killed (kill -9) after its first checkpoint resumes under 2 ranks
  /// with the same global batch and finishes the schedule.
  @Test func aCheckpointResumesUnderTwoRanks() throws {
    let model = try ModelFixtures.tinyModelWithoutDropout()
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-r-\(UUID())")
    defer { for url in [model, output] { try? FileManager.default.removeItem(at: url) } }
    // 2 updates per epoch; a checkpoint every 200 updates.
    let arguments = Self.finetune(model, output: output, steps: 600, epochs: 300)
    let state = output.appendingPathComponent("checkpoint/trainer_state.json").path
    let killer = Process()
    killer.executableURL = URL(fileURLWithPath: "/bin/sh")
    killer.arguments = [
      "-c",
      "\"$BERT\" " + arguments.map { "'\($0)'" }.joined(separator: " ")
        + " >/dev/null 2>&1 & pid=$!; while [ ! -f '\(state)' ] && kill -0 $pid 2>/dev/null; "
        + "do sleep 0.02; done; kill -9 $pid; wait $pid; exit 0",
    ]
    var environment = ProcessInfo.processInfo.environment
    environment["BERT"] = Self.bert
    environment["BERT_NUM_THREADS"] = "1"
    killer.environment = environment
    try killer.run()
    killer.waitUntilExit()
    let saved = try JSONSerialization.jsonObject(
      with: Data(contentsOf: URL(fileURLWithPath: state)))
    let step = try #require((saved as? [String: Any])?["step"] as? Int)
    try #require(step < 600, "the first run finished before it was killed")
    let resumed = try Self.mpirun(2, arguments)
    #expect(resumed.status == 0, "\(resumed.output)")
    #expect(resumed.output.contains("resuming from"), "\(resumed.output)")
    let lines = try String(
      contentsOf: output.appendingPathComponent("training_log.jsonl"), encoding: .utf8
    ).split(separator: "\n")
    #expect(lines.last?.contains("\"step\":600,") == true, "\(lines.suffix(2))")
  }

  /// Under 2 ranks, rank 0 mines the hard negatives and writes them once;
  /// both ranks train on them, and a second run reads them back.
  @Test func twoRanksMineHardNegativesOnce() throws {
    let model = try ModelFixtures.tinyModelWithoutDropout()
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-h-\(UUID())")
    defer { for url in [model, output] { try? FileManager.default.removeItem(at: url) } }
    let arguments = [
      "finetune", "--task", "retrieval", "--model", model.path, "--train",
      ModelFixtures.url("cli/retrieval-train.jsonl").path, "--output", output.path,
      "--batch-size", "4", "--epochs", "1", "--learning-rate", "1e-3", "--max-length", "32",
      "--mine-hard-negatives", "2", "--negative-margin=-10",
    ]
    let run = try Self.mpirun(2, arguments)
    try #require(run.status == 0, "\(run.output)")
    #expect(
      run.output.components(separatedBy: "mining 2 hard negatives").count == 2, "\(run.output)")
    let file = output.appendingPathComponent("mined-negatives.jsonl")
    let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 6, "\(lines)")
    for line in lines {
      let pair = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      #expect((pair?["negatives"] as? [String])?.count == 2, "\(line)")
    }
  }

  /// Ranks given different data stop at start-up with a message naming the rank.
  @Test func disagreeingRanksAreReported() throws {
    let model = try ModelFixtures.tinyModelWithoutDropout()
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-d-\(UUID())")
    defer { for url in [model, output] { try? FileManager.default.removeItem(at: url) } }
    let other = ModelFixtures.url("cli/bad-fields.csv").path
    var arguments = Self.finetune(model, output: output)
    arguments[arguments.firstIndex(of: Self.train)!] = "$DATA"
    let line =
      "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then DATA=\(other); else DATA=\(Self.train); fi; "
      + "exec \"$BERT\" "
      + arguments.map { $0 == "$DATA" ? "\"$DATA\"" : "'\($0)'" }.joined(separator: " ")
    let run = try Self.mpirun(2, [], shell: line)
    #expect(run.status != 0)
    #expect(run.output.contains("rank 1 differ from rank 0's"), "\(run.output)")
  }

  /// A rank killed in the middle of training ends the job, which does not hang.
  @Test func aKilledRankEndsTheJob() throws {
    let model = try ModelFixtures.tinyModelWithoutDropout()
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-k-\(UUID())")
    defer { for url in [model, output] { try? FileManager.default.removeItem(at: url) } }
    let arguments = Self.finetune(model, output: output, steps: 100_000, epochs: 100_000)
    let line =
      "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then (sleep 3; kill -9 $$) & fi; exec \"$BERT\" "
      + arguments.map { "'\($0)'" }.joined(separator: " ")
    let started = Date()
    let run = try Self.mpirun(2, [], shell: line, timeout: 60)
    #expect(run.status != 0, "\(run.output)")
    #expect(Date().timeIntervalSince(started) < 60)
    #expect(run.output.contains("signal 9") || run.output.contains("Killed"), "\(run.output)")
  }

  /// Sharded encoding gives one process's embeddings, in input order.
  @Test func shardedEncodingKeepsInputOrder() throws {
    let texts = (0..<37).map { "text \($0) " + String(repeating: "word ", count: $0 % 9) }
    let input = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-e-\(UUID())")
    defer { try? FileManager.default.removeItem(at: input) }
    try Data((texts.joined(separator: "\n") + "\n").utf8).write(to: input)
    let model = ModelFixtures.tinyModel.path
    let command = "\"$BERT\" encode --model '\(model)' --batch-size 4 < '\(input.path)'"
    let one = try Self.mpirun(1, [], shell: command)
    let two = try Self.mpirun(2, [], shell: command)
    try #require(one.status == 0 && two.status == 0, "\(one.output)\n\(two.output)")
    func embeddings(_ output: String) throws -> [[Double]] {
      try output.split(separator: "\n").filter { $0.hasPrefix("{\"embedding\"") }.map {
        let object = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        return try #require(object?["embedding"] as? [Double])
      }
    }
    let (a, b) = (try embeddings(one.output), try embeddings(two.output))
    try #require(a.count == 37 && b.count == 37, "\(a.count) and \(b.count) embeddings")
    let worst = zip(a, b).map { zip($0, $1).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
    // Different batch shapes: rounding only (measured 6e-7).
    #expect(worst <= 1e-5, "largest difference \(worst)")
  }
}
