// The number formats a model can run inference in.

/// The precision of a model's projections at inference.
///
/// - ``fp32``: every weight and activation in Float32, as trained.
/// - ``int8``: every projection (attention's query, key and value, both
///   residual outputs' `dense`, `intermediate.dense`, `pooler.dense` and the
///   heads' `classifier`, `pre_classifier` and `qa_outputs`) becomes a
///   ``QuantizedLinear``: weights symmetric int8 with one scale per output
///   channel, activations quantized per row (token) as they arrive, products
///   summed exactly in Int32, and the output dequantized with the bias (and the
///   GELU that follows `intermediate.dense`) in one pass. The word-embedding
///   table becomes a ``QuantizedEmbedding``: int8 rows with one scale per
///   token, dequantized as they are looked up (a quarter of the memory, no
///   change in speed). The position and segment embeddings, LayerNorm,
///   softmax and the attention products QKᵀ and P·V stay Float32.
///   Inference only: an int8 model is not trained.
public enum Precision: String, CaseIterable, Codable, Sendable {
  case fp32
  case int8
}

/// A problem making a model run at a precision.
public enum QuantizationError: Error, CustomStringConvertible, Equatable {
  /// The projection under `key` is not a float32 `Linear`, so there is
  /// nothing to quantize from (`kind` is its type).
  case notFloat(key: String, kind: String)
  /// fp32 was asked of the int8 directory at `path`, whose float weights are gone.
  case storedAsInt8(path: String)

  public var description: String {
    switch self {
    case .notFloat(let key, let kind):
      "cannot quantize \(key): it is a \(kind), not a float32 Linear"
    case .storedAsInt8(let path):
      "\(path) holds int8 weights (written by bert quantize) and cannot run at fp32; "
        + "run it at int8, or use the float32 directory it was quantized from"
    }
  }
}

extension Precision {
  /// The precision a model loaded at `stored` runs at when `requested` is
  /// asked: `requested`, or `stored` when nothing is asked.
  ///
  /// - Parameter path: the model directory, for the error.
  /// - Throws: ``QuantizationError/storedAsInt8(path:)`` for fp32 asked of an
  ///   int8 directory.
  public static func resolving(_ requested: Precision?, stored: Precision, path: String)
    throws(QuantizationError) -> Precision
  {
    guard let requested else { return stored }
    if requested == .fp32 && stored == .int8 { throw .storedAsInt8(path: path) }
    return requested
  }
}

extension Layer {
  /// ``Precision/int8`` when any projection of this layer or its children is
  /// a ``QuantizedLinear``, else ``Precision/fp32``.
  public var projectionPrecision: Precision {
    var copy = self
    var quantized = false
    copy.mapProjections { _, projection in
      quantized = quantized || projection is QuantizedLinear
      return projection
    }
    return quantized ? .int8 : .fp32
  }

  /// Makes every projection of this layer and its children run at
  /// `precision`: for ``Precision/int8``, each float32 ``Linear`` becomes a
  /// ``QuantizedLinear`` (quantized from its weights now), except those whose
  /// full key is in `keepingFloat`, and the word embeddings become a
  /// ``QuantizedEmbedding`` (unless `keepingFloat` names them).
  /// ``Precision/fp32`` changes nothing.
  ///
  /// - Parameters:
  ///   - prefix: the key of this layer in the checkpoint ("" for the root), so
  ///     that `keepingFloat` names projections as the checkpoint does
  ///     (`encoder.layer.9.output.dense`).
  /// - Throws: ``QuantizationError/notFloat(key:kind:)`` for a projection that
  ///   is neither a `Linear` nor already quantized.
  public mutating func convert(
    to precision: Precision, keepingFloat: Set<String> = [], prefix: String = ""
  ) throws(QuantizationError) {
    guard precision == .int8 else { return }
    do {
      try mapProjections { key, projection in
        let key = prefix.isEmpty ? key : "\(prefix).\(key)"
        if projection is QuantizedLinear || keepingFloat.contains(key) { return projection }
        guard let linear = projection as? Linear else {
          throw QuantizationError.notFloat(key: key, kind: "\(type(of: projection))")
        }
        return QuantizedLinear(quantizing: linear)
      }
      mapEmbeddingTables { key, table in
        let key = prefix.isEmpty ? key : "\(prefix).\(key)"
        guard let table = table as? Embedding, !keepingFloat.contains(key) else { return table }
        return QuantizedEmbedding(quantizing: table)
      }
    } catch let error as QuantizationError {
      throw error
    } catch {
      ensureFailure("convert(to:): unexpected error \(error)")
    }
  }
}
