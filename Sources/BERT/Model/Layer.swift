// The protocol every BERT module conforms to, how its parameters are named,
// and how its linear projections are replaced.

/// A module that owns parameters, each under its checkpoint key, and the
/// linear projections among its children.
///
/// Keys are relative to the module; a parent prefixes its children's keys with
/// the child's own key, so the full names are exactly Hugging Face's
/// (`encoder.layer.3.attention.self.query.weight`).
public protocol Layer {
  /// This module's parameters and its children's, keyed relative to this module.
  var namedParameters: [(key: String, parameter: Parameter)] { get }

  /// Replaces every linear projection held at any depth below this module by
  /// what `transform` returns for it, in the order of ``namedParameters``.
  ///
  /// `transform` receives the projection's key relative to this module, the
  /// prefix of its parameter keys (`encoder.layer.3.intermediate.dense` for
  /// `encoder.layer.3.intermediate.dense.weight`), and the projection held
  /// there. Its result takes effect everywhere the slot is used, fused paths
  /// included. A replacement must map the same sizes (in → out) as the
  /// projection it replaces; one that does not is refused with an error
  /// naming the slot. A module without projections (``LayerNormalization``,
  /// ``Embedding``) does nothing; so does a projection itself (``Linear``),
  /// which its owner replaces.
  mutating func mapProjections(_ transform: ProjectionTransform) rethrows

  /// Replaces every embedding table held at any depth below this module that
  /// another precision may store differently (the word embeddings) by what
  /// `transform` returns for it, keyed as ``mapProjections(_:)`` keys
  /// projections (`embeddings.word_embeddings`). The default does nothing: a
  /// module overrides it when it holds such a table or a ``BertModel``.
  mutating func mapEmbeddingTables(_ transform: EmbeddingTableTransform) rethrows
}

/// What ``Layer/mapProjections(_:)`` calls for every projection slot: the
/// slot's key and the projection it holds, in; the projection to hold, out.
public typealias ProjectionTransform = (_ key: String, _ projection: any LinearProjection) throws
  -> any LinearProjection

extension Layer {
  /// Every parameter, in a fixed order.
  public var parameters: [Parameter] { namedParameters.map(\.parameter) }

  /// Clears every parameter's gradient.
  public func zeroGradients() {
    for (_, parameter) in namedParameters { parameter.zeroGradient() }
  }

  /// The number of trainable scalars.
  public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.parameter.value.count } }

  /// Maps the projections of this module, a child held under `prefix`, with
  /// keys relative to the parent (`prefix.<key>`).
  mutating func mapProjections(under prefix: String, _ transform: ProjectionTransform) rethrows {
    try mapProjections { try transform("\(prefix).\($0)", $1) }
  }

  /// No tables that another precision stores differently.
  public mutating func mapEmbeddingTables(_ transform: EmbeddingTableTransform) rethrows {}

  /// Maps the tables of this module, a child held under `prefix`, with keys
  /// relative to the parent (`prefix.<key>`).
  mutating func mapEmbeddingTables(under prefix: String, _ transform: EmbeddingTableTransform)
    rethrows
  {
    try mapEmbeddingTables { try transform("\(prefix).\($0)", $1) }
  }
}

/// Prefixes a child's keys with `prefix.`.
func prefixed(_ prefix: String, _ child: some Layer) -> [(key: String, parameter: Parameter)] {
  child.namedParameters.map { ("\(prefix).\($0.key)", $0.parameter) }
}
