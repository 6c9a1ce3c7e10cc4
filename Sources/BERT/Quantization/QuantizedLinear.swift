// B… any leading dimensions, in and out the layer's sizes.

/// A fully connected layer on int8, y = x·Wᵀ + b: the ``LinearProjection``
/// of ``Precision/int8``.
///
/// W [out, in] is quantized once, symmetric, with one scale per output row
/// (`QuantizedMatrix`); each row of x is quantized when it arrives
/// (`Tensor.quantizedLinear`), the products are summed exactly in Int32, and
/// the dequantization, the bias and a following GELU run in one output pass.
/// Inference only: it holds no trainable ``Parameter``s, and its input must not
/// be tracked by autograd (run under `withoutGradients`).
public struct QuantizedLinear: LinearProjection {
  /// The quantized weight, [out, in].
  public let weight: QuantizedMatrix
  /// [out], or nil; kept in Float32.
  public let bias: Tensor?

  /// Quantizes a float32 layer's weight; its bias is kept as it is.
  public init(quantizing linear: Linear) {
    self.init(
      weight: QuantizedMatrix(quantizing: linear.weight.value), bias: linear.bias?.value)
  }

  /// A layer from a weight quantized already (an int8 checkpoint).
  public init(weight: QuantizedMatrix, bias: Tensor?) {
    if let bias {
      ensure(
        bias.shape == [weight.outputSize],
        "QuantizedLinear: bias \(bias.shape) for weight [\(weight.outputSize), \(weight.inputSize)]"
      )
    }
    self.weight = weight
    self.bias = bias
  }

  public var inputSize: Int { weight.inputSize }
  public var outputSize: Int { weight.outputSize }

  /// x [B…, in] → [B…, out]
  public func callAsFunction(_ x: Tensor) -> Tensor {
    x.quantizedLinear(weight, bias: bias)  // [B…, out]
  }

  /// GELU(x·Wᵀ + b), x [B…, in] → [B…, out], the GELU applied in the output pass.
  public func gelu(_ x: Tensor, approximate: Bool) -> Tensor {
    x.quantizedLinear(weight, bias: bias, activation: .gelu(approximate: approximate))  // [B…, out]
  }

  /// No trainable parameters: an int8 layer is not trained.
  public var namedParameters: [(key: String, parameter: Parameter)] { [] }

  /// A projection holds no other projection: its owner replaces it.
  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {}
}
