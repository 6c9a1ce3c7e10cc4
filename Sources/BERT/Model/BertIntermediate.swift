// B batch, T tokens, H hidden, I intermediate size.

/// The feed-forward expansion with its activation. Mirrors Hugging Face's
/// `BertIntermediate`; keys under `intermediate.`.
public struct BertIntermediate: Layer {
  public let dense: Linear  // "dense"  [I, H]
  let activation: BertConfig.Activation

  public init(config: BertConfig, generator: inout SeededGenerator) {
    dense = Linear(
      inputSize: config.hiddenSize, outputSize: config.intermediateSize,
      standardDeviation: config.initializerRange, generator: &generator)
    activation = config.hiddenActivation
  }

  /// [B, T, H] → [B, T, I]. GELU is fused with the bias add.
  public func callAsFunction(_ hidden: Tensor) -> Tensor {
    if let product = productBeforeGELU(hidden) {  // [B, T, I]
      return product.biasGELU(bias: dense.bias!.value, approximate: activation.isApproximateGELU)
    }
    return activation == .relu ? dense(hidden).relu() : dense(hidden).tanh()  // [B, T, I]
  }

  /// The expansion before its bias and GELU, [B, T, H] → [B, T, I], for
  /// ``BertLayer``'s fused feed-forward path; nil for other activations.
  func productBeforeGELU(_ hidden: Tensor) -> Tensor? {
    guard activation.isGELU else { return nil }
    return hidden.linear(weight: dense.weight.value, bias: nil)  // [B, T, I]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] { prefixed("dense", dense) }
}
