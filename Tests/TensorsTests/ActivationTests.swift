import Foundation
import TestSupport
import Testing

@testable import Tensors

@Suite struct ActivationTests {
  /// The vector erf against Foundation's erf in Double on a dense grid over
  /// [−6, 6] plus small and special values: max relative error ≤ 10⁻⁷ (measured 7.0·10⁻⁸).
  @Test func erfIsAccurate() {
    var worst = 0.0
    var worstAt: Float = 0
    var inputs: [Float] = (0...240_000).map { -6 + Float($0) * 5e-5 }
    inputs += [0, -0.0, 1e-30, -1e-20, 1e-7, 0.999_999_9, 1, 1.000_000_1, 3.9, 4, 10, -10]
    for x in inputs {
      let actual = Double(VectorMath.erf(x))
      let expected = Foundation.erf(Double(x))
      let error = expected == 0 ? abs(actual) : abs(actual - expected) / abs(expected)
      if error > worst {
        worst = error
        worstAt = x
      }
    }
    #expect(worst <= 1e-7, "max relative error of erf: \(worst) at x = \(worstAt)")
  }

  /// The vector exp and tanh against Foundation in Double.
  @Test func expAndTanhAreAccurate() {
    var worstExp = 0.0
    var worstTanh = 0.0
    for index in 0...100_000 {
      let x = -87 + Float(index) * 0.00175  // [−87, 88]
      let e = Foundation.exp(Double(x))
      worstExp = max(worstExp, abs(Double(VectorMath.exp(x)) - e) / e)
      let y = -10 + Float(index) * 2e-4  // [−10, 10]
      let t = Foundation.tanh(Double(y))
      if t != 0 { worstTanh = max(worstTanh, abs(Double(VectorMath.tanh(y)) - t) / abs(t)) }
    }
    #expect(worstExp <= 3e-7, "max relative error of exp: \(worstExp)")
    #expect(worstTanh <= 3e-7, "max relative error of tanh: \(worstTanh)")
    #expect(VectorMath.exp(-100) == 0)
    #expect(VectorMath.exp(-Float.greatestFiniteMagnitude) == 0)
    #expect(VectorMath.exp(100) == .infinity)
    #expect(VectorMath.tanh(1e-6) == 1e-6)
  }

  static func referenceGELU(_ x: Double, approximate: Bool) -> Double {
    if approximate {
      return 0.5 * x
        * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }
    return 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
  }

  @Test(arguments: BackendKind.allAvailable)
  func geluMatchesReference(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 11)
    let x = Tensor.randomNormal(shape: [3, 37], standardDeviation: 3, generator: &generator)
    for approximate in [false, true] {
      let actual = Compute.withBackend(backend) { x.gelu(approximate: approximate) }
      let expected = x.scalars.map {
        Float(Self.referenceGELU(Double($0), approximate: approximate))
      }
      expectClose(
        actual.scalars, expected, rtol: 1e-6, atol: 1e-7, "gelu approximate=\(approximate)")
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func biasGELUMatchesReference(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 12)
    let x = Tensor.randomNormal(shape: [2, 3, 21], standardDeviation: 2, generator: &generator)
    let bias = Tensor.randomNormal(shape: [21], generator: &generator)
    for approximate in [false, true] {
      let actual = Compute.withBackend(backend) { x.biasGELU(bias: bias, approximate: approximate) }
      #expect(actual.shape == [2, 3, 21])
      var expected = [Float]()
      for (index, value) in x.scalars.enumerated() {
        let u = Double(value) + Double(bias.scalars[index % 21])
        expected.append(Float(Self.referenceGELU(u, approximate: approximate)))
      }
      expectClose(
        actual.scalars, expected, rtol: 1e-6, atol: 1e-7, "biasGELU approximate=\(approximate)")
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func tanhAndReLUMatchReference(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 13)
    let x = Tensor.randomNormal(shape: [4, 19], standardDeviation: 2, generator: &generator)
    Compute.withBackend(backend) {
      expectClose(
        x.tanh().scalars, x.scalars.map { Float(Foundation.tanh(Double($0))) }, rtol: 3e-7,
        atol: 1e-7, "tanh")
      #expect(x.relu().scalars == x.scalars.map { max($0, 0) })
    }
  }

  /// The fused feed-forward op equals biasGELU then linear, values and every
  /// gradient, though it recomputes the GELU output in its backward pass.
  @Test(arguments: BackendKind.allAvailable)
  func biasGELULinearEqualsItsComposition(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 15)
    let x = Tensor.randomNormal(shape: [2, 3, 24], generator: &generator)
    let bias = Tensor.randomNormal(shape: [24], generator: &generator)
    let weight = Tensor.randomNormal(shape: [7, 24], standardDeviation: 0.3, generator: &generator)
    let outputBias = Tensor.randomNormal(shape: [7], generator: &generator)
    let cotangent = Tensor.randomNormal(shape: [2, 3, 7], generator: &generator)
    for approximate in [false, true] {
      for hasOutputBias in [true, false] {
        func run(fused: Bool) -> [[Float]] {
          let parameters = [x, bias, weight, outputBias].map { Parameter($0) }
          let (input, b, w, c) = (
            parameters[0].value, parameters[1].value, parameters[2].value,
            hasOutputBias ? parameters[3].value : nil
          )
          let y = Compute.withBackend(backend) {
            fused
              ? input.biasGELULinear(bias: b, approximate: approximate, weight: w, outputBias: c)
              : input.biasGELU(bias: b, approximate: approximate).linear(weight: w, bias: c)
          }  // [2, 3, 7]
          Compute.withBackend(backend) { y.backward(gradient: cotangent) }
          return [y.scalars]
            + parameters.prefix(hasOutputBias ? 4 : 3).map { $0.grad?.scalars ?? [] }
        }
        let (fused, composed) = (run(fused: true), run(fused: false))
        for (index, name) in ["y", "dx", "dbias", "dW", "doutputBias"].prefix(fused.count)
          .enumerated()
        {
          expectClose(
            fused[index], composed[index], rtol: 1e-5, atol: 1e-6,
            "\(name) approximate=\(approximate) outputBias=\(hasOutputBias):")
        }
      }
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func activationGradients(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 14)
    let x = Tensor.randomNormal(shape: [3, 11], standardDeviation: 1.5, generator: &generator)
    let bias = Tensor.randomNormal(shape: [11], generator: &generator)
    // ReLU away from its kink at 0, where central differences straddle it.
    let away = Tensor(shape: [3, 11], scalars: x.scalars.map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 })
    Compute.withBackend(backend) {
      for approximate in [false, true] {
        checkGradients([x]) { $0[0].gelu(approximate: approximate) }
        checkGradients([x, bias]) { $0[0].biasGELU(bias: $0[1], approximate: approximate) }
      }
      let weight = Tensor.randomNormal(
        shape: [5, 11], standardDeviation: 0.5, generator: &generator)
      let outputBias = Tensor.randomNormal(shape: [5], generator: &generator)
      checkGradients([x, bias, weight, outputBias]) {
        $0[0].biasGELULinear(bias: $0[1], approximate: false, weight: $0[2], outputBias: $0[3])
      }
      checkGradients([x]) { $0[0].tanh() }
      checkGradients([away]) { $0[0].relu() }
    }
  }
}
