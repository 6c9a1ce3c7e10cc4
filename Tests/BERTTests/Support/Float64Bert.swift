import Foundation
import Tensors

@testable import BERT

// B batch, T tokens, H hidden, NH heads, D head size (H = NH·D), I intermediate.

/// BertModel's inference forward pass (no dropout) in float64, written from
/// Hugging Face's `modeling_bert.py` over a module's parameters by key, for
/// expectations that the Float32 code does not produce.
///
/// `adjustments` maps a projection's key (`encoder.layer.0.output.dense`) to
/// a function applied to every element of that projection's output, bias
/// included: the effect an ``AffineProjection`` in that slot should have.
struct Float64Bert {
  /// Rows of features: [B·T][H] for hidden states, [B][H] for pooled ones.
  typealias Rows = [[Double]]

  let config: BertConfig
  /// The prefix of the encoder's keys: "" for ``BertModel``, "bert." for a head.
  let base: String
  private let values: [String: [Double]]
  private let shapes: [String: [Int]]
  var adjustments: [String: (Double) -> Double] = [:]

  init(_ module: some Layer, config: BertConfig, base: String = "") {
    self.config = config
    self.base = base
    var values: [String: [Double]] = [:]
    var shapes: [String: [Int]] = [:]
    for (key, parameter) in module.namedParameters {
      values[key] = parameter.value.scalars.map(Double.init)
      shapes[key] = parameter.value.shape
    }
    self.values = values
    self.shapes = shapes
  }

  /// x·Wᵀ + b for the projection `key`, then its adjustment: [N][in] → [N][out].
  func linear(_ x: Rows, _ key: String) -> Rows {
    let weight = values["\(key).weight"]!
    let (outputs, inputs) = (shapes["\(key).weight"]![0], shapes["\(key).weight"]![1])
    let bias = values["\(key).bias"]
    let adjust = adjustments[key] ?? { $0 }
    return x.map { row in
      (0..<outputs).map { o in
        var sum = bias?[o] ?? 0
        for i in 0..<inputs { sum += row[i] * weight[o * inputs + i] }
        return adjust(sum)
      }
    }
  }

  /// (x − mean) / √(var + ε) · γ + β over each row, with the biased variance.
  func layerNorm(_ x: Rows, _ key: String) -> Rows {
    let (gamma, beta) = (values["\(key).weight"]!, values["\(key).bias"]!)
    let epsilon = Double(config.layerNormEpsilon)
    return x.map { row in
      let mean = row.reduce(0, +) / Double(row.count)
      let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(row.count)
      let scale = 1 / (variance + epsilon).squareRoot()
      return row.indices.map { (row[$0] - mean) * scale * gamma[$0] + beta[$0] }
    }
  }

  /// The intermediate activation of the config, elementwise.
  func activation(_ v: Double) -> Double {
    switch config.hiddenActivation {
    case .gelu: return 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
    case .geluNew, .geluPyTorchTanh:
      return 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
    case .relu: return max(v, 0)
    case .tanh: return tanh(v)
    }
  }

  /// LayerNorm(word + position + token type) for every token: [B·T][H].
  func embeddings(_ batch: TextBatch) -> Rows {
    let h = config.hiddenSize
    let key = "\(base)embeddings"
    let (words, positions, types) = (
      values["\(key).word_embeddings.weight"]!, values["\(key).position_embeddings.weight"]!,
      values["\(key).token_type_embeddings.weight"]!
    )
    let summed = (0..<batch.batchSize * batch.sequenceLength).map { index in
      let (id, type, t) = (
        batch.inputIDs[index], batch.tokenTypeIDs[index], index % batch.sequenceLength
      )
      return (0..<h).map { words[id * h + $0] + positions[t * h + $0] + types[type * h + $0] }
    }
    return layerNorm(summed, "\(key).LayerNorm")
  }

  /// Multi-head attention of layer `prefix` on x [B·T][H]: softmax(q·kᵀ/√D)·v
  /// over the keys the attention mask keeps, per batch row and head.
  func selfAttention(_ x: Rows, _ batch: TextBatch, _ prefix: String) -> Rows {
    let (q, k, v) = (
      linear(x, "\(prefix).query"), linear(x, "\(prefix).key"), linear(x, "\(prefix).value")
    )
    let (t, h, heads) = (batch.sequenceLength, config.hiddenSize, config.attentionHeadCount)
    let d = h / heads
    var context = Rows(repeating: [Double](repeating: 0, count: h), count: x.count)
    for b in 0..<batch.batchSize {
      let kept = (0..<t).filter { batch.attentionMask[b * t + $0] != 0 }
      for head in 0..<heads {
        let columns = (head * d)..<(head * d + d)
        for i in 0..<t {
          let query = q[b * t + i]
          let scores = kept.map { j in
            columns.reduce(0) { $0 + query[$1] * k[b * t + j][$1] } / Double(d).squareRoot()
          }
          let top = scores.max()!
          let weights = scores.map { exp($0 - top) }
          let total = weights.reduce(0, +)
          for (weight, j) in zip(weights, kept) {
            for c in columns { context[b * t + i][c] += weight / total * v[b * t + j][c] }
          }
        }
      }
    }
    return context
  }

  /// One transformer layer on x [B·T][H] → [B·T][H].
  func layer(_ x: Rows, _ batch: TextBatch, _ index: Int) -> Rows {
    let prefix = "\(base)encoder.layer.\(index)"
    let context = selfAttention(x, batch, "\(prefix).attention.self")
    let projected = linear(context, "\(prefix).attention.output.dense")
    let attended = layerNorm(add(projected, x), "\(prefix).attention.output.LayerNorm")
    let expanded = linear(attended, "\(prefix).intermediate.dense").map { $0.map(activation) }
    let contracted = linear(expanded, "\(prefix).output.dense")
    return layerNorm(add(contracted, attended), "\(prefix).output.LayerNorm")
  }

  /// The last hidden states, [B·T][H].
  func lastHiddenState(_ batch: TextBatch) -> Rows {
    (0..<config.hiddenLayerCount).reduce(embeddings(batch)) { layer($0, batch, $1) }
  }

  /// The `[CLS]` rows of hidden states [B·T][H] → [B][H].
  func firstTokens(_ hidden: Rows, _ batch: TextBatch) -> Rows {
    (0..<batch.batchSize).map { hidden[$0 * batch.sequenceLength] }
  }

  /// tanh(pooler.dense(hidden[:, 0])), [B][H].
  func pooled(_ hidden: Rows, _ batch: TextBatch) -> Rows {
    linear(firstTokens(hidden, batch), "\(base)pooler.dense").map { $0.map(tanh) }
  }

  private func add(_ a: Rows, _ b: Rows) -> Rows {
    zip(a, b).map { zip($0, $1).map(+) }
  }
}

extension Tensor {
  /// Float64 rows as a Float32 tensor of the given shape.
  init(_ rows: Float64Bert.Rows, shape: [Int]) {
    self.init(shape: shape, scalars: rows.flatMap { $0.map(Float.init) })
  }
}
