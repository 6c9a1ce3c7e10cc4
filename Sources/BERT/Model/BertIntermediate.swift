// B batch, T tokens, H hidden, I intermediate size.

/// The feed-forward expansion with its activation. Mirrors Hugging Face's
/// `BertIntermediate`; keys under `intermediate.`.
public struct BertIntermediate: Layer {
  public var dense: any LinearProjection {  // "dense"  [I, H]
    didSet { ensureFits(dense, replacing: oldValue, slot: "BertIntermediate.dense") }
  }
  let activation: BertConfig.Activation

  public init(config: BertConfig, generator: inout SeededGenerator) {
    dense = Linear(
      inputSize: config.hiddenSize, outputSize: config.intermediateSize,
      standardDeviation: config.initializerRange, generator: &generator)
    activation = config.hiddenActivation
  }

  /// activation(dense(hidden)), [B, T, H] → [B, T, I]. GELU comes from the
  /// projection's own `gelu`, which fuses it with the bias add.
  public func callAsFunction(_ hidden: Tensor) -> Tensor {
    if activation.isGELU {
      return dense.gelu(hidden, approximate: activation.isApproximateGELU)  // [B, T, I]
    }
    return activation == .relu ? dense(hidden).relu() : dense(hidden).tanh()  // [B, T, I]
  }

  /// next(activation(dense(hidden))), [B, T, H] → [B, T, next.out]: the
  /// feed-forward block up to the projection after it. GELU goes through
  /// `dense.gelu(_:approximate:then:)`, which may fuse it with `next`
  /// (``Linear`` does when `next` is a `Linear`).
  public func callAsFunction(_ hidden: Tensor, then next: any LinearProjection) -> Tensor {
    guard activation.isGELU else { return next(self(hidden)) }  // [B, T, next.out]
    let approximate = activation.isApproximateGELU
    return dense.gelu(hidden, approximate: approximate, then: next)  // [B, T, next.out]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] { prefixed("dense", dense) }

  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {
    dense = try transform("dense", dense)
  }
}
