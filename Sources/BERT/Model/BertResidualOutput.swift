// B batch, T tokens, H hidden, I intermediate size.

/// A projection back to H, dropout, and the residual LayerNorm:
/// LayerNorm(dropout(dense(x)) + input). Hugging Face has it twice, as
/// `BertSelfOutput` after attention (x is H wide) and as `BertOutput` after the
/// feed-forward expansion (x is I wide); keys `dense` and `LayerNorm`.
public struct BertResidualOutput: Layer {
  public var dense: any LinearProjection {  // "dense"  [H, in]
    didSet { ensureFits(dense, replacing: oldValue, slot: "BertResidualOutput.dense") }
  }
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

  /// LayerNorm(dropout(dense(intermediate(hidden))) + hidden): the
  /// feed-forward block, hidden [B, T, H] → [B, T, H]. `intermediate` hands
  /// its activation to `dense` itself, so the two may fuse.
  public func callAsFunction(
    expanding hidden: Tensor, through intermediate: BertIntermediate,
    context: inout ForwardContext
  ) -> Tensor {
    let projected = intermediate(hidden, then: dense)  // [B, T, H]
    return finish(projected, input: hidden, context: &context)  // [B, T, H]
  }

  /// Dropout and the residual LayerNorm on an already projected x [B, T, H].
  private func finish(_ projected: Tensor, input: Tensor, context: inout ForwardContext) -> Tensor {
    layerNorm(context.dropout(projected, dropoutProbability), residual: input)  // [B, T, H]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    prefixed("dense", dense) + prefixed("LayerNorm", layerNorm)
  }

  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {
    dense = try transform("dense", dense)
  }
}

/// The feed-forward contraction, dropout, and the residual LayerNorm.
/// Mirrors Hugging Face's `BertOutput`; keys under `output.`.
public typealias BertOutput = BertResidualOutput

/// The projection after attention, dropout, and the residual LayerNorm.
/// Mirrors Hugging Face's `BertSelfOutput`; keys under `attention.output.`.
/// It is the same block as ``BertOutput`` with an H-wide input.
public typealias BertSelfOutput = BertResidualOutput
