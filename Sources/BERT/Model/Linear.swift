/// A fully connected layer, y = x·Wᵀ + b, with W stored [out, in] as in the checkpoint.
/// Mirrors `torch.nn.Linear`.
public struct Linear: Layer {
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

  /// x [B…, in] → [B…, out]
  public func callAsFunction(_ x: Tensor) -> Tensor {
    x.linear(weight: weight.value, bias: bias?.value)
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
  }
}
