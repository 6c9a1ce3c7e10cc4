// B batch, T tokens, H hidden, C labels.

/// BERT with one fully connected layer on the `[CLS]` representation, for
/// single texts and text pairs: classification with C > 1 labels, regression
/// with C = 1. By default it mirrors Hugging Face's
/// `BertForSequenceClassification`: pooler → dropout → `classifier`; the
/// encoder's keys are under `bert.`. ``SequenceClassifierHead/clsMLP`` puts a
/// new hidden layer before `classifier` instead of the pooler.
public struct BertForSequenceClassification: Layer {
  public let bert: BertModel  // "bert"
  /// The MLP's hidden layer of the `cls-mlp` head; nil for the pooler head.
  public let preClassifier: Linear?  // "pre_classifier"  [H, H]
  public let classifier: Linear  // "classifier"  [C, H]
  let dropoutProbability: Float

  /// A head on `bert`, with a freshly initialised classifier (and MLP layer).
  /// The pooler head needs a `bert` with a pooler.
  public init(
    bert: BertModel, labelCount: Int, head: SequenceClassifierHead = .pooler, seed: UInt64 = 0
  ) {
    ensure(
      head != .pooler || bert.pooler != nil,
      "BertForSequenceClassification's pooler head needs a model with a pooler")
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
  public var labelCount: Int { classifier.weight.value.shape[0] }

  /// The layers between the encoder and `classifier`.
  public var head: SequenceClassifierHead { preClassifier == nil ? .pooler : .clsMLP }

  /// batch [B, T] → logits [B, C]
  public func callAsFunction(_ batch: TextBatch, context: inout ForwardContext) -> Tensor {
    let output = bert(batch, context: &context)
    guard let preClassifier else {
      let pooled = output.poolerOutput!  // [B, H]
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
}
