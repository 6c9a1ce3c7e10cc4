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

/// A projection back to H, dropout, and the residual LayerNorm:
/// LayerNorm(dropout(dense(x)) + input). Hugging Face has it twice, as
/// `BertSelfOutput` after attention (x is H wide) and as `BertOutput` after the
/// feed-forward expansion (x is I wide); keys `dense` and `LayerNorm`.
public struct BertResidualOutput: Layer {
  public let dense: Linear  // "dense"  [H, in]
  public let layerNorm: LayerNormalization  // "LayerNorm"
  let dropoutProbability: Float

  public init(inputSize: Int, config: BertConfig, generator: inout SeededGenerator) {
    dense = Linear(
      inputSize: inputSize, outputSize: config.hiddenSize,
      standardDeviation: config.initializerRange, generator: &generator)
    layerNorm = LayerNormalization(size: config.hiddenSize, epsilon: config.layerNormEpsilon)
    dropoutProbability = config.hiddenDropoutProbability
  }

  /// x [B, T, in] and input [B, T, H] → [B, T, H]
  public func callAsFunction(
    _ x: Tensor, input: Tensor, context: inout ForwardContext
  ) -> Tensor {
    finish(dense(x), input: input, context: &context)  // [B, T, H]
  }

  /// Dropout and the residual LayerNorm on an already projected x [B, T, H].
  func finish(_ projected: Tensor, input: Tensor, context: inout ForwardContext) -> Tensor {
    layerNorm(context.dropout(projected, dropoutProbability), residual: input)  // [B, T, H]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    prefixed("dense", dense) + prefixed("LayerNorm", layerNorm)
  }
}

/// The feed-forward contraction, dropout, and the residual LayerNorm.
/// Mirrors Hugging Face's `BertOutput`; keys under `output.`.
public typealias BertOutput = BertResidualOutput

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

/// The stack of transformer layers. Mirrors Hugging Face's `BertEncoder`;
/// keys under `encoder.`.
public struct BertEncoder: Layer {
  public let layers: [BertLayer]  // "layer.<i>"

  public init(config: BertConfig, generator: inout SeededGenerator) {
    layers = (0..<config.hiddenLayerCount).map { _ in
      BertLayer(config: config, generator: &generator)
    }
  }

  /// hidden [B, T, H], additiveMask [B, T] → [B, T, H]
  public func callAsFunction(
    _ hidden: Tensor, additiveMask: Tensor, context: inout ForwardContext
  ) -> Tensor {
    var state = hidden  // [B, T, H]
    for layer in layers { state = layer(state, additiveMask: additiveMask, context: &context) }
    return state
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    layers.enumerated().flatMap { prefixed("layer.\($0.offset)", $0.element) }
  }
}

/// A dense layer and tanh on the first token's hidden state. Mirrors Hugging
/// Face's `BertPooler`; keys under `pooler.`.
public struct BertPooler: Layer {
  public let dense: Linear  // "dense"  [H, H]

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
}

extension Tensor {
  /// The first position of every sequence: [B, T, H] → [B, H].
  public func firstTokens() -> Tensor {
    let (b, t, h) = (shape[0], shape[1], shape[2])
    return reshaped([b * t, h]).gatherRows((0..<b).map { $0 * t })  // [B, H]
  }
}
