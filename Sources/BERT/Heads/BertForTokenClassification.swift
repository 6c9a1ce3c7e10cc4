// B batch, T tokens, H hidden, C labels.

/// BERT with one fully connected layer on every token, for tagging.
/// Mirrors Hugging Face's `BertForTokenClassification` (no pooler): dropout →
/// `classifier`; the encoder's keys are under `bert.`.
public struct BertForTokenClassification: Layer {
  public var bert: BertModel  // "bert"
  public var classifier: any LinearProjection {  // "classifier"  [C, H]
    didSet {
      ensureFits(classifier, replacing: oldValue, slot: "BertForTokenClassification.classifier")
    }
  }
  let dropoutProbability: Float

  public init(bert: BertModel, labelCount: Int, seed: UInt64 = 0) {
    self.bert = bert
    classifier = bert.config.newClassifier(labelCount: labelCount, seed: seed)
    dropoutProbability = bert.config.classifierDropoutProbability
  }

  /// The number of tags, C.
  public var labelCount: Int { classifier.outputSize }

  /// batch [B, T] → logits [B, T, C]
  public func callAsFunction(_ batch: TextBatch, context: inout ForwardContext) -> Tensor {
    let hidden = bert(batch, context: &context).lastHiddenState  // [B, T, H]
    return classifier(context.dropout(hidden, dropoutProbability))  // [B, T, C]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    prefixed("bert", bert) + prefixed("classifier", classifier)
  }

  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {
    try bert.mapProjections(under: "bert", transform)
    classifier = try transform("classifier", classifier)
  }

  public mutating func mapEmbeddingTables(_ transform: EmbeddingTableTransform) rethrows {
    try bert.mapEmbeddingTables(under: "bert", transform)
  }
}
