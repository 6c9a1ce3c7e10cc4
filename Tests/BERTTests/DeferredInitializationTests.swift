import Foundation
import Testing

@testable import BERT

/// Loading builds the model with its random initialisation deferred; what
/// the checkpoint does not fill must still get the exact initial values.
@Suite struct DeferredInitializationTests {
  /// Inside the scope, the random constructors leave the generator alone.
  @Test func deferredConstructorsDrawNothing() {
    var generator = SeededGenerator(seed: 7)
    let before = generator
    let shape = [3, 5]
    let tensor = Tensor.deferringInitialization {
      Tensor.randomNormal(shape: shape, generator: &generator)
    }
    #expect(tensor.shape == shape)
    #expect(generator == before)
    #expect(!Tensor.isInitializationDeferred)
  }

  /// A new classification head on the base checkpoint: its classifier is the
  /// one the head's own initialiser gives (built here without deferral), and
  /// every encoder weight is the checkpoint's.
  @Test func aNewHeadGetsItsInitialValues() throws {
    let (loaded, report) = try BertForSequenceClassification.load(
      directory: ModelFixtures.tinyModel, labelCount: 3, seed: 11)
    #expect(report.newlyInitialized.contains("classifier.weight"))
    let config = try BertConfig(
      contentsOf: ModelFixtures.tinyModel.appendingPathComponent("config.json"))
    let fresh = BertForSequenceClassification(
      bert: BertModel(config: config, hasPooler: true, seed: 11), labelCount: 3, head: .pooler,
      seed: 12)
    let expected = Dictionary(
      uniqueKeysWithValues: fresh.namedParameters.map { ($0.key, $0.parameter) })
    for key in report.newlyInitialized {
      #expect(
        loaded.namedParameters.first { $0.key == key }?.parameter.value.scalars
          == expected[key]?.value.scalars, "\(key)")
    }
    let file = try SafeTensorsFile(
      contentsOf: ModelFixtures.tinyModel.appendingPathComponent("model.safetensors"))
    let weight = "encoder.layer.1.intermediate.dense.weight"
    #expect(
      loaded.namedParameters.first { $0.key == "bert.\(weight)" }?.parameter.value.scalars
        == (try file.tensor(named: weight)).scalars)
  }
}
