// N looked-up ids, H the table's width.

/// A table of `count` vectors of `size` features, looked up by id: what the
/// `word_embeddings` slot of ``BertEmbeddings`` holds.
///
/// ``Embedding`` is the float32 one; ``QuantizedEmbedding`` stores int8 rows
/// for ``Precision/int8``. A table takes the slot through
/// ``Layer/mapEmbeddingTables(_:)``.
public protocol EmbeddingTable: Layer {
  /// The rows of the table: the ids it can look up, 0..<count.
  var count: Int { get }
  /// The features of a row, H.
  var size: Int { get }

  /// ids (N, each in 0..<count) → [N, H]
  func callAsFunction(_ ids: [Int]) -> Tensor
}

extension EmbeddingTable {
  /// Refuses an id outside 0..<count, naming it and its position.
  ///
  /// - Parameter type: the table's type, for the message.
  func ensureInRange(_ ids: [Int], type: String) {
    for (position, id) in ids.enumerated() where id < 0 || id >= count {
      ensureFailure(
        "\(type): id \(id) at position \(position) is outside the table of \(count) rows")
    }
  }
}

/// What ``Layer/mapEmbeddingTables(_:)`` calls for every table slot: the
/// slot's key (`embeddings.word_embeddings`) and the table it holds, in; the
/// table to hold, out.
public typealias EmbeddingTableTransform = (_ key: String, _ table: any EmbeddingTable) throws
  -> any EmbeddingTable

/// Refuses a table that does not fit the slot it is put into.
///
/// - Parameter slot: the owner's type and property, as `BertEmbeddings.wordEmbeddings`.
func ensureFits(
  _ replacement: any EmbeddingTable, replacing original: any EmbeddingTable, slot: String
) {
  ensure(
    replacement.count == original.count && replacement.size == original.size,
    "\(slot): a replacement must hold \(original.count) rows of \(original.size) features, "
      + "as the table it replaces; this \(type(of: replacement)) holds "
      + "\(replacement.count) × \(replacement.size)")
}
