import Foundation
import Tensors
import TestSupport
import Testing

@Suite struct LossTests {
  /// Mean over counted rows of logsumexp − logit[label], in Double.
  static func reference(_ logits: Tensor, _ labels: [Int], ignore: Int = -100) -> Float {
    let classes = logits.shape[1]
    var total = 0.0
    var counted = 0
    for (row, label) in labels.enumerated() where label != ignore {
      let values = logits.scalars[(row * classes)..<((row + 1) * classes)].map(Double.init)
      let top = values.max()!
      let lse = top + Foundation.log(values.reduce(0.0) { $0 + Foundation.exp($1 - top) })
      total += lse - values[label]
      counted += 1
    }
    return Float(total / Double(counted))
  }

  @Test(arguments: BackendKind.allAvailable)
  func crossEntropyMatchesReference(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 51)
    let logits = Tensor.randomNormal(shape: [6, 11], standardDeviation: 2, generator: &generator)
    let labels = [3, -100, 0, 10, -100, 7]
    Compute.withBackend(backend) {
      let loss = logits.crossEntropy(labels: labels)
      #expect(loss.shape == [])
      #expect(abs(loss.item - Self.reference(logits, labels)) <= 1e-5)
      // The gradient in closed form: (softmax − onehot)/count, 0 on ignored rows.
      let tracked = Parameter(logits)
      tracked.value.crossEntropy(labels: labels).backward()
      let probabilities = logits.softmax().scalars
      var expected = [Float](repeating: 0, count: logits.count)
      for (row, label) in labels.enumerated() where label != -100 {
        for c in 0..<11 {
          expected[row * 11 + c] = (probabilities[row * 11 + c] - (c == label ? 1 : 0)) / 4
        }
      }
      expectClose(tracked.grad!.scalars, expected, rtol: 1e-5, atol: 1e-7, "d logits")
      checkGradients([logits]) { $0[0].crossEntropy(labels: labels) }
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func crossEntropyEdgeCases(_ backend: BackendKind) {
    Compute.withBackend(backend) {
      // Every row ignored: loss 0, gradient 0, no NaN.
      let logits = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
      let tracked = Parameter(logits)
      let loss = tracked.value.crossEntropy(labels: [-1, -1], ignoreIndex: -1)
      #expect(loss.item == 0)
      loss.backward()
      #expect(tracked.grad!.scalars.allSatisfy { $0 == 0 })
      // Logits of ±10⁴: finite, and exactly 2·10⁴ for the far-off label.
      let huge = Tensor(shape: [2, 3], scalars: [1e4, -1e4, 0, -1e4, -1e4, 1e4])
      let hugeTracked = Parameter(huge)
      let hugeLoss = hugeTracked.value.crossEntropy(labels: [0, 1])
      #expect(hugeLoss.item.isFinite)
      #expect(abs(hugeLoss.item - 1e4) <= 1)  // (0 + 2·10⁴)/2
      hugeLoss.backward()
      #expect(hugeTracked.grad!.scalars.allSatisfy { $0.isFinite })
    }
  }

  /// A label outside [0, C) that is not the ignore index stops the process.
  @Test func crossEntropyTrapsOnLabelOutOfRange() async {
    await #expect(processExitsWith: .failure) {
      _ = Tensor(zeros: [2, 3]).crossEntropy(labels: [0, 3])
    }
    await #expect(processExitsWith: .failure) {
      _ = Tensor(zeros: [2, 3]).crossEntropy(labels: [-1, 0])
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func meanSquaredError(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 52)
    let prediction = Tensor.randomNormal(shape: [4, 3], generator: &generator)
    let target = Tensor.randomNormal(shape: [4, 3], generator: &generator)
    Compute.withBackend(backend) {
      let loss = prediction.meanSquaredError(target)
      #expect(loss.shape == [])
      let expected =
        zip(prediction.scalars, target.scalars).reduce(0.0) {
          $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1)
        } / 12
      #expect(abs(Double(loss.item) - expected) <= 1e-6)
      checkGradients([prediction, target]) { $0[0].meanSquaredError($0[1]) }
    }
  }
}
