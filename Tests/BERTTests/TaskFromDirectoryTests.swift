import Foundation
import TestSupport
import Testing

@testable import BERT

/// Directories saved by transformers 5 (no `bert_swift_task`) open as the
/// task their head does, and give transformers' outputs (reference.json).
@Suite struct TaskFromDirectoryTests {
  static let expectedTask: [String: String] = [
    "question-answering": "qa", "regression": "regression",
    "sequence-classification": "classification", "token-classification": "tagging",
  ]

  static func head(of name: String) -> String {
    expectedTask.keys.first { name.hasPrefix($0 + "-") }!
  }

  /// One input's encoding, as transformers made it.
  static func inputs(_ reference: [String: Any]) -> [[String: Any]] {
    reference["inputs"] as! [[String: Any]]
  }

  @Test(arguments: DirectoryFixtures.heads)
  func opensAsItsHeadsTaskWithTransformersOutputs(_ name: String) throws {
    let path = "heads/\(name)"
    let reference = try DirectoryFixtures.reference(path)
    let directory = try DirectoryFixtures.copy(path)
    defer { try? FileManager.default.removeItem(at: directory) }
    let opened = try FineTunedTask.open(directory: directory)
    #expect(opened.taskName == Self.expectedTask[Self.head(of: name)])
    var context = ForwardContext.inference
    for (index, input) in Self.inputs(reference).enumerated() {
      let ids = input["input_ids"] as! [Int]
      let label = "\(name) input \(index)"
      switch opened {
      case .text(let task):
        #expect(task.maxLength == 64, "model_max_length 64 within 64 positions")
        let pair = input["pair"] as? String
        // transformers encodes an empty second text as no pair (see the fixture README).
        let example = TextExample(
          text: input["text"] as! String, pair: pair?.isEmpty == false ? pair : nil)
        let pairs = example.pair != nil
        let reading = task.readingPairs(pairs)
        #expect(reading.kind.isPair == pairs)
        let encoding = reading.tokenizer.encode(example.text, pair: example.pair)
        #expect(encoding.inputIDs == ids, "\(label): ids")
        let logits = reading.logits([example])[0]
        expectClose(logits, floats(input["logits"]), rtol: 1e-4, atol: 1e-4, label)
        if let probabilities = reading.predict([example])[0].probabilities {
          let z = floats(input["logits"]).map(Double.init)
          let exps = z.map { Foundation.exp($0 - z.max()!) }
          let names = reading.labels!.labels
          #expect(names == ["negative", "neutral", "positive"])
          for (id, value) in exps.enumerated() {
            #expect(abs(probabilities[names[id]]! - value / exps.reduce(0, +)) < 1e-4, "\(label)")
          }
        }
      case .tagging(let task):
        #expect(task.labels.labels == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
        let encoding = task.tokenizer.encode(input["text"] as! String)
        #expect(encoding.inputIDs == ids, "\(label): ids")
        let batch = TextBatch(encodings: [encoding], paddingID: task.tokenizer.paddingTokenID)
        let logits = withoutGradients { task.model(batch, context: &context) }.scalars
        let expected = (input["logits"] as! [Any]).flatMap(floats)
        expectClose(logits, expected, rtol: 1e-4, atol: 1e-4, label)
      case .questionAnswering(let task):
        #expect(task.maxLength == 64 && task.docStride == 32)
        let encoding = task.tokenizer.encode(
          input["question"] as! String, pair: input["context"] as? String)
        #expect(encoding.inputIDs == ids, "\(label): ids")
        let batch = TextBatch(encodings: [encoding], paddingID: task.tokenizer.paddingTokenID)
        let (start, end) = withoutGradients { task.model(batch, context: &context) }
        expectClose(start.scalars, floats(input["start_logits"]), rtol: 1e-4, atol: 1e-4, label)
        expectClose(end.scalars, floats(input["end_logits"]), rtol: 1e-4, atol: 1e-4, label)
      }
    }
  }

  @Test func aContradictingTaskIsRefusedWithBothNames() throws {
    let directory = try DirectoryFixtures.copy("heads/sequence-classification-f32-uncased")
    defer { try? FileManager.default.removeItem(at: directory) }
    #expect(
      throws: FineTunedTaskError.taskContradicts(
        path: directory.path, requested: "tagging", architecture: "BertForSequenceClassification",
        holds: "classification")
    ) { try FineTunedTask.open(directory: directory, task: "tagging") }
    #expect(
      throws: FineTunedTaskError.taskContradicts(
        path: directory.path, requested: "regression",
        architecture: "BertForSequenceClassification", holds: "classification")
    ) { try FineTunedTask.open(directory: directory, task: "regression") }
    // The pair kind of the head's task agrees with it.
    let pairs = try FineTunedTask.open(directory: directory, task: "pair-classification")
    #expect(pairs.taskName == "pair-classification")
  }

  /// The rules, from config.json alone: one label, or problem_type regression,
  /// is regression; a base model names no task.
  @Test func theTaskFollowsArchitecturesLabelsAndProblemType() throws {
    func task(_ object: [String: Any]) throws -> String? {
      var config: [String: Any] = [
        "vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 1,
        "num_attention_heads": 4, "intermediate_size": 37,
      ]
      config.merge(object) { $1 }
      let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "bert-config-\(UUID().uuidString).json")
      defer { try? FileManager.default.removeItem(at: url) }
      try DirectoryFixtures.write(config, to: url)
      return try FineTunedTask.task(
        fromArchitectureOf: BertConfig(contentsOf: url), path: "DIR")
    }
    let sequence: [String: Any] = ["architectures": ["BertForSequenceClassification"]]
    #expect(try task(sequence.merging(["num_labels": 3]) { $1 }) == "classification")
    #expect(try task(sequence.merging(["num_labels": 1]) { $1 }) == "regression")
    #expect(
      try task(sequence.merging(["num_labels": 2, "problem_type": "regression"]) { $1 })
        == "regression")
    #expect(
      try task(
        sequence.merging(["num_labels": 1, "problem_type": "single_label_classification"]) { $1 })
        == "regression")
    #expect(throws: FineTunedTaskError.self) {
      try task(sequence.merging(["problem_type": "multi_label_classification"]) { $1 })
    }
    #expect(try task(["architectures": ["BertForTokenClassification"]]) == "tagging")
    #expect(try task(["architectures": ["BertForQuestionAnswering"]]) == "qa")
    #expect(try task(["architectures": ["BertModel"]]) == nil)
    #expect(try task([:]) == nil)
  }

  /// The committed tiny heads (config.json with architectures, no
  /// bert_swift_task) open without --task too.
  @Test func tinyHeadsOpenWithoutTheTaskNamed() throws {
    for (name, expected) in [
      ("sequence-classification", "classification"), ("regression", "regression"),
      ("token-classification", "tagging"), ("question-answering", "qa"),
    ] {
      let directory = try FineTunedTaskTests.headDirectory(name)
      defer { try? FileManager.default.removeItem(at: directory) }
      #expect(try FineTunedTask.open(directory: directory).taskName == expected, "\(name)")
    }
  }
}

/// `bert predict` and `bert evaluate` on transformers-saved directories.
@Suite struct TaskFromDirectoryCLITests {
  @Test func predictRecognisesPairsFromATab() throws {
    let path = "heads/sequence-classification-f32-uncased"
    let reference = try DirectoryFixtures.reference(path)
    let directory = try DirectoryFixtures.copy(path)
    defer { try? FileManager.default.removeItem(at: directory) }
    let inputs = TaskFromDirectoryTests.inputs(reference).filter {
      ($0["pair"] as? String).map { !$0.isEmpty } ?? true
    }
    for pairs in [false, true] {
      let chosen = inputs.filter { ($0["pair"] is String) == pairs }
      #expect(!chosen.isEmpty)
      let stdin = chosen.map { input in
        (input["text"] as! String) + (pairs ? "\t" + (input["pair"] as! String) : "")
      }.filter { !$0.isEmpty }
      let kept = chosen.filter { pairs || !($0["text"] as! String).isEmpty }
      let run = try CLIHarness.run(
        ["predict", "--model", directory.path], stdin: stdin.joined(separator: "\n") + "\n")
      #expect(run.status == 0, "\(run.stderr)")
      let lines = try run.jsonLines()
      #expect(lines.count == kept.count)
      for (line, input) in zip(lines, kept) {
        let z = floats(input["logits"]).map(Double.init)
        let best = ["negative", "neutral", "positive"][z.indices.max { z[$0] < z[$1] }!]
        #expect(line["label"] as? String == best, "\(input)")
        let exps = z.map { Foundation.exp($0 - z.max()!) }
        let probabilities = line["probabilities"] as! [String: Double]
        #expect(abs(probabilities[best]! - exps.max()! / exps.reduce(0, +)) < 1e-4)
      }
    }
  }

  @Test func evaluateReadsPairColumnsAndRegression() throws {
    let path = "heads/regression-f32-uncased"
    let reference = try DirectoryFixtures.reference(path)
    let directory = try DirectoryFixtures.copy(path)
    let data = CLIHarness.temporaryDirectory("eval")
    defer {
      try? FileManager.default.removeItem(at: directory)
      try? FileManager.default.removeItem(at: data)
    }
    try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
    // Targets: transformers' predictions, so the model scores MSE 0 on them.
    var rows: [[String: Any]] = []
    for input in TaskFromDirectoryTests.inputs(reference) {
      guard let pair = input["pair"] as? String, !pair.isEmpty else { continue }
      rows.append([
        "sentence1": input["text"]!, "sentence2": pair, "label": floats(input["logits"])[0],
      ])
    }
    let file = data.appendingPathComponent("pairs.jsonl")
    try rows.map { String(data: try JSONSerialization.data(withJSONObject: $0), encoding: .utf8)! }
      .joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
    let run = try CLIHarness.run(["evaluate", "--model", directory.path, "--data", file.path])
    #expect(run.status == 0, "\(run.stderr)")
    let result = try run.json()
    #expect(result["task"] as? String == "pair-regression")
    let metrics = try #require(result["metrics"] as? [String: Double])
    #expect(try #require(metrics["mse"]) < 1e-8)
  }

  @Test func aContradictingTaskNamesBoth() throws {
    let directory = try DirectoryFixtures.copy("heads/sequence-classification-f32-uncased")
    defer { try? FileManager.default.removeItem(at: directory) }
    let run = try CLIHarness.run(
      ["predict", "--model", directory.path, "--task", "tagging"], stdin: "a b\n")
    #expect(run.status != 0)
    #expect(
      run.stderr.contains(
        "--task tagging contradicts the model directory, a BertForSequenceClassification "
          + "(classification)"), "\(run.stderr)")
  }

  @Test func encodeAndInfoFollowTheSentenceTransformersFiles() throws {
    let path = "sentence-transformers/mean-normalize"
    let reference = try DirectoryFixtures.reference(path)
    let directory = try DirectoryFixtures.copy(path)
    defer { try? FileManager.default.removeItem(at: directory) }
    let texts = (reference["texts"] as! [String]).filter { !$0.isEmpty }
    let expected = zip(reference["texts"] as! [String], (reference["embeddings"] as! [Any]))
      .filter { !$0.0.isEmpty }.map { floats($0.1) }
    let run = try CLIHarness.run(
      ["encode", "--model", directory.path], stdin: texts.joined(separator: "\n") + "\n")
    #expect(run.status == 0, "\(run.stderr)")
    for (line, wanted) in zip(try run.jsonLines(), expected) {
      let vector = floats(line["embedding"])
      #expect(cosine(vector, wanted) >= 0.99999)
      #expect(abs(norm(vector) - 1) < 1e-5)
    }
    let raw = try CLIHarness.run(
      ["encode", "--model", directory.path, "--no-normalize"],
      stdin: texts.joined(separator: "\n") + "\n")
    for (line, wanted) in zip(try raw.jsonLines(), expected) {
      let vector = floats(line["embedding"])
      #expect(cosine(vector, wanted) >= 0.99999)
      #expect(abs(norm(vector) - 1) > 1e-3, "not normalised")
    }
    let info = try CLIHarness.run(["info", "--model", directory.path, "--json"]).json()
    let encode = try #require(info["encode"] as? [String: Any])
    #expect(encode["pooling"] as? [String] == ["mean"])
    #expect(encode["normalize"] as? Bool == true)
    #expect(encode["max_length"] as? Int == 16)
    // The fixture holds tokenizer.json and no vocab.txt; the tiny model the reverse.
    #expect(info["tokenizer"] as? String == "tokenizer.json")
    let tiny = try CLIHarness.run(["info", "--model", CLIHarness.tinyModel, "--json"]).json()
    #expect(tiny["tokenizer"] as? String == "vocab.txt")
  }
}
