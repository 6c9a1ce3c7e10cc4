import Foundation
import TestSupport
import Testing

@testable import BERT

/// The four fine-tuning heads against transformers' `BertFor…` classes on the
/// tiny fixture: logits, the loss transformers computes, and every gradient.
@Suite struct HeadParityTests {
  static func load(_ name: String) throws -> (URL, SafeTensorsFile, TextBatch) {
    let directory = ModelFixtures.url("tiny-bert/heads/\(name)")
    let reference = try ModelFixtures.reference("tiny-bert/heads/\(name)/reference.safetensors")
    return (directory, reference, try BertModelParityTests.fixtureBatch(reference))
  }

  /// Checks a head with a `logits` output against its fixture: the logits,
  /// the loss `loss` computes from them, and the gradient of every parameter.
  static func checkLogitsHead<Head: Layer>(
    _ name: String, _ backend: BackendKind, _ model: Head,
    forward: (Head, TextBatch, inout ForwardContext) -> Tensor,
    loss: (Tensor, SafeTensorsFile) throws -> Tensor
  ) throws {
    let (_, reference, batch) = try load(name)
    try Compute.withBackend(backend) {
      var context = ForwardContext(isTraining: true, seed: 0)
      let logits = forward(model, batch, &context)
      expectClose(logits, try reference.tensor(named: "logits"), rtol: 0, atol: 1e-5, "logits:")
      let value = try loss(logits, reference)
      expectClose(
        [value.item], (try reference.tensor(named: "loss")).scalars, rtol: 1e-5, atol: 1e-6,
        "loss:")
      value.backward()
      try expectGradientsMatch(model, reference: reference, rtol: 1e-4)
    }
  }

  /// Loads a sequence head fixture and checks it with cross-entropy on its labels.
  static func checkSequenceClassifier(_ name: String, _ backend: BackendKind) throws
    -> (BertForSequenceClassification, CheckpointLoadReport)
  {
    let (model, report) = try BertForSequenceClassification.load(
      directory: ModelFixtures.url("tiny-bert/heads/\(name)"))
    try checkLogitsHead(
      name, backend, model, forward: { $0($1, context: &$2) },
      loss: { sequenceClassificationLoss(logits: $0, labels: try $1.ints("labels")) })
    return (model, report)
  }

  @Test(arguments: BackendKind.allAvailable)
  func sequenceClassification(_ backend: BackendKind) throws {
    let (model, report) = try Self.checkSequenceClassifier("sequence-classification", backend)
    #expect(!report.hasProblems && report.newlyInitialized.isEmpty)
    #expect(model.labelCount == 3 && model.head == .pooler)
  }

  @Test(arguments: BackendKind.allAvailable)
  func regression(_ backend: BackendKind) throws {
    let (model, _) = try BertForSequenceClassification.load(
      directory: ModelFixtures.url("tiny-bert/heads/regression"))
    #expect(model.labelCount == 1)
    try Self.checkLogitsHead(
      "regression", backend, model, forward: { $0($1, context: &$2) },
      loss: {
        sequenceClassificationLoss(logits: $0, targets: (try $1.tensor(named: "labels")).scalars)
      })
  }

  /// The d2l variant: a new MLP on the `[CLS]` state instead of the pooler,
  /// against the fixture script's PyTorch module of the same definition.
  @Test(arguments: BackendKind.allAvailable)
  func sequenceClassificationWithMLPOnCLS(_ backend: BackendKind) throws {
    let (model, report) = try Self.checkSequenceClassifier(
      "sequence-classification-cls-mlp", backend)
    #expect(!report.hasProblems && report.newlyInitialized.isEmpty)
    #expect(model.head == .clsMLP && model.bert.pooler == nil && model.labelCount == 3)
  }

  @Test(arguments: BackendKind.allAvailable)
  func tokenClassification(_ backend: BackendKind) throws {
    let (model, report) = try BertForTokenClassification.load(
      directory: ModelFixtures.url("tiny-bert/heads/token-classification"))
    #expect(!report.hasProblems)
    #expect(model.labelCount == 5)
    try Self.checkLogitsHead(
      "token-classification", backend, model, forward: { $0($1, context: &$2) },
      loss: { tokenClassificationLoss(logits: $0, labels: try $1.ints("labels")) })
  }

  @Test(arguments: BackendKind.allAvailable)
  func questionAnswering(_ backend: BackendKind) throws {
    let (directory, reference, batch) = try Self.load("question-answering")
    let (model, report) = try BertForQuestionAnswering.load(directory: directory)
    #expect(!report.hasProblems)
    try Compute.withBackend(backend) {
      var context = ForwardContext(isTraining: true, seed: 0)
      let (start, end) = model(batch, context: &context)  // [3, 12] each
      expectClose(start, try reference.tensor(named: "start_logits"), rtol: 0, atol: 1e-5, "start:")
      expectClose(end, try reference.tensor(named: "end_logits"), rtol: 0, atol: 1e-5, "end:")
      // Positions 20 and 30 lie past T = 12: clamped and ignored, as in transformers.
      let loss = questionAnsweringLoss(
        startLogits: start, endLogits: end, startPositions: try reference.ints("start_positions"),
        endPositions: try reference.ints("end_positions"))
      expectClose(
        [loss.item], (try reference.tensor(named: "loss")).scalars, rtol: 1e-5, atol: 1e-6, "loss:")
      loss.backward()
      try expectGradientsMatch(model, reference: reference, rtol: 1e-4)
    }
  }

  /// A fine-tuned head is not silently reused as the other kind.
  @Test func aFineTunedHeadOfTheOtherKindIsRefused() throws {
    for (name, requested) in [
      ("sequence-classification", SequenceClassifierHead.clsMLP),
      ("sequence-classification-cls-mlp", .pooler),
    ] {
      let error = #expect(throws: CheckpointError.self) {
        try BertForSequenceClassification.load(
          directory: ModelFixtures.url("tiny-bert/heads/\(name)"), head: requested)
      }
      #expect("\(error!)".contains("not a \(requested.rawValue) one"), "\(error!)")
    }
  }

  /// A new head on a base checkpoint: the encoder loads, the head is reported
  /// as newly initialised, and the pooler of a poolerless head is skipped.
  @Test func newHeadsOnTheBaseCheckpoint() throws {
    let (classifier, classifierReport) = try BertForSequenceClassification.load(
      directory: ModelFixtures.tinyModel, labelCount: 4)
    #expect(!classifierReport.hasProblems)
    #expect(classifierReport.newlyInitialized.sorted() == ["classifier.bias", "classifier.weight"])
    #expect(classifier.labelCount == 4)
    let (_, qaReport) = try BertForQuestionAnswering.load(directory: ModelFixtures.tinyModel)
    #expect(!qaReport.hasProblems)
    #expect(qaReport.ignored.sorted() == ["pooler.dense.bias", "pooler.dense.weight"])
    #expect(qaReport.newlyInitialized.sorted() == ["qa_outputs.bias", "qa_outputs.weight"])
    let (mlp, mlpReport) = try BertForSequenceClassification.load(
      directory: ModelFixtures.tinyModel, labelCount: 2, head: .clsMLP)
    #expect(!mlpReport.hasProblems && mlp.head == .clsMLP)
    #expect(mlpReport.ignored.sorted() == ["pooler.dense.bias", "pooler.dense.weight"])
    #expect(
      mlpReport.newlyInitialized.sorted() == [
        "classifier.bias", "classifier.weight", "pre_classifier.bias", "pre_classifier.weight",
      ])
  }
}
