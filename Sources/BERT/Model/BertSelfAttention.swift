// B batch, T tokens, H hidden, NH heads, D head size (H = NH·D).

/// Multi-head self-attention: the Q, K, V projections and the fused scaled
/// dot-product attention. Mirrors Hugging Face's `BertSelfAttention`; keys
/// under `attention.self.`.
public struct BertSelfAttention: Layer {
  public var query: any LinearProjection {  // "query"  [H, H]
    didSet { ensureFits(query, replacing: oldValue, slot: "BertSelfAttention.query") }
  }
  public var key: any LinearProjection {  // "key"  [H, H]
    didSet { ensureFits(key, replacing: oldValue, slot: "BertSelfAttention.key") }
  }
  public var value: any LinearProjection {  // "value"  [H, H]
    didSet { ensureFits(value, replacing: oldValue, slot: "BertSelfAttention.value") }
  }
  let headCount: Int
  let dropoutProbability: Float

  public init(config: BertConfig, generator: inout SeededGenerator) {
    let (h, std) = (config.hiddenSize, config.initializerRange)
    query = Linear(inputSize: h, outputSize: h, standardDeviation: std, generator: &generator)
    key = Linear(inputSize: h, outputSize: h, standardDeviation: std, generator: &generator)
    value = Linear(inputSize: h, outputSize: h, standardDeviation: std, generator: &generator)
    headCount = config.attentionHeadCount
    dropoutProbability = config.attentionDropoutProbability
  }

  /// hidden [B, T, H], additiveMask [B, T] → context [B, T, H]
  public func callAsFunction(
    _ hidden: Tensor, additiveMask: Tensor, context: inout ForwardContext
  ) -> Tensor {
    let q = query(hidden)  // [B, T, H]
    let k = key(hidden)  // [B, T, H]
    let v = value(hidden)  // [B, T, H]
    let dropout = context.isTraining ? dropoutProbability : 0
    return Tensor.multiHeadAttention(
      query: q, key: k, value: v, headCount: headCount, additiveMask: additiveMask,
      dropoutProbability: dropout, generator: &context.generator)  // [B, T, H]
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    prefixed("query", query) + prefixed("key", key) + prefixed("value", value)
  }

  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {
    query = try transform("query", query)
    key = try transform("key", key)
    value = try transform("value", value)
  }
}
