// The building blocks every BERT module is made of, and how their parameters
// are named.

/// A module that owns parameters, each under its checkpoint key.
///
/// Keys are relative to the module; a parent prefixes its children's keys with
/// the child's own key, so the full names are exactly Hugging Face's
/// (`encoder.layer.3.attention.self.query.weight`).
public protocol Layer {
  /// This module's parameters and its children's, keyed relative to this module.
  var namedParameters: [(key: String, parameter: Parameter)] { get }
}

extension Layer {
  /// Every parameter, in a fixed order.
  public var parameters: [Parameter] { namedParameters.map(\.parameter) }

  /// Clears every parameter's gradient.
  public func zeroGradients() {
    for (_, parameter) in namedParameters { parameter.zeroGradient() }
  }

  /// The number of trainable scalars.
  public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.parameter.value.count } }
}

/// Prefixes a child's keys with `prefix.`.
func prefixed(_ prefix: String, _ child: some Layer) -> [(key: String, parameter: Parameter)] {
  child.namedParameters.map { ("\(prefix).\($0.key)", $0.parameter) }
}

/// How a forward pass runs: training (dropout on) or inference, and the random
/// stream for dropout masks.
public struct ForwardContext {
  /// Whether dropout is active.
  public var isTraining: Bool
  /// The source of dropout masks; advanced by every dropout in training.
  public var generator: SeededGenerator

  /// Inference: dropout off.
  public static var inference: ForwardContext { ForwardContext(isTraining: false, seed: 0) }

  public init(isTraining: Bool, seed: UInt64) {
    self.isTraining = isTraining
    generator = SeededGenerator(seed: seed)
  }

  /// Applies dropout with probability `p` in training, and nothing otherwise.
  mutating func dropout(_ x: Tensor, _ p: Float) -> Tensor {
    guard isTraining, p > 0 else { return x }
    return x.dropout(probability: p, generator: &generator)
  }
}

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

/// Layer normalisation over the last axis, with learned scale and shift.
/// Mirrors `torch.nn.LayerNorm`; the keys are `weight` and `bias` (legacy
/// checkpoints' `gamma` and `beta` are renamed on load).
public struct LayerNormalization: Layer {
  /// γ [H], initialised to ones.
  public let weight: Parameter
  /// β [H], initialised to zeros.
  public let bias: Parameter
  /// Added to the variance.
  public let epsilon: Float

  public init(size: Int, epsilon: Float) {
    weight = Parameter(Tensor(ones: [size]))
    bias = Parameter(Tensor(zeros: [size]))
    self.epsilon = epsilon
  }

  /// x [B…, H] → [B…, H]
  public func callAsFunction(_ x: Tensor) -> Tensor {
    x.layerNorm(gamma: weight.value, beta: bias.value, epsilon: epsilon)
  }

  /// LayerNorm(x + residual), fused. x and residual [B…, H] → [B…, H]
  public func callAsFunction(_ x: Tensor, residual: Tensor) -> Tensor {
    x.addingLayerNorm(residual, gamma: weight.value, beta: bias.value, epsilon: epsilon)
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    [("weight", weight), ("bias", bias)]
  }
}

/// A lookup table of vectors. Mirrors `torch.nn.Embedding`, including
/// `padding_idx`: the padding row receives no gradient.
public struct Embedding: Layer {
  /// [N, H]
  public let weight: Parameter
  /// The row that gets no gradient, if any.
  public let paddingIndex: Int?

  public init(
    count: Int, size: Int, paddingIndex: Int? = nil, standardDeviation: Float,
    generator: inout SeededGenerator
  ) {
    var table = Tensor.randomNormal(
      shape: [count, size], standardDeviation: standardDeviation, generator: &generator)
    if let paddingIndex {
      table.withUnsafeMutableBufferPointer { values in
        for column in 0..<size { values[paddingIndex * size + column] = 0 }
      }
    }
    weight = Parameter(table)
    self.paddingIndex = paddingIndex
  }

  /// ids (any count) → [ids.count, H]
  public func callAsFunction(_ ids: [Int]) -> Tensor {
    let rows = weight.value.shape[0]
    for (position, id) in ids.enumerated() where id < 0 || id >= rows {
      ensureFailure(
        "Embedding: id \(id) at position \(position) is outside the table of \(rows) rows")
    }
    let looked = weight.value.gatherRows(ids)  // [N, H]
    guard let paddingIndex, looked.isTracked else { return looked }
    // Route the gradient through an identity whose backward zeroes padding rows.
    let size = weight.value.shape[1]
    let paddedRows = ids.enumerated().filter { $0.element == paddingIndex }.map(\.offset)
    guard !paddedRows.isEmpty else { return looked }
    return Tensor.record(looked.detached(), inputs: [looked]) { grad in  // [N, H]
      var masked = grad
      masked.withUnsafeMutableBufferPointer { values in
        for row in paddedRows {
          for column in 0..<size { values[row * size + column] = 0 }
        }
      }
      return [masked]
    }
  }

  public var namedParameters: [(key: String, parameter: Parameter)] { [("weight", weight)] }
}
