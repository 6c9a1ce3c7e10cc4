/// The activation applied in a quantized linear layer's output pass, on each
/// block of the output while it is still in cache.
public enum FusedActivation: Sendable, Equatable {
  /// None: y = x·Wᵀ + b.
  case none
  /// gelu(x·Wᵀ + b), with the formulas of ``Tensor/gelu(approximate:)``: the
  /// exact erf form, or the tanh form when `approximate`.
  case gelu(approximate: Bool = false)
}
