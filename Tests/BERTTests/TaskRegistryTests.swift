import Foundation
import TestSupport
import Testing

@testable import BERT

/// The registry of tasks: every task's name survives `bert_swift_task`, its
/// head class is the one its saved directories are recognised by, and the
/// command accepts its name. The expected names and classes are written out
/// here, not taken from the registry.
@Suite struct TaskRegistryTests {
  typealias H = CLIHarness

  /// The names `bert_swift_task` records, with the transformers class of
  /// each and the task a directory of that class opens as without
  /// `bert_swift_task` (pairs are the input's choice, so a pair task's head
  /// reads as its single-text task; a retrieval model is a plain `BertModel`,
  /// which only `bert_swift_task` makes a retrieval model).
  static let expected: [String: (architecture: String, inferred: String?, config: [String: Any])] =
    [
      "classification": ("BertForSequenceClassification", "classification", ["num_labels": 3]),
      "pair-classification": (
        "BertForSequenceClassification", "classification", ["num_labels": 2]
      ),
      "regression": ("BertForSequenceClassification", "regression", ["num_labels": 1]),
      "pair-regression": (
        "BertForSequenceClassification", "regression",
        ["num_labels": 1, "problem_type": "regression"]
      ),
      "tagging": ("BertForTokenClassification", "tagging", ["num_labels": 5]),
      "qa": ("BertForQuestionAnswering", "qa", [:]),
      "retrieval": ("BertModel", nil, [:]),
    ]

  @Test func theRegistryHoldsTheSevenTasks() {
    #expect(Set(TaskKind.names) == Set(Self.expected.keys))
    #expect(TaskKind.names.count == 7, "a name appears once")
    #expect(FineTunedTask.taskNames == TaskKind.names)
  }

  @Test(arguments: TaskKind.allCases)
  func aTaskNameRoundTripsThroughConfigJSON(_ kind: TaskKind) throws {
    let directory = H.temporaryDirectory("registry-\(kind.rawValue)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let settings = TaskSettings(task: kind.rawValue, maxLength: 32)
    let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(settings))
    try DirectoryFixtures.write(
      ["model_type": "bert", "bert_swift_task": encoded],
      to: directory.appendingPathComponent("config.json"))
    let text = try String(
      contentsOf: directory.appendingPathComponent("config.json"), encoding: .utf8)
    #expect(text.contains("\"\(kind.rawValue)\""), "the name is written as it reads")
    let read = try #require(try TaskSettings.read(directory: directory))
    #expect(read == settings)
    #expect(try read.kind() == kind)
    #expect(try TaskKind(named: kind.rawValue) == kind)
  }

  @Test(arguments: TaskKind.allCases)
  func theArchitectureIsTheOneADirectoryIsRecognisedBy(_ kind: TaskKind) throws {
    let expected = try #require(Self.expected[kind.rawValue])
    #expect(kind.definition.architecture == expected.architecture)
    #expect(FineTunedTask.architecture(forTask: kind) == expected.architecture)
    var object: [String: Any] = [
      "vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4,
      "intermediate_size": 37, "architectures": [expected.architecture],
    ]
    object.merge(expected.config) { $1 }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "bert-registry-\(UUID().uuidString).json")
    defer { try? FileManager.default.removeItem(at: url) }
    try DirectoryFixtures.write(object, to: url)
    let inferred = try FineTunedTask.task(
      fromArchitectureOf: BertConfig(contentsOf: url), path: "DIR")
    #expect(inferred == expected.inferred)
    // The requested task fits the head it was inferred from.
    guard let name = expected.inferred else { return }
    #expect(FineTunedTask.fits(kind, try TaskKind(named: name)))
  }

  @Test func anUnknownSavedNameIsATypedError() throws {
    #expect(throws: FineTunedTaskError.unknownTask("ner")) { try TaskKind(named: "ner") }
    let settings = TaskSettings(task: "multiple-choice", maxLength: 32)
    #expect(throws: FineTunedTaskError.unknownTask("multiple-choice")) { try settings.kind() }
  }

  /// `--task NAME` parses for every task: the command gets past its options
  /// (to an error about the missing data file), where an unknown name fails
  /// in the argument parser.
  @Test(arguments: TaskKind.allCases)
  func theCommandAcceptsTheTaskName(_ kind: TaskKind) throws {
    let missing = H.temporaryDirectory("missing").appendingPathExtension("json").path
    let run = try H.run(
      ["evaluate", "--model", H.tinyModel, "--task", kind.rawValue, "--data", missing])
    #expect(run.status != 0)
    #expect(!run.stderr.contains("is invalid for '--task"), "\(run.stderr)")
    #expect(run.stderr.contains("bert evaluate: error:"), "\(run.stderr)")
    let unknown = try H.run(
      ["evaluate", "--model", H.tinyModel, "--task", "ner", "--data", missing])
    #expect(unknown.stderr.contains("'ner' is invalid for '--task"), "\(unknown.stderr)")
  }
}
