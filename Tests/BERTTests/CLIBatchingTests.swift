import Foundation
import Testing

/// `--max-batch-tokens` and the padding report of `bert encode --verbose`.
@Suite struct CLIBatchingTests {
  typealias H = CLIHarness

  static let texts = "the cat sat on the mat\na dog\nhello world , a new city\n"

  static func embeddings(_ run: CLIHarness.Run) throws -> [[Double]] {
    try run.jsonLines().map { try #require($0["embedding"] as? [Double]) }
  }

  /// A budget of one token puts every text in a batch of its own, so nothing
  /// is padding; the vectors are those of --batch-size 1, in input order.
  @Test func tokenBudgetOfOneRunsEveryTextAlone() throws {
    let budget = try H.run(
      ["encode", "--model", H.tinyModel, "--max-batch-tokens", "1", "--verbose"],
      stdin: Self.texts)
    #expect(budget.status == 0, "\(budget.stderr)")
    #expect(budget.stderr.contains("3 texts in 3 batches"), "\(budget.stderr)")
    #expect(budget.stderr.contains("(0.0% padding)"), "\(budget.stderr)")
    let single = try H.run(
      ["encode", "--model", H.tinyModel, "--batch-size", "1"], stdin: Self.texts)
    for (index, (a, b)) in zip(try Self.embeddings(budget), try Self.embeddings(single))
      .enumerated()
    {
      let difference = zip(a, b).map { abs($0 - $1) }.max() ?? 0
      #expect(difference < 1e-5, "line \(index): largest difference \(difference)")
    }
  }

  /// One batch of three: the report counts its padding, and the real tokens
  /// are the three texts' lengths.
  @Test func verboseReportsPadding() throws {
    let run = try H.run(
      ["encode", "--model", H.tinyModel, "--batch-size", "3", "--verbose"], stdin: Self.texts)
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stderr.contains("3 texts in 1 batch;"), "\(run.stderr)")
    #expect(run.stderr.contains("% padding)"), "\(run.stderr)")
    let quiet = try H.run(["encode", "--model", H.tinyModel], stdin: Self.texts)
    #expect(!quiet.stderr.contains("padding"), "\(quiet.stderr)")
  }

  @Test func budgetBelowOneIsRefused() throws {
    let run = try H.run(
      ["encode", "--model", H.tinyModel, "--max-batch-tokens", "0"], stdin: Self.texts)
    #expect(run.status != 0)
    #expect(run.stderr.contains("--max-batch-tokens must be at least 1, got 0"), "\(run.stderr)")
  }

  /// Every task's evaluate and predict give the same metrics and the same
  /// outputs, in the same order, whether each sequence runs alone (a budget of
  /// one token) or in sorted batches.
  @Test(arguments: [
    ("classification", "sentiment-train.csv", "sentiment-dev.tsv"),
    ("tagging", "tags-train.conll", "tags-dev.jsonl"),
    ("qa", "squad-train.json", "squad-dev.json"),
  ])
  func evaluateAndPredictDoNotDependOnTheBatches(
    _ task: String, _ train: String, _ data: String
  ) throws {
    let (run, output) = try CLITests.finetune(task, train: train)
    defer { try? FileManager.default.removeItem(at: output) }
    try #require(run.status == 0, "\(run.stderr)")
    func outputs(_ command: String, _ extra: [String]) throws -> String {
      let option = command == "evaluate" ? "--data" : "--input"
      let result = try H.run(
        [command, "--model", output.path, option, H.data(data), "--batch-size", "3"] + extra)
      #expect(result.status == 0, "\(command) \(extra): \(result.stderr)")
      return result.stdout
    }
    for command in ["evaluate", "predict"] {
      let batched = try outputs(command, [])
      let alone = try outputs(command, ["--max-batch-tokens", "1"])
      if command == "evaluate" {
        let metrics = { (text: String) -> [String: Double] in
          let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
          return object?["metrics"] as? [String: Double] ?? [:]
        }
        let (a, b) = (metrics(batched), metrics(alone))
        #expect(!a.isEmpty && Set(a.keys) == Set(b.keys), "\(task): \(batched)")
        for (key, value) in a {
          #expect(
            abs(value - (b[key] ?? .nan)) < 1e-9, "\(task) \(key): \(value) vs \(b[key] ?? .nan)")
        }
      } else {
        #expect(!batched.isEmpty && batched == alone, "\(task) predict:\n\(batched)\n\(alone)")
      }
    }
  }
}
