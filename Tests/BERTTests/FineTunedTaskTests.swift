import Foundation
import TestSupport
import Testing

@testable import BERT

/// Opening fine-tuned directories as their task: labels in `id2label` order,
/// and clear refusals for base checkpoints and other tasks' heads.
@Suite struct FineTunedTaskTests {
  /// A copy of a transformers-saved head fixture with the tiny tokenizer beside
  /// it and, optionally, its `config.json` edited.
  static func headDirectory(
    _ name: String, editing edit: (inout [String: Any]) -> Void = { _ in }
  ) throws -> URL {
    let target = FileManager.default.temporaryDirectory.appendingPathComponent(
      "bert-fine-tuned-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
    let source = ModelFixtures.url("tiny-bert/heads/\(name)")
    try FileManager.default.copyItem(
      at: source.appendingPathComponent("model.safetensors"),
      to: target.appendingPathComponent("model.safetensors"))
    for file in ["vocab.txt", "tokenizer_config.json"] {
      try FileManager.default.copyItem(
        at: ModelFixtures.tinyModel.appendingPathComponent(file),
        to: target.appendingPathComponent(file))
    }
    var config =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: source.appendingPathComponent("config.json"))) as! [String: Any]
    edit(&config)
    try JSONSerialization.data(withJSONObject: config).write(
      to: target.appendingPathComponent("config.json"))
    return target
  }

  /// Labels that are not in sorted order: the model's output 0 is "neutral".
  @Test func labelsFollowTheModelsID2LabelOrder() throws {
    let directory = try Self.headDirectory("sequence-classification") { config in
      config["id2label"] = ["0": "neutral", "1": "bad", "2": "good"]
      config["label2id"] = ["neutral": 0, "bad": 1, "good": 2]
    }
    defer { try? FileManager.default.removeItem(at: directory) }
    let opened = try FineTunedTask.open(directory: directory, task: "classification")
    guard case .text(let task) = opened else {
      Issue.record("opened as \(opened.taskName)")
      return
    }
    #expect(task.labels?.labels == ["neutral", "bad", "good"])

    // The probabilities by name are the softmax of the logits in id order.
    let texts = ["the cat sat", "a dog ran fast", "the bird sang"]
    let model = try BertForSequenceClassification.load(directory: directory).model
    let tokenizer = try BertTokenizer(directory: directory)
    let batch = TextBatch(
      encodings: tokenizer.encodeBatch(texts, pairs: nil, maxLength: task.maxLength),
      paddingID: tokenizer.paddingTokenID)
    var context = ForwardContext.inference
    let logits = withoutGradients { model(batch, context: &context) }.scalars  // [3, 3]
    let predictions = task.predict(texts.map { TextExample(text: $0) })
    for (row, prediction) in predictions.enumerated() {
      let z = Array(logits[(row * 3)..<(row * 3 + 3)])
      let exps = z.map { Foundation.exp(Double($0 - z.max()!)) }
      let expected = zip(["neutral", "bad", "good"], exps.map { $0 / exps.reduce(0, +) })
      for (label, probability) in expected {
        let actual = try #require(prediction.probabilities?[label])
        #expect(abs(actual - probability) < 1e-6, "\(label): \(actual) vs \(probability)")
      }
      #expect(prediction.label == ["neutral", "bad", "good"][z.indices.max { z[$0] < z[$1] }!])
    }
  }

  @Test func aBaseModelWithoutTaskSettingsNeedsTheTaskNamed() throws {
    let base = try Self.headDirectory("token-classification") { config in
      config["architectures"] = ["BertModel"]
    }
    defer { try? FileManager.default.removeItem(at: base) }
    #expect(
      throws: FineTunedTaskError.notFineTuned(path: base.path, architecture: "BertModel")
    ) {
      try FineTunedTask.open(directory: base)
    }

    // A head saved by transformers names its task; a named task must agree.
    let directory = try Self.headDirectory("token-classification")
    defer { try? FileManager.default.removeItem(at: directory) }
    #expect(try FineTunedTask.open(directory: directory).taskName == "tagging")
    let opened = try FineTunedTask.open(directory: directory, task: "tagging")
    guard case .tagging(let task) = opened else {
      Issue.record("opened as \(opened.taskName)")
      return
    }
    #expect(task.labels.labels == (0..<5).map { "LABEL_\($0)" })
    let error = #expect(throws: FineTunedTaskError.self) {
      try FineTunedTask.open(directory: directory, task: "qa")
    }
    #expect(
      "\(error!)".contains("contradicts the model directory") && "\(error!)".contains("(tagging)"),
      "\(error!)")
    #expect(throws: FineTunedTaskError.unknownTask("ner")) {
      try FineTunedTask.open(directory: directory, task: "ner")
    }
  }

  @Test func aBrokenLabelMapIsReported() throws {
    let directory = try Self.headDirectory("sequence-classification") { config in
      config["id2label"] = ["0": "a", "2": "b", "3": "c"]
    }
    defer { try? FileManager.default.removeItem(at: directory) }
    let error = #expect(throws: FineTunedTaskError.self) {
      try FineTunedTask.open(directory: directory, task: "classification")
    }
    #expect("\(error!)".contains("id2label cannot be used"), "\(error!)")
  }
}
