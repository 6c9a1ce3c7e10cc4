import Foundation
import Tensors
import TestSupport
import Testing

@Suite struct SoftmaxTests {
  /// Naive per-row softmax and log-softmax in Double.
  static func reference(_ x: Tensor, log: Bool) -> [Float] {
    let width = x.shape[x.rank - 1]
    var result = [Float]()
    for row in 0..<(x.count / width) {
      let values = x.scalars[(row * width)..<((row + 1) * width)].map(Double.init)
      let top = values.max()!
      let total = values.reduce(0.0) { $0 + Foundation.exp($1 - top) }
      for value in values {
        result.append(
          Float(log ? value - top - Foundation.log(total) : Foundation.exp(value - top) / total))
      }
    }
    return result
  }

  @Test(arguments: BackendKind.allAvailable)
  func softmaxMatchesReference(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 21)
    for shape in [[4, 19], [2, 3, 8], [1, 1], [3, 40]] {
      let x = Tensor.randomNormal(shape: shape, standardDeviation: 3, generator: &generator)
      Compute.withBackend(backend) {
        let y = x.softmax()
        #expect(y.shape == shape)
        expectClose(
          y.scalars, Self.reference(x, log: false), rtol: 1e-5, atol: 1e-7, "softmax \(shape)")
        expectClose(
          x.logSoftmax().scalars, Self.reference(x, log: true), rtol: 1e-5, atol: 2e-6,
          "logSoftmax \(shape)")
      }
    }
  }

  /// Logits of ±10⁴ stay finite: the row maximum is subtracted first.
  @Test(arguments: BackendKind.allAvailable)
  func softmaxIsFiniteForHugeLogits(_ backend: BackendKind) {
    let x = Tensor(
      shape: [2, 4], scalars: [1e4, -1e4, 0, 1e4 - 1, -1e4, -1e4, -1e4 + 2, -1e4])
    Compute.withBackend(backend) {
      let y = x.softmax()
      let logY = x.logSoftmax()
      #expect(y.scalars.allSatisfy { $0.isFinite })
      #expect(logY.scalars.allSatisfy { $0.isFinite })
      // Row 0: e⁰ and e⁻¹ share everything; row 1: e² against three e⁰.
      let e = Float(Foundation.exp(1.0))
      expectClose(
        Array(y.scalars[0..<4]), [e / (e + 1), 0, 0, 1 / (e + 1)], rtol: 1e-6, atol: 1e-7,
        "row 0")
      let e2 = Float(Foundation.exp(2.0))
      expectClose(
        Array(y.scalars[4..<8]), [1 / (e2 + 3), 1 / (e2 + 3), e2 / (e2 + 3), 1 / (e2 + 3)],
        rtol: 1e-6, atol: 1e-7, "row 1")
      expectClose(logY.scalars, Self.reference(x, log: true), rtol: 1e-6, atol: 1e-3, "log rows")
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func softmaxGradients(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 22)
    let x = Tensor.randomNormal(shape: [3, 13], generator: &generator)
    Compute.withBackend(backend) {
      checkGradients([x]) { $0[0].softmax() }
      checkGradients([x]) { $0[0].logSoftmax() }
    }
  }
}
