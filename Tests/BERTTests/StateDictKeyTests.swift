import Foundation
import Testing

@testable import BERT

/// Every model's `namedParameters` keys are exactly the keys of transformers'
/// `state_dict()` for the same class and tiny config, recorded by
/// `scripts/fixtures/make_model_fixtures.py` in `state_dict_keys.json`
/// (the cls-mlp head: the script's PyTorch module of the same definition).
@Suite struct StateDictKeyTests {
  struct Record: Decodable {
    var `class`: String
    var keys: [String]
  }

  static func record(_ directory: String) throws -> Record {
    let url = ModelFixtures.url("tiny-bert/\(directory)/state_dict_keys.json")
    return try JSONDecoder().decode(Record.self, from: Data(contentsOf: url))
  }

  /// Compares the keys as sets and counts, naming the keys on either side only.
  static func expectKeys(
    _ layer: some Layer, match directory: String, of expectedClass: String
  ) throws {
    let record = try record(directory)
    #expect(record.class == expectedClass, "\(directory): the fixture holds \(record.class)")
    let ours = layer.namedParameters.map(\.key)
    let missing = Set(record.keys).subtracting(ours).sorted()
    let extra = Set(ours).subtracting(record.keys).sorted()
    #expect(missing.isEmpty, "\(directory): not in namedParameters: \(missing)")
    #expect(extra.isEmpty, "\(directory): not in transformers' state_dict: \(extra)")
    #expect(
      ours.count == Set(ours).count && ours.count == record.keys.count,
      "\(directory): \(ours.count) keys, \(Set(ours).count) distinct, against \(record.keys.count)")
  }

  // Loading allows problems, so that a key mismatch is reported here, by key.
  @Test func baseModel() throws {
    let (model, _) = try BertModel.load(directory: ModelFixtures.tinyModel, allowingProblems: true)
    try Self.expectKeys(model, match: "model", of: "BertModel")
  }

  @Test(arguments: [
    ("sequence-classification", "BertForSequenceClassification"),
    ("regression", "BertForSequenceClassification"),
    ("sequence-classification-cls-mlp", "ClsMLPClassifier"),
  ])
  func sequenceClassification(_ name: String, _ expectedClass: String) throws {
    let (model, _) = try BertForSequenceClassification.load(
      directory: ModelFixtures.url("tiny-bert/heads/\(name)"), allowingProblems: true)
    try Self.expectKeys(model, match: "heads/\(name)", of: expectedClass)
  }

  @Test func tokenClassification() throws {
    let (model, _) = try BertForTokenClassification.load(
      directory: ModelFixtures.url("tiny-bert/heads/token-classification"), allowingProblems: true)
    try Self.expectKeys(
      model, match: "heads/token-classification", of: "BertForTokenClassification")
  }

  @Test func questionAnswering() throws {
    let (model, _) = try BertForQuestionAnswering.load(
      directory: ModelFixtures.url("tiny-bert/heads/question-answering"), allowingProblems: true)
    try Self.expectKeys(model, match: "heads/question-answering", of: "BertForQuestionAnswering")
  }

  /// A new head built on the base checkpoint has the keys of the fine-tuned
  /// one transformers saves, so it loads back in transformers.
  @Test func newHeadsOnTheBaseCheckpoint() throws {
    let (classifier, _) = try BertForSequenceClassification.load(
      directory: ModelFixtures.tinyModel, labelCount: 3, allowingProblems: true)
    try Self.expectKeys(
      classifier, match: "heads/sequence-classification", of: "BertForSequenceClassification")
    let (mlp, _) = try BertForSequenceClassification.load(
      directory: ModelFixtures.tinyModel, labelCount: 3, head: .clsMLP, allowingProblems: true)
    try Self.expectKeys(mlp, match: "heads/sequence-classification-cls-mlp", of: "ClsMLPClassifier")
    let (tagger, _) = try BertForTokenClassification.load(
      directory: ModelFixtures.tinyModel, labelCount: 5, allowingProblems: true)
    try Self.expectKeys(
      tagger, match: "heads/token-classification", of: "BertForTokenClassification")
    let (reader, _) = try BertForQuestionAnswering.load(
      directory: ModelFixtures.tinyModel, allowingProblems: true)
    try Self.expectKeys(reader, match: "heads/question-answering", of: "BertForQuestionAnswering")
  }
}
