import Tensors

@testable import BERT

// B… any leading dimensions, in and out the wrapped projection's sizes.

/// A stand-in projection for tests: scale·inner(x) + offset, elementwise, around
/// any projection. It lists `inner`'s parameters under `inner`'s own keys, so
/// a model holding it loads, trains and is checked against fixtures as before.
/// With scale 1 and offset 0 it computes exactly what `inner` does, through
/// the generic (unfused) path of every caller.
struct AffineProjection: LinearProjection {
  var inner: any LinearProjection
  var scale: Float
  var offset: Float

  var inputSize: Int { inner.inputSize }
  var outputSize: Int { inner.outputSize }

  /// x [B…, in] → scale·inner(x) + offset [B…, out]
  func callAsFunction(_ x: Tensor) -> Tensor {
    inner(x) * scale + offset  // [B…, out]
  }

  var namedParameters: [(key: String, parameter: Parameter)] { inner.namedParameters }

  mutating func mapProjections(_ transform: ProjectionTransform) rethrows {}
}
