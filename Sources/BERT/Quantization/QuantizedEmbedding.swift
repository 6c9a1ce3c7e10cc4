// V rows (the vocabulary), H features, N looked-up ids.

/// A lookup table stored as int8 rows: the ``EmbeddingTable`` of
/// ``Precision/int8``, for the word embeddings.
///
/// Each row is quantized as ``QuantizedMatrix`` quantizes a weight row:
/// symmetric, one scale per row, E[v, h] ≈ s[v] · q[v, h] with q in
/// −127…127. A lookup dequantizes the rows it returns, so what follows (the
/// sum with the position and segment embeddings, LayerNorm) stays Float32.
/// The table takes a quarter of the float32 one's memory. Inference only: it
/// holds no trainable ``Parameter``s.
public struct QuantizedEmbedding: EmbeddingTable {
  public let count: Int
  public let size: Int
  /// q, [V, H] row-major.
  public let values: [Int8]
  /// s, [V].
  public let scales: [Float]

  /// Quantizes a float32 table's rows.
  public init(quantizing table: Embedding) {
    let (values, scales) = QuantizedMatrix.quantizingRows(of: table.weight.value)
    self.init(count: table.count, size: table.size, values: values, scales: scales)
  }

  /// A table from rows quantized already (an int8 checkpoint).
  ///
  /// - Parameters:
  ///   - values: [count, size] row-major, each in −127…127.
  ///   - scales: [count], finite and not negative.
  public init(count: Int, size: Int, values: [Int8], scales: [Float]) {
    ensure(
      values.count == count * size && scales.count == count,
      "QuantizedEmbedding: \(values.count) values and \(scales.count) scales "
        + "for a table of \(count) × \(size)")
    self.count = count
    self.size = size
    self.values = values
    self.scales = scales
  }

  /// ids (N, each in 0..<count) → [N, H], s[v] · q[v, ·] for each id v.
  public func callAsFunction(_ ids: [Int]) -> Tensor {
    ensureInRange(ids, type: "QuantizedEmbedding")
    var result = Tensor(uninitializedShape: [ids.count, size])  // [N, H]
    result.withUnsafeMutableBufferPointer { target in
      values.withUnsafeBufferPointer { q in
        for (row, id) in ids.enumerated() {
          let scale = scales[id]
          for h in 0..<size { target[row * size + h] = scale * Float(q[id * size + h]) }
        }
      }
    }
    return result
  }

  /// No trainable parameters: an int8 table is not trained.
  public var namedParameters: [(key: String, parameter: Parameter)] { [] }

  /// No projections: nothing to map.
  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {}
}
