// B batch, T tokens, H hidden, C labels.

/// BERT with one fully connected layer on the `[CLS]` representation, for
/// single texts and text pairs: classification with C > 1 labels, regression
/// with C = 1. By default it mirrors Hugging Face's
/// `BertForSequenceClassification`: pooler → dropout → `classifier`; the
/// encoder's keys are under `bert.`. ``SequenceClassifierHead/clsMLP`` puts a
/// new hidden layer before `classifier` instead of the pooler.
public struct BertForSequenceClassification: Layer {
  public var bert: BertModel  // "bert"
  /// The MLP's hidden layer of the `cls-mlp` head; nil for the pooler head.
  /// A replacement keeps the head's kind: it cannot be set to nil, nor from nil.
  public var preClassifier: (any LinearProjection)? {  // "pre_classifier"  [H, H]
    didSet {
      let slot = "BertForSequenceClassification.preClassifier"
      switch (preClassifier, oldValue) {
      case (nil, nil): break
      case (let replacement?, let original?):
        ensureFits(replacement, replacing: original, slot: slot)
      default:
        ensureFailure(
          "\(slot): the \(oldValue == nil ? "pooler" : "cls-mlp") head keeps its kind; "
            + "build a new head to change it")
      }
    }
  }
  public var classifier: any LinearProjection {  // "classifier"  [C, H]
    didSet {
      ensureFits(classifier, replacing: oldValue, slot: "BertForSequenceClassification.classifier")
    }
  }
  let dropoutProbability: Float

  /// Why a pooler head refuses a `bert` without pooler.
  private static let needsPooler =
    "BertForSequenceClassification's pooler head needs a model with a pooler"

  /// A head on `bert`, with a freshly initialised classifier (and MLP layer).
  /// The pooler head needs a `bert` with a pooler.
  public init(
    bert: BertModel, labelCount: Int, head: SequenceClassifierHead = .pooler, seed: UInt64 = 0
  ) {
    ensure(head != .pooler || bert.pooler != nil, Self.needsPooler)
    self.bert = bert
    classifier = bert.config.newClassifier(labelCount: labelCount, seed: seed)
    dropoutProbability = bert.config.classifierDropoutProbability
    if head == .clsMLP {
      var generator = SeededGenerator(seed: seed &+ 0x5EED)
      preClassifier = Linear(
        inputSize: bert.config.hiddenSize, outputSize: bert.config.hiddenSize,
        standardDeviation: bert.config.initializerRange, generator: &generator)
    } else {
      preClassifier = nil
    }
  }

  /// The number of outputs, C.
  public var labelCount: Int { classifier.outputSize }

  /// The layers between the encoder and `classifier`.
  public var head: SequenceClassifierHead { preClassifier == nil ? .pooler : .clsMLP }

  /// batch [B, T] → logits [B, C]
  public func callAsFunction(_ batch: TextBatch, context: inout ForwardContext) -> Tensor {
    let output = bert(batch, context: &context)
    guard let preClassifier else {
      guard let pooled = output.poolerOutput else { ensureFailure(Self.needsPooler) }  // [B, H]
      return classifier(context.dropout(pooled, dropoutProbability))  // [B, C]
    }
    let cls = output.lastHiddenState.firstTokens()  // [B, H]
    let hidden = preClassifier(cls).relu()  // [B, H]
    return classifier(context.dropout(hidden, dropoutProbability))  // [B, C]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    prefixed("bert", bert) + (preClassifier.map { prefixed("pre_classifier", $0) } ?? [])
      + prefixed("classifier", classifier)
  }

  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {
    try bert.mapProjections(under: "bert", transform)
    preClassifier = try preClassifier.map { try transform("pre_classifier", $0) }
    classifier = try transform("classifier", classifier)
  }

  public mutating func mapEmbeddingTables(_ transform: EmbeddingTableTransform) rethrows {
    try bert.mapEmbeddingTables(under: "bert", transform)
  }
}
