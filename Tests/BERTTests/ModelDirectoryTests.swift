import Foundation
import TestSupport
import Testing

@testable import BERT

/// Directories written by this package have the layout transformers writes:
/// the same tensor names and shapes as transformers' own save of the head,
/// `architectures`, `model_type` and the labels in `config.json`, and the same
/// logits when loaded back. `scripts/fixtures/check_hf_compat.py` loads such
/// directories in transformers' `AutoModelFor…` (set `BERT_HF_EXPORT=DIR` to
/// keep them).
@Suite struct ModelDirectoryTests {
  static let heads: [(name: String, architecture: String, labels: [String]?, problem: String?)] = [
    (
      "sequence-classification", "BertForSequenceClassification", ["a", "b", "c"],
      "single_label_classification"
    ),
    ("regression", "BertForSequenceClassification", ["LABEL_0"], "regression"),
    ("token-classification", "BertForTokenClassification", ["B-X", "I-X", "O", "P", "Q"], nil),
    ("question-answering", "BertForQuestionAnswering", nil, nil),
  ]

  @Test func writtenHeadsMatchTransformersLayoutAndReloadWithTheSameLogits() throws {
    let root =
      ProcessInfo.processInfo.environment["BERT_HF_EXPORT"].map { URL(fileURLWithPath: $0) }
      ?? FileManager.default.temporaryDirectory.appendingPathComponent(
        "bert-heads-\(UUID().uuidString)")
    defer {
      if ProcessInfo.processInfo.environment["BERT_HF_EXPORT"] == nil {
        try? FileManager.default.removeItem(at: root)
      }
    }
    for head in Self.heads {
      let source = ModelFixtures.url("tiny-bert/heads/\(head.name)")
      let reference = try ModelFixtures.reference(
        "tiny-bert/heads/\(head.name)/reference.safetensors")
      let batch = try BertModelParityTests.fixtureBatch(reference)
      let target = root.appendingPathComponent(head.name)
      let (parameters, config, logits):
        ([(key: String, parameter: Parameter)], BertConfig, (Tensor) -> Tensor)
      var context = ForwardContext.inference
      switch head.name {
      case "question-answering":
        let model = try BertForQuestionAnswering.load(directory: source).model
        parameters = model.namedParameters
        config = model.bert.config
        logits = { _ in withoutGradients { model(batch, context: &context).start } }
      case "token-classification":
        let model = try BertForTokenClassification.load(directory: source).model
        parameters = model.namedParameters
        config = model.bert.config
        logits = { _ in withoutGradients { model(batch, context: &context) } }
      default:
        let model = try BertForSequenceClassification.load(directory: source).model
        parameters = model.namedParameters
        config = model.bert.config
        logits = { _ in withoutGradients { model(batch, context: &context) } }
      }
      try ModelDirectoryWriter.write(
        config: config, architecture: head.architecture, labels: head.labels,
        problemType: head.problem,
        settings: TaskSettings(task: head.name, maxLength: 12), parameters: parameters,
        tokenizerSource: ModelFixtures.tinyModel, to: target)

      // Same tensors as transformers' own save of this head.
      let ours = try SafeTensorsFile(contentsOf: target.appendingPathComponent("model.safetensors"))
      let theirs = try SafeTensorsFile(
        contentsOf: source.appendingPathComponent("model.safetensors"))
      #expect(Set(ours.names) == Set(theirs.names), "\(head.name): tensor names")
      for name in theirs.names {
        #expect(
          ours.info(for: name)?.shape == theirs.info(for: name)?.shape, "\(head.name): \(name)")
      }
      #expect(ours.metadata["format"] == "pt")
      // The config keys transformers needs to pick and build the class.
      let json =
        try JSONSerialization.jsonObject(
          with: Data(contentsOf: target.appendingPathComponent("config.json"))) as! [String: Any]
      #expect(json["model_type"] as? String == "bert")
      #expect(json["architectures"] as? [String] == [head.architecture])
      if let labels = head.labels {
        #expect((json["id2label"] as? [String: String])?["0"] == labels[0])
        #expect((json["label2id"] as? [String: Int])?[labels.last!] == labels.count - 1)
      }
      for file in ["vocab.txt", "tokenizer_config.json"] {
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent(file).path))
      }
      // Reloaded, the directory gives the fixture's logits.
      let reloaded: Tensor
      switch head.name {
      case "question-answering":
        let model = try BertForQuestionAnswering.load(directory: target).model
        reloaded = withoutGradients { model(batch, context: &context).start }
      case "token-classification":
        reloaded = withoutGradients {
          (try! BertForTokenClassification.load(directory: target).model)(batch, context: &context)
        }
      default:
        reloaded = withoutGradients {
          (try! BertForSequenceClassification.load(directory: target).model)(
            batch, context: &context)
        }
      }
      let expected = try reference.tensor(
        named: head.name == "question-answering" ? "start_logits" : "logits")
      expectClose(reloaded, expected, rtol: 0, atol: 1e-5, "\(head.name) reloaded:")
      expectClose(logits(expected), expected, rtol: 0, atol: 1e-5, "\(head.name) before saving:")
    }
  }
}
