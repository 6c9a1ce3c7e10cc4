// The protocol every BERT module conforms to, and how its parameters are
// named.

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
