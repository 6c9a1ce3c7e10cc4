// B batch, T tokens, H hidden.

/// BERT with one fully connected layer that scores every token as the start and
/// the end of an answer span. Mirrors Hugging Face's
/// `BertForQuestionAnswering` (no pooler): `qa_outputs` [2, H].
public struct BertForQuestionAnswering: Layer {
  public var bert: BertModel  // "bert"
  public var qaOutputs: any LinearProjection {  // "qa_outputs"  [2, H]
    didSet {
      ensureFits(qaOutputs, replacing: oldValue, slot: "BertForQuestionAnswering.qaOutputs")
    }
  }

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

  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {
    try bert.mapProjections(under: "bert", transform)
    qaOutputs = try transform("qa_outputs", qaOutputs)
  }

  public mutating func mapEmbeddingTables(_ transform: EmbeddingTableTransform) rethrows {
    try bert.mapEmbeddingTables(under: "bert", transform)
  }
}
