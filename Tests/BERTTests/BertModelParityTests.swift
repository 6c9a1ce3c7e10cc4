import Foundation
import TestSupport
import Testing

@testable import BERT

/// The encoder against transformers' `BertModel` on the tiny random fixture:
/// outputs, a scalar loss, and the gradient of every parameter.
@Suite struct BertModelParityTests {
  /// The fixture's padded batch of three sequences (lengths 12, 9, 5).
  static func fixtureBatch(_ reference: SafeTensorsFile) throws -> TextBatch {
    TextBatch(
      batchSize: 3, sequenceLength: 12, inputIDs: try reference.ints("input_ids"),
      tokenTypeIDs: try reference.ints("token_type_ids"),
      attentionMask: try reference.ints("attention_mask"))
  }

  @Test(arguments: BackendKind.allAvailable)
  func outputsMatchTransformers(_ backend: BackendKind) throws {
    let reference = try ModelFixtures.reference("tiny-bert/reference.safetensors")
    let (model, report) = try BertModel.load(directory: ModelFixtures.tinyModel)
    #expect(!report.hasProblems)
    #expect(report.loaded.count == 39)
    let batch = try Self.fixtureBatch(reference)
    let lengths = try reference.ints("lengths")
    let output = Compute.withBackend(backend) { model(batch) }
    // Padded positions are whatever each implementation gives; compare real tokens.
    expectClose(
      realRows(output.lastHiddenState, lengths: lengths),
      realRows(try reference.tensor(named: "last_hidden_state"), lengths: lengths),
      rtol: 0, atol: 1e-5, "last_hidden_state:")
    expectClose(
      output.poolerOutput!, try reference.tensor(named: "pooler_output"), rtol: 0, atol: 1e-5,
      "pooler_output:")
  }

  @Test(arguments: BackendKind.allAvailable)
  func gradientsMatchTransformers(_ backend: BackendKind) throws {
    let reference = try ModelFixtures.reference("tiny-bert/reference.safetensors")
    let (model, _) = try BertModel.load(directory: ModelFixtures.tinyModel)
    let batch = try Self.fixtureBatch(reference)
    try Compute.withBackend(backend) {
      var context = ForwardContext(isTraining: true, seed: 1)  // dropout is 0 in this config
      let output = model(batch, context: &context)
      // L = Σ hidden · R1 · mask + Σ pooled · R2, as the fixture script defines it.
      let mask = Tensor(shape: [3, 12, 1], scalars: batch.attentionMask.map(Float.init))
      let loss =
        (output.lastHiddenState * (try reference.tensor(named: "R1")) * mask).sum()
        + (output.poolerOutput! * (try reference.tensor(named: "R2"))).sum()
      expectClose(
        [loss.item], (try reference.tensor(named: "loss")).scalars, rtol: 1e-5, atol: 1e-4,
        "loss:")
      loss.backward()
      try expectGradientsMatch(model, reference: reference, rtol: 1e-4)
    }
  }

  /// Padding must not change the outputs of real tokens: each sequence run alone
  /// matches the same sequence inside the padded batch, and transformers' own
  /// unpadded run.
  @Test(arguments: BackendKind.allAvailable)
  func paddingDoesNotChangeOutputs(_ backend: BackendKind) throws {
    let reference = try ModelFixtures.reference("tiny-bert/reference.safetensors")
    let (model, _) = try BertModel.load(directory: ModelFixtures.tinyModel)
    let batch = try Self.fixtureBatch(reference)
    let lengths = try reference.ints("lengths")
    try Compute.withBackend(backend) {
      let padded = model(batch).lastHiddenState  // [3, 12, 32]
      for (index, length) in lengths.enumerated() {
        let start = index * 12
        let alone = TextBatch(
          batchSize: 1, sequenceLength: length,
          inputIDs: Array(batch.inputIDs[start..<(start + length)]),
          tokenTypeIDs: Array(batch.tokenTypeIDs[start..<(start + length)]))
        let output = model(alone).lastHiddenState  // [1, length, 32]
        let inBatch = Array(padded.scalars[(start * 32)..<((start + length) * 32)])
        expectClose(
          output.scalars, inBatch, rtol: 0, atol: 1e-5, "sequence \(index) alone vs padded:")
        expectClose(
          output.scalars,
          (try reference.tensor(named: "unpadded.\(index).last_hidden_state")).scalars,
          rtol: 0, atol: 1e-5, "sequence \(index) alone vs transformers:")
      }
    }
  }

  @Test func loadReportsProblemsTheWayTransformersDoes() throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("bert-load-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try FileManager.default.copyItem(
      at: ModelFixtures.tinyModel.appendingPathComponent("config.json"),
      to: directory.appendingPathComponent("config.json"))
    // A checkpoint with the bert. prefix, legacy gamma/beta names, a cls.* key,
    // a mis-shaped tensor, and one layer missing.
    let source = try SafeTensorsFile(
      contentsOf: ModelFixtures.tinyModel.appendingPathComponent("model.safetensors"))
    var entries: [(name: String, tensor: Tensor)] = []
    for name in source.names where !name.hasPrefix("encoder.layer.1.output.dense") {
      var key = "bert." + name
      if key.hasSuffix("LayerNorm.weight") {
        key = key.replacingOccurrences(of: ".weight", with: ".gamma")
      }
      if key.hasSuffix("LayerNorm.bias") {
        key = key.replacingOccurrences(of: ".bias", with: ".beta")
      }
      var tensor = try source.tensor(named: name)
      if name == "pooler.dense.bias" { tensor = Tensor(zeros: [31]) }
      entries.append((key, tensor))
    }
    entries.append(("cls.predictions.bias", Tensor(zeros: [99])))
    entries.append(("bert.encoder.extra.weight", Tensor(zeros: [2])))
    try SafeTensors.write(entries, to: directory.appendingPathComponent("model.safetensors"))

    #expect(throws: CheckpointError.self) { try BertModel.load(directory: directory) }
    let (_, report) = try BertModel.load(directory: directory, allowingProblems: true)
    #expect(
      report.missing.sorted() == [
        "encoder.layer.1.output.dense.bias", "encoder.layer.1.output.dense.weight",
      ])
    #expect(report.unexpected == ["bert.encoder.extra.weight"])
    #expect(report.ignored == ["cls.predictions.bias"])
    #expect(report.mismatched.map(\.key) == ["pooler.dense.bias"])
    #expect(report.loaded.count == 39 - 3)
    #expect(report.loaded.contains("embeddings.LayerNorm.weight"))
  }

  @Test func configValidationNamesTheProblem() throws {
    var config = BertConfig(hiddenSize: 30, attentionHeadCount: 4)
    #expect(
      throws: ConfigError.invalid(
        file: "config", reason: "hidden_size 30 is not a multiple of num_attention_heads 4")
    ) {
      try config.validate()
    }
    config = BertConfig(hiddenLayerCount: 0)
    #expect(throws: ConfigError.self) { try config.validate() }
    let decoded = try JSONDecoder().decode(
      BertConfig.self, from: Data("{\"hidden_size\": 64, \"hidden_act\": \"gelu_new\"}".utf8))
    #expect(decoded.hiddenSize == 64)
    #expect(decoded.hiddenActivation == .geluNew)
    #expect(decoded.layerNormEpsilon == 1e-12)
    #expect(decoded.vocabularySize == 30522)
  }
}
