import Foundation
import TestSupport
import Testing

@testable import BERT

/// A layer owns its projections: putting another ``LinearProjection`` in a
/// slot, by assignment or through `mapProjections`, changes the model's output
/// exactly as a float64 re-derivation with that projection says, fused
/// feed-forward path included; a projection that does not fit is refused.
@Suite struct LayerOwnershipTests {
  /// The projection keys of the tiny BertModel (2 layers, with pooler), in
  /// the order of its parameters.
  static let modelProjectionKeys = [
    "encoder.layer.0.attention.self.query",
    "encoder.layer.0.attention.self.key",
    "encoder.layer.0.attention.self.value",
    "encoder.layer.0.attention.output.dense",
    "encoder.layer.0.intermediate.dense",
    "encoder.layer.0.output.dense",
    "encoder.layer.1.attention.self.query",
    "encoder.layer.1.attention.self.key",
    "encoder.layer.1.attention.self.value",
    "encoder.layer.1.attention.output.dense",
    "encoder.layer.1.intermediate.dense",
    "encoder.layer.1.output.dense",
    "pooler.dense",
  ]
  /// The same keys as a head holds them: under `bert.`, and without the
  /// pooler unless the head uses it.
  static func headKeys(pooler: Bool, _ own: String...) -> [String] {
    modelProjectionKeys.filter { pooler || $0 != "pooler.dense" }.map { "bert." + $0 } + own
  }

  /// The tiny fixture's config: H 32, 2 layers, 4 heads, I 37.
  static func tinyConfig() throws -> BertConfig {
    try BertConfig(contentsOf: ModelFixtures.tinyModel.appendingPathComponent("config.json"))
  }

  static func fixture() throws -> (BertModel, TextBatch) {
    let reference = try ModelFixtures.reference("tiny-bert/reference.safetensors")
    let (model, _) = try BertModel.load(directory: ModelFixtures.tinyModel)
    return (model, try BertModelParityTests.fixtureBatch(reference))
  }

  /// The model's hidden states [3, 12, 32] and pooled output [3, 32] against
  /// the float64 derivation's, at 1e-5.
  static func expectMatches(
    _ output: BertModelOutput, _ reference: Float64Bert, hidden: Float64Bert.Rows,
    _ batch: TextBatch,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    expectClose(
      output.lastHiddenState, Tensor(hidden, shape: [3, 12, 32]), rtol: 0, atol: 1e-5, "hidden:",
      sourceLocation: sourceLocation)
    expectClose(
      output.poolerOutput!, Tensor(reference.pooled(hidden, batch), shape: [3, 32]), rtol: 0,
      atol: 1e-5, "pooled:", sourceLocation: sourceLocation)
  }

  static func largestDifference(_ a: Tensor, _ b: Tensor) -> Float {
    zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
  }

  /// The float64 derivation agrees with the model as it is (the model itself
  /// agrees with transformers in `BertModelParityTests`).
  @Test(arguments: BackendKind.allAvailable)
  func float64DerivationMatchesTheModel(_ backend: BackendKind) throws {
    let (model, batch) = try Self.fixture()
    let output = Compute.withBackend(backend) { model(batch) }
    let reference = Float64Bert(model, config: model.config)
    let hidden = reference.lastHiddenState(batch)
    Self.expectMatches(output, reference, hidden: hidden, batch)
  }

  /// Puts scale·p(x) + offset in one slot and checks the last hidden state
  /// against the float64 derivation with the same change at `key`, and that
  /// the output moved.
  static func expectSwap(
    _ key: String, scale: Float, offset: Float, _ backend: BackendKind,
    swap: (inout BertModel, (any LinearProjection) -> any LinearProjection) -> Void
  ) throws {
    let (model, batch) = try fixture()
    var swapped = model
    swap(&swapped) { AffineProjection(inner: $0, scale: scale, offset: offset) }
    let (before, after) = Compute.withBackend(backend) {
      (model(batch).lastHiddenState, swapped(batch).lastHiddenState)
    }
    var reference = Float64Bert(model, config: model.config)
    reference.adjustments[key] = { Double(scale) * $0 + Double(offset) }
    let expected = Tensor(reference.lastHiddenState(batch), shape: [3, 12, 32])
    expectClose(after, expected, rtol: 0, atol: 1e-5, "\(key) swapped:")
    let moved = largestDifference(after, before)
    #expect(moved > 0.05, "swapping \(key) moved the output by only \(moved)")
  }

  @Test(arguments: BackendKind.allAvailable)
  func swappingTheFeedForwardOutputTakesEffect(_ backend: BackendKind) throws {
    // The fused path needs both projections to be Linear; here the second is not.
    try Self.expectSwap("encoder.layer.0.output.dense", scale: 2, offset: 0, backend) {
      $0.encoder.layers[0].output.dense = $1($0.encoder.layers[0].output.dense)
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func swappingTheIntermediateTakesEffect(_ backend: BackendKind) throws {
    // The GELU then comes from the wrapper's default gelu: GELU(p(x)).
    try Self.expectSwap("encoder.layer.0.intermediate.dense", scale: 1, offset: 0.5, backend) {
      $0.encoder.layers[0].intermediate.dense = $1($0.encoder.layers[0].intermediate.dense)
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func swappingAnAttentionProjectionTakesEffect(_ backend: BackendKind) throws {
    try Self.expectSwap("encoder.layer.0.attention.self.value", scale: -1, offset: 0.25, backend) {
      $0.encoder.layers[0].attention.selfAttention.value = $1(
        $0.encoder.layers[0].attention.selfAttention.value)
    }
    try Self.expectSwap("encoder.layer.1.attention.self.query", scale: 3, offset: 0, backend) {
      $0.encoder.layers[1].attention.selfAttention.query = $1(
        $0.encoder.layers[1].attention.selfAttention.query)
    }
  }

  /// A head's classifier: 2·classifier(x) + 1 gives logits 2·l + 1, and the
  /// float64 derivation of the whole head with that change.
  @Test(arguments: BackendKind.allAvailable)
  func swappingAHeadsClassifierTakesEffect(_ backend: BackendKind) throws {
    let (head, _) = try BertForSequenceClassification.load(
      directory: ModelFixtures.url("tiny-bert/heads/sequence-classification"))
    let (_, batch) = try Self.fixture()
    var swapped = head
    swapped.classifier = AffineProjection(inner: head.classifier, scale: 2, offset: 1)
    var inference = ForwardContext.inference
    var again = ForwardContext.inference
    let (before, after) = Compute.withBackend(backend) {
      (head(batch, context: &inference), swapped(batch, context: &again))  // [3, 3] each
    }
    expectClose(after, before * 2 + 1, rtol: 0, atol: 0, "2·logits + 1:")
    var reference = Float64Bert(head, config: head.bert.config, base: "bert.")
    reference.adjustments["classifier"] = { 2 * $0 + 1 }
    let pooled = reference.pooled(reference.lastHiddenState(batch), batch)
    let expected = Tensor(reference.linear(pooled, "classifier"), shape: [3, 3])
    expectClose(after, expected, rtol: 0, atol: 2e-5, "swapped logits:")
  }

  /// mapProjections visits every projection once, under its full key, in
  /// the order of the parameters.
  @Test func mapProjectionsVisitsEveryProjectionKey() throws {
    func visited(_ layer: some Layer) -> [String] {
      var copy = layer
      var keys: [String] = []
      copy.mapProjections { key, projection in
        keys.append(key)
        return projection
      }
      return keys
    }
    let config = try Self.tinyConfig()
    #expect(visited(BertModel(config: config)) == Self.modelProjectionKeys)
    let poolerless = BertModel(config: config, hasPooler: false)
    #expect(
      visited(BertForSequenceClassification(bert: BertModel(config: config), labelCount: 3))
        == Self.headKeys(pooler: true, "classifier"))
    #expect(
      visited(BertForSequenceClassification(bert: poolerless, labelCount: 3, head: .clsMLP))
        == Self.headKeys(pooler: false, "pre_classifier", "classifier"))
    #expect(
      visited(BertForTokenClassification(bert: poolerless, labelCount: 5))
        == Self.headKeys(pooler: false, "classifier"))
    #expect(
      visited(BertForQuestionAnswering(bert: poolerless))
        == Self.headKeys(pooler: false, "qa_outputs"))
  }

  /// Every slot replaced at once, each with its own change: the output is
  /// the float64 derivation with all of them.
  @Test(arguments: BackendKind.allAvailable)
  func mapProjectionsReplacesEverySlot(_ backend: BackendKind) throws {
    let (model, batch) = try Self.fixture()
    var reference = Float64Bert(model, config: model.config)
    var swapped = model
    swapped.mapProjections { key, projection in
      let index = Self.modelProjectionKeys.firstIndex(of: key)!
      let (scale, offset) = (1 + 0.125 * Float(index % 3), 0.0625 * Float(index))
      reference.adjustments[key] = { Double(scale) * $0 + Double(offset) }
      return AffineProjection(inner: projection, scale: scale, offset: offset)
    }
    #expect(reference.adjustments.count == 13)
    let output = Compute.withBackend(backend) { swapped(batch) }
    let hidden = reference.lastHiddenState(batch)
    Self.expectMatches(output, reference, hidden: hidden, batch)
  }

  /// With every projection behind a wrapper, nothing is fused and every
  /// product is the wrapper's: the head still matches transformers' logits,
  /// loss and gradients, so the generic path trains as the fused one does.
  @Test(arguments: BackendKind.allAvailable)
  func theGenericPathMatchesTransformersGradients(_ backend: BackendKind) throws {
    var (model, _) = try BertForSequenceClassification.load(
      directory: ModelFixtures.url("tiny-bert/heads/sequence-classification"))
    model.mapProjections { AffineProjection(inner: $1, scale: 1, offset: 0) }
    #expect(model.classifier is AffineProjection)
    try HeadParityTests.checkLogitsHead(
      "sequence-classification", backend, model, forward: { $0($1, context: &$2) },
      loss: { sequenceClassificationLoss(logits: $0, labels: try $1.ints("labels")) })
  }

  struct Refusal: Error {}

  @Test func anErrorOfTheTransformPropagates() throws {
    var model = BertModel(config: try Self.tinyConfig())
    #expect(throws: Refusal.self) {
      try model.mapProjections { key, projection in
        if key == "encoder.layer.1.intermediate.dense" { throw Refusal() }
        return projection
      }
    }
  }

  /// A projection of other sizes is refused with the slot and both sizes,
  /// whether it comes through mapProjections or by assignment.
  @Test func aProjectionThatDoesNotFitIsRefused() async {
    let mapped = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      var model = BertModel(
        config: BertConfig(
          vocabularySize: 10, hiddenSize: 8, hiddenLayerCount: 1, attentionHeadCount: 2,
          intermediateSize: 12, maxPositionEmbeddings: 8))
      var generator = SeededGenerator(seed: 0)
      model.mapProjections { key, projection in
        guard key == "encoder.layer.0.intermediate.dense" else { return projection }
        return Linear(inputSize: 8, outputSize: 5, standardDeviation: 0.02, generator: &generator)
      }
    }
    if let mapped {
      let message = String(decoding: mapped.standardErrorContent, as: UTF8.self)
      #expect(
        message.contains(
          "BertIntermediate.dense: a replacement must map 8 → 12 features, as the projection it "
            + "replaces; this Linear maps 8 → 5"), "\(message)")
    }
    let assigned = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let bert = BertModel(
        config: BertConfig(
          vocabularySize: 10, hiddenSize: 8, hiddenLayerCount: 1, attentionHeadCount: 2,
          intermediateSize: 12, maxPositionEmbeddings: 8))
      var head = BertForQuestionAnswering(bert: bert)
      head.qaOutputs = Linear(weight: Tensor(zeros: [2, 7]), bias: nil)
    }
    if let assigned {
      let message = String(decoding: assigned.standardErrorContent, as: UTF8.self)
      #expect(
        message.contains("BertForQuestionAnswering.qaOutputs: a replacement must map 8 → 2"),
        "\(message)")
    }
  }

  /// The sequence head's kind is fixed: its MLP layer can be replaced, not removed.
  @Test func theSequenceHeadKeepsItsKind() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let bert = BertModel(
        config: BertConfig(
          vocabularySize: 10, hiddenSize: 8, hiddenLayerCount: 1, attentionHeadCount: 2,
          intermediateSize: 12, maxPositionEmbeddings: 8), hasPooler: false)
      var head = BertForSequenceClassification(bert: bert, labelCount: 2, head: .clsMLP)
      head.preClassifier = nil
    }
    if let result {
      let message = String(decoding: result.standardErrorContent, as: UTF8.self)
      #expect(
        message.contains("BertForSequenceClassification.preClassifier: the cls-mlp head keeps"),
        "\(message)")
    }
  }
}
