import Foundation

/// Adam with decoupled weight decay (Loshchilov & Hutter), as `torch.optim.AdamW`.
///
/// For each parameter p with gradient g, at step t (from 1):
///
///     p ← p − lr·λ·p                       (decoupled decay; skipped for biases and LayerNorm)
///     m ← β₁·m + (1 − β₁)·g
///     v ← β₂·v + (1 − β₂)·g²
///     p ← p − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
///
/// It uses bias correction (the 1 − βᵗ terms), as PyTorch and Hugging Face do.
public final class AdamW {
  /// One parameter's optimiser state: first and second moments. A class, so
  /// that an update writes the parameter and both moments in place.
  final class Slot {
    let parameter: Parameter
    let key: String
    let decays: Bool
    var firstMoment: Tensor  // shape of the parameter
    var secondMoment: Tensor  // shape of the parameter

    init(parameter: Parameter, key: String, decays: Bool) {
      self.parameter = parameter
      self.key = key
      self.decays = decays
      firstMoment = Tensor(zeros: parameter.value.shape)
      secondMoment = Tensor(zeros: parameter.value.shape)
    }
  }

  public var learningRate: Float
  public let beta1: Float
  public let beta2: Float
  public let epsilon: Float
  public let weightDecay: Float
  /// The number of updates applied so far.
  public private(set) var step: Int = 0
  let slots: [Slot]

  /// An optimiser over `parameters`, keyed by checkpoint name. Parameters whose
  /// key ends in `bias`, or that belong to a LayerNorm, get no weight decay.
  public init(
    parameters: [(key: String, parameter: Parameter)], learningRate: Float = 5e-5,
    beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01
  ) {
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    slots = parameters.map { key, parameter in
      Slot(parameter: parameter, key: key, decays: AdamW.decays(key))
    }
  }

  /// Whether weight decay applies to the parameter with this key.
  public static func decays(_ key: String) -> Bool {
    !(key.hasSuffix("bias") || key.contains("LayerNorm") || key.contains("layer_norm"))
  }

  /// Applies one update from the parameters' accumulated gradients. Parameters
  /// without a gradient are left alone (their moments do not advance).
  public func update() { apply(gradientScale: 1) }

  /// Clips the global gradient norm to `maxNorm` and applies one update, in one
  /// pass over the parameters: the same result as ``clipGradientNorm(_:maxNorm:)``
  /// followed by ``update()``, without writing the scaled gradients back.
  ///
  /// - Parameter maxNorm: the largest global L2 norm; `.infinity` only measures it.
  /// - Returns: the global norm before clipping. When it is NaN or infinite,
  ///   nothing is updated (the step count does not advance either).
  @discardableResult
  public func update(clippingGradientNormTo maxNorm: Float) -> Float {
    let norm = globalGradientNorm(slots.map(\.parameter))
    guard norm.isFinite else { return norm }
    let coefficient = maxNorm / (norm + 1e-6)
    apply(gradientScale: coefficient < 1 ? coefficient : 1)
    return norm
  }

  /// One update with every gradient multiplied by `gradientScale` (exact for 1).
  ///
  /// A row-sparse gradient counts as zero on the rows it does not hold: those
  /// rows still decay and their moments still advance, as in a dense update.
  /// The work is cut into pieces of whole rows of about 64 Ki elements, spread
  /// over the compute threads.
  private func apply(gradientScale scale: Float) {
    step += 1
    let t = Float(step)
    let constants = AdamWConstants(
      learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
      correction1: 1 - pow(beta1, t), correction2: 1 - pow(beta2, t), gradientScale: scale)
    var pieces: [AdamWPiece] = []
    var zeroRowWidth = 0
    for slot in slots {
      guard let gradient = slot.parameter.gradient else { continue }
      let decay = slot.decays ? learningRate * weightDecay : 0
      let p = slot.parameter.value.withUnsafeMutableBufferPointer { $0.baseAddress! }
      let m = slot.firstMoment.withUnsafeMutableBufferPointer { $0.baseAddress! }
      let v = slot.secondMoment.withUnsafeMutableBufferPointer { $0.baseAddress! }
      let count = slot.parameter.value.count
      switch gradient {
      case .dense(let tensor):
        for start in stride(from: 0, to: count, by: AdamWPiece.size) {
          pieces.append(
            AdamWPiece(
              parameter: p, firstMoment: m, secondMoment: v, decay: decay, start: start,
              end: min(count, start + AdamWPiece.size), gradient: .dense(tensor.storage.pointer)))
        }
      case .rows(let rows):
        let width = rows.rowWidth
        zeroRowWidth = max(zeroRowWidth, width)
        let rowsPerPiece = max(1, AdamWPiece.size / max(width, 1))
        let rowCount = rows.shape[0]
        for first in stride(from: 0, to: rowCount, by: rowsPerPiece) {
          pieces.append(
            AdamWPiece(
              parameter: p, firstMoment: m, secondMoment: v, decay: decay, start: first * width,
              end: min(rowCount, first + rowsPerPiece) * width,
              gradient: .rows(rows, width: width)))
        }
      }
    }
    let zeroRow = [Float](repeating: 0, count: zeroRowWidth)
    zeroRow.withUnsafeBufferPointer { zeroRow in
      pieces.withUnsafeBufferPointer { pieces in
        Parallel.forEach(pieces.count) { index in
          pieces[index].run(constants, zeroRow: zeroRow.baseAddress)
        }
      }
    }
    withExtendedLifetime(slots.map(\.parameter.gradient)) {}
  }

  /// Clears every parameter's gradient.
  public func zeroGradients() {
    for slot in slots { slot.parameter.zeroGradient() }
  }

  /// The moments as named tensors (`exp_avg.<key>`, `exp_avg_sq.<key>`), for checkpoints.
  public var stateTensors: [(name: String, tensor: Tensor)] {
    slots.flatMap {
      [("exp_avg.\($0.key)", $0.firstMoment), ("exp_avg_sq.\($0.key)", $0.secondMoment)]
    }
  }

  /// Restores the moments and the step count saved by ``stateTensors`` and ``step``.
  public func restore(step: Int, tensors: [String: Tensor]) throws(TrainingError) {
    for slot in slots {
      let key = slot.key
      guard let first = tensors["exp_avg.\(key)"], let second = tensors["exp_avg_sq.\(key)"] else {
        throw .invalidState("the optimiser state lacks the moments of \(key)")
      }
      let shape = slot.parameter.value.shape
      guard first.shape == shape, second.shape == shape else {
        throw .invalidState(
          "the optimiser state of \(key) has shape \(first.shape), expected \(shape)")
      }
      slot.firstMoment = first
      slot.secondMoment = second
    }
    self.step = step
  }
}

extension AdamW {
  /// Makes every rank's step count and moments rank `root`'s (after a resume
  /// that only the root read from disk).
  func broadcastState(from root: Int, over communicator: some Communicator) throws {
    var count = [Float(step)]
    try count.withUnsafeMutableBufferPointer { try communicator.broadcast($0, root: root) }
    step = Int(count[0])
    for slot in slots {
      try communicator.broadcast(&slot.firstMoment, root: root)
      try communicator.broadcast(&slot.secondMoment, root: root)
    }
  }
}

/// Scales every gradient so that their global L2 norm is at most `maxNorm`, as
/// `torch.nn.utils.clip_grad_norm_` does (coefficient maxNorm / (norm + 1e-6),
/// applied only when below 1).
///
/// - Returns: the global norm before clipping (NaN or infinite if a gradient is).
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
  let norm = globalGradientNorm(parameters)
  let coefficient = maxNorm / (norm + 1e-6)
  guard norm.isFinite, coefficient < 1 else { return norm }
  for parameter in parameters { parameter.scaleGradient(by: coefficient) }
  return norm
}

/// The L2 norm of all the parameters' gradients together, summed in Double
/// (see ``Tensor/sumOfSquares()``); a row-sparse gradient counts its stored rows.
func globalGradientNorm(_ parameters: [Parameter]) -> Float {
  var total = 0.0
  for parameter in parameters {
    switch parameter.gradient {
    case nil: continue
    case .dense(let tensor): total += tensor.sumOfSquares()
    case .rows(let rows): total += rows.values.sumOfSquares()
    }
  }
  return Float(total.squareRoot())
}

/// A problem during training.
public enum TrainingError: Error, CustomStringConvertible {
  /// The loss or a gradient became NaN or infinite.
  case nonFinite(what: String, step: Int)
  /// A saved training state cannot be used.
  case invalidState(String)
  /// A setting cannot work: a max length beyond the model's positions, a
  /// non-positive batch size, no training examples.
  case invalidSetting(String)

  public var description: String {
    switch self {
    case .nonFinite(let what, let step):
      "training stopped at step \(step): the \(what) is not finite (NaN or infinity); lower the learning rate or check the data. The last checkpoint is intact."
    case .invalidState(let reason): "cannot resume: \(reason)"
    case .invalidSetting(let reason): reason
    }
  }
}

extension Tensor {
  /// Σ xᵢ², accumulated in Double per thread chunk (runs of 8 floats summed in
  /// Float first), for gradient norms.
  func sumOfSquares() -> Double {
    let values = storage.pointer
    let chunks = max(1, min(Compute.threadCount, count / 65_536))
    let size = (count + chunks - 1) / chunks
    var partial = [Double](repeating: 0, count: chunks)
    partial.withUnsafeMutableBufferPointer { sums in
      let sums = sums.baseAddress!
      Parallel.forEach(chunks) { chunk in
        var total = 0.0
        var index = chunk * size
        let end = min(count, index + size)
        while index + 8 <= end {
          let v = UnsafeRawPointer(values + index).loadUnaligned(as: SIMD8<Float>.self)
          total += Double((v * v).sum())
          index += 8
        }
        while index < end {
          total += Double(values[index]) * Double(values[index])
          index += 1
        }
        sums[chunk] = total
      }
    }
    return partial.reduce(0, +)
  }
}
