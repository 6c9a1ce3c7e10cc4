// B batch, T tokens, H hidden, C labels.

/// Which layers lie between the encoder and the classifier of a
/// ``BertForSequenceClassification``.
public enum SequenceClassifierHead: String, Codable, Sendable, CaseIterable {
  /// Hugging Face's `BertForSequenceClassification`: the pretrained pooler
  /// (dense + tanh on the `[CLS]` state) → dropout → `classifier`.
  case pooler
  /// The d2l variant: a new MLP on the `[CLS]` hidden state, laid out as
  /// DistilBERT's head: `pre_classifier` [H, H] → ReLU → dropout →
  /// `classifier`. The encoder's pooler is not used (nor loaded). Only this
  /// package reads it back: transformers' `BertForSequenceClassification`
  /// has no `pre_classifier`.
  case clsMLP = "cls-mlp"
}

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
    (classifier, dropoutProbability) = makeClassifier(
      bert.config, labelCount: labelCount, seed: seed)
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

/// BERT with one fully connected layer on every token, for tagging.
/// Mirrors Hugging Face's `BertForTokenClassification` (no pooler): dropout →
/// `classifier`; the encoder's keys are under `bert.`.
public struct BertForTokenClassification: Layer {
  public let bert: BertModel  // "bert"
  public let classifier: Linear  // "classifier"  [C, H]
  let dropoutProbability: Float

  public init(bert: BertModel, labelCount: Int, seed: UInt64 = 0) {
    self.bert = bert
    (classifier, dropoutProbability) = makeClassifier(
      bert.config, labelCount: labelCount, seed: seed)
  }

  /// The number of tags, C.
  public var labelCount: Int { classifier.weight.value.shape[0] }

  /// batch [B, T] → logits [B, T, C]
  public func callAsFunction(_ batch: TextBatch, context: inout ForwardContext) -> Tensor {
    let hidden = bert(batch, context: &context).lastHiddenState  // [B, T, H]
    return classifier(context.dropout(hidden, dropoutProbability))  // [B, T, C]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    prefixed("bert", bert) + prefixed("classifier", classifier)
  }
}

/// BERT with one fully connected layer that scores every token as the start and
/// the end of an answer span. Mirrors Hugging Face's
/// `BertForQuestionAnswering` (no pooler): `qa_outputs` [2, H].
public struct BertForQuestionAnswering: Layer {
  public let bert: BertModel  // "bert"
  public let qaOutputs: Linear  // "qa_outputs"  [2, H]

  public init(bert: BertModel, seed: UInt64 = 0) {
    var generator = SeededGenerator(seed: seed)
    self.bert = bert
    qaOutputs = Linear(
      inputSize: bert.config.hiddenSize, outputSize: 2,
      standardDeviation: bert.config.initializerRange, generator: &generator)
  }

  /// batch [B, T] → start and end logits, each [B, T]
  public func callAsFunction(
    _ batch: TextBatch, context: inout ForwardContext
  ) -> (start: Tensor, end: Tensor) {
    let (b, t) = (batch.batchSize, batch.sequenceLength)
    let hidden = bert(batch, context: &context).lastHiddenState  // [B, T, H]
    let scores = qaOutputs(hidden).reshaped([b * t, 2])  // [B·T, 2]
    let parts = scores.split(sizes: [1, 1], axis: 1)  // 2 × [B·T, 1]
    return (parts[0].reshaped([b, t]), parts[1].reshaped([b, t]))  // [B, T] each
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    prefixed("bert", bert) + prefixed("qa_outputs", qaOutputs)
  }
}

/// A new classification layer [C, H], initialised as Hugging Face does, and the
/// dropout before it (`classifier_dropout`, else the hidden dropout).
private func makeClassifier(_ config: BertConfig, labelCount: Int, seed: UInt64) -> (Linear, Float)
{
  var generator = SeededGenerator(seed: seed)
  let classifier = Linear(
    inputSize: config.hiddenSize, outputSize: labelCount,
    standardDeviation: config.initializerRange, generator: &generator)
  return (classifier, config.classifierDropout ?? config.hiddenDropoutProbability)
}
