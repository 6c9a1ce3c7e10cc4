// B… any leading dimensions, in and out the projection's sizes.

/// A learned affine map y = x·Wᵀ + b from `inputSize` to `outputSize`
/// features: what every projection slot of the model holds (attention's
/// `query`, `key`, `value`, the `dense` of both residual outputs, of
/// `intermediate` and of `pooler`, and the heads' `classifier`,
/// `pre_classifier` and `qa_outputs`).
///
/// ``Linear`` is the float32 one. Another precision, a low-rank or a frozen
/// projection conforms to this protocol and takes a slot through
/// ``Layer/mapProjections(_:)`` or by assignment; the model then calls it
/// wherever it called the projection it replaced. Its ``Layer/namedParameters``
/// are keyed as `Linear`'s (`weight`, `bias`) when it should load and save
/// as one.
public protocol LinearProjection: Layer {
  /// The features of an input row, `in`.
  var inputSize: Int { get }
  /// The features of an output row, `out`.
  var outputSize: Int { get }

  /// x [B…, in] → x·Wᵀ + b [B…, out]
  func callAsFunction(_ x: Tensor) -> Tensor

  /// GELU(x·Wᵀ + b), x [B…, in] → [B…, out]. A conformer may fuse the bias
  /// and the activation into its product; the default composes them.
  ///
  /// - Parameter approximate: false for the exact (erf) form, true for the
  ///   tanh approximation; see `Tensor.gelu(approximate:)`.
  func gelu(_ x: Tensor, approximate: Bool) -> Tensor

  /// next(GELU(x·Wᵀ + b)), x [B…, in] → [B…, next.out]: a feed-forward block
  /// whose second product is `next`. A conformer may fuse the two when it
  /// knows `next`'s type (``Linear`` does for a `Linear`); the default is
  /// `next(gelu(x, approximate:))`, so any other pair takes the generic path.
  func gelu(_ x: Tensor, approximate: Bool, then next: any LinearProjection) -> Tensor
}

extension LinearProjection {
  public func gelu(_ x: Tensor, approximate: Bool) -> Tensor {
    self(x).gelu(approximate: approximate)  // [B…, out]
  }

  public func gelu(_ x: Tensor, approximate: Bool, then next: any LinearProjection) -> Tensor {
    next(gelu(x, approximate: approximate))  // [B…, next.out]
  }
}

/// Refuses a projection that does not fit the slot it is put into: the
/// replacement must map the same sizes as the projection it replaces.
///
/// - Parameter slot: the owner's type and property, as `BertIntermediate.dense`.
func ensureFits(
  _ replacement: any LinearProjection, replacing original: any LinearProjection, slot: String
) {
  ensure(
    replacement.inputSize == original.inputSize && replacement.outputSize == original.outputSize,
    "\(slot): a replacement must map \(original.inputSize) → \(original.outputSize) features, "
      + "as the projection it replaces; this \(type(of: replacement)) maps "
      + "\(replacement.inputSize) → \(replacement.outputSize)")
}
