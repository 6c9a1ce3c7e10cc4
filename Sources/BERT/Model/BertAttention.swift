// B batch, T tokens, H hidden.

/// Self-attention and its output block. Mirrors Hugging Face's
/// `BertAttention`; keys under `attention.`.
public struct BertAttention: Layer {
  public var selfAttention: BertSelfAttention  // "self"
  public var output: BertSelfOutput  // "output"

  public init(config: BertConfig, generator: inout SeededGenerator) {
    selfAttention = BertSelfAttention(config: config, generator: &generator)
    output = BertSelfOutput(inputSize: config.hiddenSize, config: config, generator: &generator)
  }

  /// hidden [B, T, H], additiveMask [B, T] → [B, T, H]
  public func callAsFunction(
    _ hidden: Tensor, additiveMask: Tensor, context: inout ForwardContext
  ) -> Tensor {
    // [B, T, H]
    let attended = selfAttention(hidden, additiveMask: additiveMask, context: &context)
    return output(attended, input: hidden, context: &context)  // [B, T, H]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    prefixed("self", selfAttention) + prefixed("output", output)
  }

  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {
    try selfAttention.mapProjections(under: "self", transform)
    try output.mapProjections(under: "output", transform)
  }
}
