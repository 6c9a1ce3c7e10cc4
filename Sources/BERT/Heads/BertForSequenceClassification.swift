// B batch, T tokens, H hidden, C labels.

/// BERT with one fully connected layer on the pooled `[CLS]` state, for single
/// texts and text pairs: classification with C > 1 labels, regression with C = 1.
/// Mirrors Hugging Face's `BertForSequenceClassification`: pooler → dropout →
/// `classifier`; the encoder's keys are under `bert.`.
public struct BertForSequenceClassification: Layer {
  public let bert: BertModel  // "bert"
  public let classifier: Linear  // "classifier"  [C, H]
  let dropoutProbability: Float

  /// A head on `bert`, with a freshly initialised classifier.
  public init(bert: BertModel, labelCount: Int, seed: UInt64 = 0) {
    ensure(bert.pooler != nil, "BertForSequenceClassification needs a model with a pooler")
    self.bert = bert
    (classifier, dropoutProbability) = makeClassifier(
      bert.config, labelCount: labelCount, seed: seed)
  }

  /// The number of outputs, C.
  public var labelCount: Int { classifier.weight.value.shape[0] }

  /// batch [B, T] → logits [B, C]
  public func callAsFunction(_ batch: TextBatch, context: inout ForwardContext) -> Tensor {
    let pooled = bert(batch, context: &context).poolerOutput!  // [B, H]
    return classifier(context.dropout(pooled, dropoutProbability))  // [B, C]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    prefixed("bert", bert) + prefixed("classifier", classifier)
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
