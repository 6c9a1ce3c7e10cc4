/// Layer normalisation over the last axis, with learned scale and shift.
/// Mirrors `torch.nn.LayerNorm`; the keys are `weight` and `bias` (legacy
/// checkpoints' `gamma` and `beta` are renamed on load).
public struct LayerNormalization: Layer {
  /// γ [H], initialised to ones.
  public let weight: Parameter
  /// β [H], initialised to zeros.
  public let bias: Parameter
  /// Added to the variance.
  public let epsilon: Float

  public init(size: Int, epsilon: Float) {
    weight = Parameter(Tensor(ones: [size]))
    bias = Parameter(Tensor(zeros: [size]))
    self.epsilon = epsilon
  }

  /// x [B…, H] → [B…, H]
  public func callAsFunction(_ x: Tensor) -> Tensor {
    x.layerNorm(gamma: weight.value, beta: bias.value, epsilon: epsilon)
  }

  /// LayerNorm(x + residual), fused. x and residual [B…, H] → [B…, H]
  public func callAsFunction(_ x: Tensor, residual: Tensor) -> Tensor {
    x.addingLayerNorm(residual, gamma: weight.value, beta: bias.value, epsilon: epsilon)
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    [("weight", weight), ("bias", bias)]
  }

  /// No projections: nothing to map.
  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {}
}
