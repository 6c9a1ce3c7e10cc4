// The int8 linear layer's forward pass: quantize rows, int32 GEMM, and one
// fused output pass (dequantize, bias, activation). Inference only.
//
// R rows (every leading dimension flattened, one per token), K inputs, N outputs
//   x [R…, K] → q [R, K] (u8, scale sA and zero point z per row)
//   C = (q − z)·Wqᵀ [R, N] in int32 (Wq [N, K] s8, scale sW per output)
//   y = C · sA[i] · sW[j] + b[j], then the activation → [R…, N]

extension Tensor {
  /// A fully connected layer on int8: y = act(x·Wᵀ + b), with W quantized per
  /// output row and x quantized per row on the fly.
  ///
  /// Each row of x is quantized by ``QuantizedActivations``' rule, the
  /// products are summed exactly in Int32 by ``Int8GEMM``, and one output pass
  /// computes float(C) · (sA · sW) + b (in that order, without fused
  /// multiply-add) and applies the activation. The result differs from
  /// ``linear(weight:bias:)`` on the float weight only by the quantization of
  /// x and W.
  ///
  /// Inference only: nothing is recorded. A tracked input or bias while
  /// gradients are recorded is refused (run under ``withoutGradients(_:)``).
  ///
  /// - Parameters:
  ///   - weight: the quantized weight, [out, in].
  ///   - bias: [out], or nil.
  ///   - activation: ``FusedActivation/none`` or ``FusedActivation/gelu(approximate:)``.
  /// - Returns: [R…, out] for self [R…, in].
  public func quantizedLinear(
    _ weight: QuantizedMatrix, bias: Tensor? = nil, activation: FusedActivation = .none
  ) -> Tensor {
    if GradientMode.isEnabled {
      ensure(
        !isTracked && !(bias?.isTracked ?? false),
        "quantizedLinear: the \(isTracked ? "input \(shape)" : "bias") is tracked by autograd, "
          + "but int8 layers are for inference only; run them under withoutGradients { … }")
    }
    ensure(
      rank >= 1 && shape[rank - 1] == weight.inputSize,
      "quantizedLinear: input \(shape) does not fit weight [\(weight.outputSize), \(weight.inputSize)] ([out, in])"
    )
    if let bias {
      ensure(
        bias.shape == [weight.outputSize],
        "quantizedLinear: bias \(bias.shape) for weight [\(weight.outputSize), \(weight.inputSize)]"
      )
    }
    let k = weight.inputSize
    let rows = Tensor.elementCount(Array(shape.dropLast()))
    let kernel = Int8GEMM.kernel  // read on this task, before the work fans out
    // [R, K] as 8-bit values, with a scale and a zero point per row
    let packed = PackedActivations(quantizing: self, rows: rows, depth: k, kernel: kernel)
    let y = Tensor(uninitializedShape: Array(shape.dropLast()) + [weight.outputSize])  // [R…, out]
    let product = Int8Product(
      activations: packed, weights: weight, kernel: kernel,
      output: .values(
        y.storage.pointer, bias: bias.map { UnsafePointer($0.storage.pointer) },
        activation: activation))
    product.run(
      threadCount: Compute.threadCount, minimumWorkPerThread: Int8GEMM.defaultMinimumWorkPerThread)
    withExtendedLifetime(bias) {}
    return y
  }
}
