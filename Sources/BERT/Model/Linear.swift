// B… any leading dimensions, in and out the layer's sizes.

/// A fully connected layer, y = x·Wᵀ + b, with W stored [out, in] as in the checkpoint.
/// Mirrors `torch.nn.Linear`; the float32 ``LinearProjection``.
public struct Linear: LinearProjection {
  /// [out, in]
  public let weight: Parameter
  /// [out], or nil
  public let bias: Parameter?

  /// A layer initialised as Hugging Face's BERT does: W ~ N(0, std²), b = 0.
  public init(
    inputSize: Int, outputSize: Int, hasBias: Bool = true, standardDeviation: Float,
    generator: inout SeededGenerator
  ) {
    weight = Parameter(
      .randomNormal(
        shape: [outputSize, inputSize], standardDeviation: standardDeviation,
        generator: &generator))
    bias = hasBias ? Parameter(Tensor(zeros: [outputSize])) : nil
  }

  /// A layer with the given weight [out, in] and bias [out] (or none).
  public init(weight: Tensor, bias: Tensor?) {
    ensure(weight.rank == 2, "Linear: the weight must be [out, in], not \(weight.shape)")
    if let bias {
      ensure(
        bias.shape == [weight.shape[0]], "Linear: bias \(bias.shape) for weight \(weight.shape)")
    }
    self.weight = Parameter(weight)
    self.bias = bias.map { Parameter($0) }
  }

  public var inputSize: Int { weight.value.shape[1] }
  public var outputSize: Int { weight.value.shape[0] }

  /// x [B…, in] → [B…, out]
  public func callAsFunction(_ x: Tensor) -> Tensor {
    x.linear(weight: weight.value, bias: bias?.value)  // [B…, out]
  }

  /// GELU(x·Wᵀ + b), x [B…, in] → [B…, out], the bias added inside the GELU pass.
  public func gelu(_ x: Tensor, approximate: Bool) -> Tensor {
    let product = x.linear(weight: weight.value, bias: nil)  // [B…, out]
    guard let bias else { return product.gelu(approximate: approximate) }
    return product.biasGELU(bias: bias.value, approximate: approximate)  // [B…, out]
  }

  /// next(GELU(x·Wᵀ + b)), x [B…, in] → [B…, next.out]. When `next` is a
  /// `Linear` too (and this one has a bias), one op does the bias, the GELU
  /// and `next`'s product, and keeps only x·Wᵀ for backward, recomputing the
  /// GELU output there (`Tensor.biasGELULinear`). Any other `next` gets the
  /// GELU output through its own `callAsFunction`.
  public func gelu(_ x: Tensor, approximate: Bool, then next: any LinearProjection) -> Tensor {
    guard let second = next as? Linear, let bias else {
      return next(gelu(x, approximate: approximate))  // [B…, next.out]
    }
    let product = x.linear(weight: weight.value, bias: nil)  // [B…, out]
    return product.biasGELULinear(
      bias: bias.value, approximate: approximate, weight: second.weight.value,
      outputBias: second.bias?.value)  // [B…, next.out]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
  }

  /// A projection holds no other projection: its owner replaces it.
  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {}
}
