// RetrievalError: every way building, loading or searching an index can fail.

/// An error of the retrieval layer: an index file, a corpus or query file, or a
/// search request. Each case names the file, line, id or value involved.
public enum RetrievalError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The index file could not be read as a safetensors file (truncated, corrupt, missing).
  case unreadableIndex(path: String, reason: String)
  /// The index file is a safetensors file but not a dense index: the text says what is missing.
  case notAnIndex(path: String, reason: String)
  /// The index holds `idCount` ids for `vectorCount` vectors.
  case idCountMismatch(path: String, idCount: Int, vectorCount: Int)
  /// Vectors of one dimension were given where the index holds another.
  case dimensionMismatch(path: String, expected: Int, actual: Int)
  /// The index was made by another model than the one given.
  case modelMismatch(path: String, index: String, model: String)
  /// An id is already in the index (append) or twice in the new documents.
  case duplicateID(id: String, path: String)
  /// A corpus or query file gives the same id on two lines.
  case duplicateIDInFile(file: String, id: String, firstLine: Int, line: Int)
  /// A line of a corpus or query file is not what the format needs.
  case badLine(file: String, line: Int, reason: String)
  /// A file holds no documents or queries.
  case emptyFile(file: String)
  /// K ≤ 0 was asked of a search.
  case invalidTopK(Int)
  /// The number of vectors does not match the number of ids.
  case countMismatch(vectors: Int, ids: Int)

  public var description: String {
    switch self {
    case .unreadableIndex(let path, let reason):
      return "index \(path) cannot be read: \(reason)"
    case .notAnIndex(let path, let reason):
      return "\(path) is not a dense index: \(reason)"
    case .idCountMismatch(let path, let idCount, let vectorCount):
      return "index \(path) holds \(idCount) ids for \(vectorCount) vectors; the file is damaged"
    case .dimensionMismatch(let path, let expected, let actual):
      return "index \(path) holds vectors of dimension \(expected), but these have \(actual)"
    case .modelMismatch(let path, let index, let model):
      return
        "index \(path) was made by the model \(index), not by \(model); re-index with this model"
    case .duplicateID(let id, let path):
      return "the id \"\(id)\" is already in index \(path)"
    case .duplicateIDInFile(let file, let id, let firstLine, let line):
      return "\(file):\(line): the id \"\(id)\" was already given on line \(firstLine)"
    case .badLine(let file, let line, let reason):
      return "\(file):\(line): \(reason)"
    case .emptyFile(let file):
      return "\(file) holds no entries"
    case .invalidTopK(let k):
      return "top-k must be at least 1, got \(k)"
    case .countMismatch(let vectors, let ids):
      return "\(vectors) vectors were given for \(ids) ids"
    }
  }
}
