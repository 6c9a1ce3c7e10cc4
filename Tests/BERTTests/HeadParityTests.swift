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

  @Test(arguments: BackendKind.allAvailable)
  func sequenceClassification(_ backend: BackendKind) throws {
    let (directory, reference, batch) = try Self.load("sequence-classification")
    let (model, report) = try BertForSequenceClassification.load(directory: directory)
    #expect(!report.hasProblems && report.newlyInitialized.isEmpty)
    #expect(model.labelCount == 3)
    try Compute.withBackend(backend) {
      var context = ForwardContext(isTraining: true, seed: 0)
      let logits = model(batch, context: &context)  // [3, 3]
      expectClose(logits, try reference.tensor(named: "logits"), rtol: 0, atol: 1e-5, "logits:")
      let loss = sequenceClassificationLoss(logits: logits, labels: try reference.ints("labels"))
      expectClose(
        [loss.item], (try reference.tensor(named: "loss")).scalars, rtol: 1e-5, atol: 1e-6, "loss:")
      loss.backward()
      try expectGradientsMatch(model, reference: reference, rtol: 1e-4)
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func regression(_ backend: BackendKind) throws {
    let (directory, reference, batch) = try Self.load("regression")
    let (model, _) = try BertForSequenceClassification.load(directory: directory)
    #expect(model.labelCount == 1)
    try Compute.withBackend(backend) {
      var context = ForwardContext(isTraining: true, seed: 0)
      let logits = model(batch, context: &context)  // [3, 1]
      expectClose(logits, try reference.tensor(named: "logits"), rtol: 0, atol: 1e-5, "logits:")
      let loss = sequenceClassificationLoss(
        logits: logits, targets: (try reference.tensor(named: "labels")).scalars)
      expectClose(
        [loss.item], (try reference.tensor(named: "loss")).scalars, rtol: 1e-5, atol: 1e-6, "loss:")
      loss.backward()
      try expectGradientsMatch(model, reference: reference, rtol: 1e-4)
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func tokenClassification(_ backend: BackendKind) throws {
    let (directory, reference, batch) = try Self.load("token-classification")
    let (model, report) = try BertForTokenClassification.load(directory: directory)
    #expect(!report.hasProblems)
    #expect(model.labelCount == 5)
    try Compute.withBackend(backend) {
      var context = ForwardContext(isTraining: true, seed: 0)
      let logits = model(batch, context: &context)  // [3, 12, 5]
      expectClose(logits, try reference.tensor(named: "logits"), rtol: 0, atol: 1e-5, "logits:")
      let loss = tokenClassificationLoss(logits: logits, labels: try reference.ints("labels"))
      expectClose(
        [loss.item], (try reference.tensor(named: "loss")).scalars, rtol: 1e-5, atol: 1e-6, "loss:")
      loss.backward()
      try expectGradientsMatch(model, reference: reference, rtol: 1e-4)
    }
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

  /// The d2l variant: a new MLP on the `[CLS]` state instead of the pooler,
  /// against the fixture script's PyTorch module of the same definition.
  @Test(arguments: BackendKind.allAvailable)
  func sequenceClassificationWithMLPOnCLS(_ backend: BackendKind) throws {
    let (directory, reference, batch) = try Self.load("sequence-classification-cls-mlp")
    let (model, report) = try BertForSequenceClassification.load(directory: directory)
    #expect(!report.hasProblems && report.newlyInitialized.isEmpty)
    #expect(model.head == .clsMLP && model.bert.pooler == nil && model.labelCount == 3)
    try Compute.withBackend(backend) {
      var context = ForwardContext(isTraining: true, seed: 0)
      let logits = model(batch, context: &context)  // [3, 3]
      expectClose(logits, try reference.tensor(named: "logits"), rtol: 0, atol: 1e-5, "logits:")
      let loss = sequenceClassificationLoss(logits: logits, labels: try reference.ints("labels"))
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
