import Tensors
import Testing

/// Checks the analytic gradients of `function` against central differences.
///
/// The scalar objective is L = Σᵢ f(x)ᵢ · cᵢ with a fixed random cotangent c,
/// summed in Double, so every output element contributes with its own weight.
/// For each input element xⱼ the numerical derivative is
/// (L(xⱼ + h) − L(xⱼ − h)) / 2h, whose truncation error is O(h²) and whose
/// rounding error is about ε_float·|L| / h; the default h = 1e-2 balances the two
/// for the small, well-scaled shapes these checks use.
///
/// - Parameters:
///   - inputs: the point to differentiate at. Each becomes a ``Parameter``.
///   - checking: the indices of the inputs whose gradients to check (default: all).
///   - function: the op under test, mapping the inputs to any tensor.
public func checkGradients(
  _ inputs: [Tensor], checking: [Int]? = nil, step: Float = 1e-2,
  rtol: Float = 2e-2, atol: Float = 2e-3, seed: UInt64 = 7,
  sourceLocation: SourceLocation = #_sourceLocation,
  _ function: ([Tensor]) -> Tensor
) {
  let parameters = inputs.enumerated().map { Parameter($0.element, name: "input\($0.offset)") }
  let output = function(parameters.map(\.value))
  var generator = SeededGenerator(seed: seed)
  let cotangent = Tensor.randomNormal(shape: output.shape, generator: &generator)
  output.backward(gradient: cotangent)

  func objective(_ values: [Tensor]) -> Double {
    let result = withoutGradients { function(values) }
    return zip(result.scalars, cotangent.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
  }

  for index in checking ?? Array(inputs.indices) {
    let analytic =
      parameters[index].grad?.scalars ?? [Float](repeating: 0, count: inputs[index].count)
    var numeric = [Float](repeating: 0, count: inputs[index].count)
    var values = inputs
    for element in 0..<inputs[index].count {
      let original = inputs[index].scalars[element]
      values[index].withUnsafeMutableBufferPointer { $0[element] = original + step }
      let plus = objective(values)
      values[index].withUnsafeMutableBufferPointer { $0[element] = original - step }
      let minus = objective(values)
      values[index].withUnsafeMutableBufferPointer { $0[element] = original }
      numeric[element] = Float((plus - minus) / (2 * Double(step)))
    }
    expectClose(
      analytic, numeric, rtol: rtol, atol: atol, "gradient of input \(index):",
      sourceLocation: sourceLocation)
  }
}
