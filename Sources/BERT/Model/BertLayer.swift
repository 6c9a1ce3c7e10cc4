// B batch, T tokens, H hidden, I intermediate size.

/// One transformer layer: attention, then the feed-forward block. Mirrors
/// Hugging Face's `BertLayer`; keys under `encoder.layer.<i>.`.
public struct BertLayer: Layer {
  public let attention: BertAttention  // "attention"
  public let intermediate: BertIntermediate  // "intermediate"
  public let output: BertOutput  // "output"

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
    guard let product = intermediate.productBeforeGELU(attended) else {
      let expanded = intermediate(attended)  // [B, T, I]
      return output(expanded, input: attended, context: &context)  // [B, T, H]
    }
    // output.dense(GELU(product + intermediate bias)), keeping only product for backward.
    let projected = product.biasGELULinear(
      bias: intermediate.dense.bias!.value,
      approximate: intermediate.activation.isApproximateGELU,
      weight: output.dense.weight.value, outputBias: output.dense.bias?.value)  // [B, T, H]
    return output.finish(projected, input: attended, context: &context)  // [B, T, H]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    prefixed("attention", attention) + prefixed("intermediate", intermediate)
      + prefixed("output", output)
  }
}
