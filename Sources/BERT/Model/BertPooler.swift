// B batch, T tokens, H hidden.

/// A dense layer and tanh on the first token's hidden state. Mirrors Hugging
/// Face's `BertPooler`; keys under `pooler.`.
public struct BertPooler: Layer {
  public var dense: any LinearProjection {  // "dense"  [H, H]
    didSet { ensureFits(dense, replacing: oldValue, slot: "BertPooler.dense") }
  }

  public init(config: BertConfig, generator: inout SeededGenerator) {
    dense = Linear(
      inputSize: config.hiddenSize, outputSize: config.hiddenSize,
      standardDeviation: config.initializerRange, generator: &generator)
  }

  /// hidden [B, T, H] → tanh(dense(hidden[:, 0])) [B, H]
  public func callAsFunction(_ hidden: Tensor) -> Tensor {
    dense(hidden.firstTokens()).tanh()  // [B, H]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] { prefixed("dense", dense) }

  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {
    dense = try transform("dense", dense)
  }
}
