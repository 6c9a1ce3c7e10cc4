import Foundation
import Tensors
import TestSupport
import Testing

@Suite struct LayerNormTests {
  /// Naive per-row LayerNorm in Double with the biased variance.
  static func reference(_ x: [Float], width: Int, gamma: Tensor, beta: Tensor, epsilon: Double)
    -> [Float]
  {
    var result = [Float]()
    for row in 0..<(x.count / width) {
      let values = x[(row * width)..<((row + 1) * width)].map(Double.init)
      let mean = values.reduce(0, +) / Double(width)
      let variance = values.reduce(0.0) { $0 + ($1 - mean) * ($1 - mean) } / Double(width)
      for (j, value) in values.enumerated() {
        let normalized = (value - mean) / (variance + epsilon).squareRoot()
        result.append(Float(normalized * Double(gamma.scalars[j]) + Double(beta.scalars[j])))
      }
    }
    return result
  }

  @Test(arguments: BackendKind.allAvailable)
  func layerNormMatchesReference(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 31)
    let width = 37
    let x = Tensor.randomNormal(shape: [2, 3, width], generator: &generator)
    // A large common offset: a one-pass E[x²] − E[x]² would lose every digit
    // here; the only error left is the Float rounding of the mean (ulp(1000) = 6·10⁻⁵).
    let offset = Tensor(shape: x.shape, scalars: x.scalars.map { $0 + 1000 })
    let residual = Tensor.randomNormal(shape: [2, 3, width], generator: &generator)
    let gamma = Tensor.randomNormal(shape: [width], mean: 1, generator: &generator)
    let beta = Tensor.randomNormal(shape: [width], generator: &generator)
    Compute.withBackend(backend) {
      let y = x.layerNorm(gamma: gamma, beta: beta, epsilon: 1e-12)
      #expect(y.shape == x.shape)
      expectClose(
        y.scalars,
        Self.reference(x.scalars, width: width, gamma: gamma, beta: beta, epsilon: 1e-12),
        rtol: 1e-4, atol: 1e-4, "layerNorm")
      // The reference reads the same Float inputs (already rounded at 1000), in Double.
      expectClose(
        offset.layerNorm(gamma: gamma, beta: beta, epsilon: 1e-12).scalars,
        Self.reference(offset.scalars, width: width, gamma: gamma, beta: beta, epsilon: 1e-12),
        rtol: 0, atol: 5e-4, "layerNorm of inputs offset by 1000")
      let sum = zip(x.scalars, residual.scalars).map { $0 + $1 }
      let expected = Self.reference(sum, width: width, gamma: gamma, beta: beta, epsilon: 1e-5)
      // Both paths: the sum kept for backward, and the in-place one under withoutGradients.
      let tracked = Parameter(x)
      let recorded = tracked.value.addingLayerNorm(
        residual, gamma: gamma, beta: beta, epsilon: 1e-5)
      let inference = withoutGradients {
        x.addingLayerNorm(residual, gamma: gamma, beta: beta, epsilon: 1e-5)
      }
      expectClose(recorded.scalars, expected, rtol: 1e-5, atol: 2e-6, "addingLayerNorm, recorded")
      expectClose(inference.scalars, expected, rtol: 1e-5, atol: 2e-6, "addingLayerNorm, inference")
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func layerNormGradients(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 32)
    let x = Tensor.randomNormal(shape: [3, 10], generator: &generator)
    let residual = Tensor.randomNormal(shape: [3, 10], generator: &generator)
    let gamma = Tensor.randomNormal(shape: [10], mean: 1, generator: &generator)
    let beta = Tensor.randomNormal(shape: [10], generator: &generator)
    Compute.withBackend(backend) {
      checkGradients([x, gamma, beta]) {
        $0[0].layerNorm(gamma: $0[1], beta: $0[2], epsilon: 1e-5)
      }
      checkGradients([x, residual, gamma, beta]) {
        $0[0].addingLayerNorm($0[1], gamma: $0[2], beta: $0[3], epsilon: 1e-5)
      }
    }
  }
}
