// B batch, T tokens, H hidden.

/// What ``BertModel`` returns.
public struct BertModelOutput {
  /// The last layer's hidden states, [B, T, H].
  public var lastHiddenState: Tensor
  /// The pooler's output on `[CLS]`, [B, H]; nil for a model without pooler.
  public var poolerOutput: Tensor?
}

/// The BERT encoder: embeddings, N transformer layers and the optional pooler.
/// Mirrors Hugging Face's `BertModel`; its keys have no prefix
/// (`embeddings.…`, `encoder.layer.<i>.…`, `pooler.…`), and heads hold it under `bert.`.
public struct BertModel: Layer {
  public let config: BertConfig
  public var embeddings: BertEmbeddings  // "embeddings"
  public var encoder: BertEncoder  // "encoder"
  public var pooler: BertPooler?  // "pooler"

  /// A model with freshly initialised weights, as Hugging Face initialises them.
  public init(config: BertConfig, hasPooler: Bool = true, seed: UInt64 = 0) {
    var generator = SeededGenerator(seed: seed)
    self.config = config
    embeddings = BertEmbeddings(config: config, generator: &generator)
    encoder = BertEncoder(config: config, generator: &generator)
    pooler = hasPooler ? BertPooler(config: config, generator: &generator) : nil
  }

  /// Runs the encoder on a batch.
  ///
  /// - Parameters:
  ///   - batch: token ids, segment ids and attention mask, each [B, T].
  ///   - context: training or inference (the default: no dropout).
  /// - Returns: the last hidden states [B, T, H] and the pooled output [B, H].
  public func callAsFunction(
    _ batch: TextBatch, context: inout ForwardContext
  ) -> BertModelOutput {
    let mask = batch.additiveMask  // [B, T]
    let embedded = embeddings(batch, context: &context)  // [B, T, H]
    let hidden = encoder(embedded, additiveMask: mask, context: &context)  // [B, T, H]
    return BertModelOutput(lastHiddenState: hidden, poolerOutput: pooler?(hidden))
  }

  /// Runs the encoder for inference: no dropout, no autograd graph.
  public func callAsFunction(_ batch: TextBatch) -> BertModelOutput {
    var context = ForwardContext.inference
    return withoutGradients { self(batch, context: &context) }
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    prefixed("embeddings", embeddings) + prefixed("encoder", encoder)
      + (pooler.map { prefixed("pooler", $0) } ?? [])
  }

  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {
    try encoder.mapProjections(under: "encoder", transform)
    try pooler?.mapProjections(under: "pooler", transform)
  }

  public mutating func mapEmbeddingTables(_ transform: EmbeddingTableTransform) rethrows {
    try embeddings.mapEmbeddingTables(under: "embeddings", transform)
  }
}
