// B batch, T tokens, H hidden.

/// Word, position and segment embeddings, summed, then LayerNorm and dropout.
/// Mirrors Hugging Face's `BertEmbeddings`; keys under `embeddings.`.
public struct BertEmbeddings: Layer {
  /// float32 (``Embedding``) or int8 rows (``QuantizedEmbedding``); set
  /// through ``mapEmbeddingTables(_:)``.
  public private(set) var wordEmbeddings: any EmbeddingTable  // "word_embeddings"  [V, H]
  public let positionEmbeddings: Embedding  // "position_embeddings"  [P, H]
  public let tokenTypeEmbeddings: Embedding  // "token_type_embeddings"  [S, H]
  public let layerNorm: LayerNormalization  // "LayerNorm"
  let dropoutProbability: Float

  public init(config: BertConfig, generator: inout SeededGenerator) {
    let std = config.initializerRange
    wordEmbeddings = Embedding(
      count: config.vocabularySize, size: config.hiddenSize, paddingIndex: config.padTokenID,
      standardDeviation: std, generator: &generator)
    positionEmbeddings = Embedding(
      count: config.maxPositionEmbeddings, size: config.hiddenSize, standardDeviation: std,
      generator: &generator)
    tokenTypeEmbeddings = Embedding(
      count: config.typeVocabularySize, size: config.hiddenSize, standardDeviation: std,
      generator: &generator)
    layerNorm = LayerNormalization(size: config.hiddenSize, epsilon: config.layerNormEpsilon)
    dropoutProbability = config.hiddenDropoutProbability
  }

  /// The embedded batch, [B, T, H]. Positions count from 0 in every sequence.
  public func callAsFunction(_ batch: TextBatch, context: inout ForwardContext) -> Tensor {
    let (b, t) = (batch.batchSize, batch.sequenceLength)
    let hidden = wordEmbeddings.size
    let maxPositions = positionEmbeddings.weight.value.shape[0]
    ensure(
      t <= maxPositions,
      "BertEmbeddings: sequence length \(t) exceeds max_position_embeddings \(maxPositions)")
    let positions = (0..<b).flatMap { _ in 0..<t }
    let words = wordEmbeddings(batch.inputIDs)  // [B·T, H]
    let placed = positionEmbeddings(positions)  // [B·T, H]
    let segments = tokenTypeEmbeddings(batch.tokenTypeIDs)  // [B·T, H]
    let summed = layerNorm(words + placed, residual: segments)  // [B·T, H]
    return context.dropout(summed, dropoutProbability).reshaped([b, t, hidden])  // [B, T, H]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    prefixed("word_embeddings", wordEmbeddings)
      + prefixed("position_embeddings", positionEmbeddings)
      + prefixed("token_type_embeddings", tokenTypeEmbeddings) + prefixed("LayerNorm", layerNorm)
  }

  /// No projections: nothing to map.
  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {}

  public mutating func mapEmbeddingTables(_ transform: EmbeddingTableTransform) rethrows {
    let replacement = try transform("word_embeddings", wordEmbeddings)
    ensureFits(replacement, replacing: wordEmbeddings, slot: "BertEmbeddings.wordEmbeddings")
    wordEmbeddings = replacement
  }
}
