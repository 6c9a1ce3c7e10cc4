// The AdamW update of the library's `AdamW`, restated for the training row.
//
// `AdamW.update()` in the library nests `withUnsafeMutableBufferPointer` on two
// elements of its `slots` array (a stored property of a class), which Swift's
// run-time exclusivity check stops with "Simultaneous accesses ... Fatal access
// conflict". Until that is fixed, the benchmark applies the same update here:
// the same formula, the same decay rule (`AdamW.decays`), the same threading.

import BERT
import Foundation
import Tensors

/// Decoupled-weight-decay Adam with its moments in buffers of its own.
final class BenchAdamW {
  struct Slot {
    let parameter: Parameter
    let decays: Bool
    let firstMoment: UnsafeMutablePointer<Float>
    let secondMoment: UnsafeMutablePointer<Float>
    let count: Int
  }

  let learningRate: Float
  let beta1: Float = 0.9
  let beta2: Float = 0.999
  let epsilon: Float = 1e-8
  let weightDecay: Float
  private(set) var step = 0
  private let slots: [Slot]

  init(parameters: [(key: String, parameter: Parameter)], learningRate: Float, weightDecay: Float) {
    self.learningRate = learningRate
    self.weightDecay = weightDecay
    slots = parameters.map { key, parameter in
      let count = parameter.value.count
      let first = UnsafeMutablePointer<Float>.allocate(capacity: count)
      let second = UnsafeMutablePointer<Float>.allocate(capacity: count)
      first.initialize(repeating: 0, count: count)
      second.initialize(repeating: 0, count: count)
      return Slot(
        parameter: parameter, decays: AdamW.decays(key), firstMoment: first,
        secondMoment: second, count: count)
    }
  }

  deinit {
    for slot in slots {
      slot.firstMoment.deallocate()
      slot.secondMoment.deallocate()
    }
  }

  /// One update from the accumulated gradients, as `AdamW.update()`.
  func update() {
    step += 1
    let t = Float(step)
    let correction1 = 1 - pow(beta1, t)
    let correction2 = 1 - pow(beta2, t)
    let (lr, b1, b2, eps) = (learningRate, beta1, beta2, epsilon)
    for slot in slots {
      guard let grad = slot.parameter.grad else { continue }
      let decay = slot.decays ? lr * weightDecay : 0
      var value = slot.parameter.value
      let g = grad.storage.pointer
      let (m, v) = (slot.firstMoment, slot.secondMoment)
      value.withUnsafeMutableBufferPointer { p in
        let p = p.baseAddress!
        Parallel.forEachChunk(slot.count) { range in
          for i in range {
            p[i] -= decay * p[i]
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
            let mHat = m[i] / correction1
            let vHat = v[i] / correction2
            p[i] -= lr * mHat / (vHat.squareRoot() + eps)
          }
        }
      }
      slot.parameter.value = value
    }
  }

  func zeroGradients() {
    for slot in slots { slot.parameter.zeroGradient() }
  }
}
