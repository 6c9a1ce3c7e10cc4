// B batch, T tokens, H hidden, I intermediate size.

/// One transformer layer: attention, then the feed-forward block. Mirrors
/// Hugging Face's `BertLayer`; keys under `encoder.layer.<i>.`.
public struct BertLayer: Layer {
  public var attention: BertAttention  // "attention"
  public var intermediate: BertIntermediate  // "intermediate"
  public var output: BertOutput  // "output"

  public init(config: BertConfig, generator: inout SeededGenerator) {
    attention = BertAttention(config: config, generator: &generator)
    intermediate = BertIntermediate(config: config, generator: &generator)
    output = BertOutput(inputSize: config.intermediateSize, config: config, generator: &generator)
  }

  /// hidden [B, T, H], additiveMask [B, T] → [B, T, H]
  public func callAsFunction(
    _ hidden: Tensor, additiveMask: Tensor, context: inout ForwardContext
  ) -> Tensor {
    let attended = attention(hidden, additiveMask: additiveMask, context: &context)  // [B, T, H]
    return output(expanding: attended, through: intermediate, context: &context)  // [B, T, H]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    prefixed("attention", attention) + prefixed("intermediate", intermediate)
      + prefixed("output", output)
  }

  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {
    try attention.mapProjections(under: "attention", transform)
    try intermediate.mapProjections(under: "intermediate", transform)
    try output.mapProjections(under: "output", transform)
  }
}
