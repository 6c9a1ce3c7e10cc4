// B batch, T tokens, H hidden.

/// The stack of transformer layers. Mirrors Hugging Face's `BertEncoder`;
/// keys under `encoder.`.
public struct BertEncoder: Layer {
  public var layers: [BertLayer]  // "layer.<i>"

  public init(config: BertConfig, generator: inout SeededGenerator) {
    layers = (0..<config.hiddenLayerCount).map { _ in
      BertLayer(config: config, generator: &generator)
    }
  }

  /// hidden [B, T, H], additiveMask [B, T] → [B, T, H]
  public func callAsFunction(
    _ hidden: Tensor, additiveMask: Tensor, context: inout ForwardContext
  ) -> Tensor {
    var state = hidden  // [B, T, H]
    for layer in layers { state = layer(state, additiveMask: additiveMask, context: &context) }
    return state
  }

  public var namedParameters: [(key: String, parameter: Parameter)] {
    layers.enumerated().flatMap { prefixed("layer.\($0.offset)", $0.element) }
  }

  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {
    for index in layers.indices {
      try layers[index].mapProjections(under: "layer.\(index)", transform)
    }
  }
}
