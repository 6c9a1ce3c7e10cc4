// ShardIndexError: every way a sharded checkpoint's index and its shards can
// fail to agree. A shard that is itself a malformed safetensors file is a
// `SafeTensorsError` naming the shard.

/// An error in a sharded checkpoint: its index `model.safetensors.index.json`
/// is not valid, or it and the shards disagree. It names the index, the shard
/// and the tensor when they are involved, and the problem.
public struct ShardIndexError: Error, Equatable, Sendable {
  /// The path of the index file.
  public var path: String
  /// The shard involved (a file name relative to the index's directory), if any.
  public var shard: String?
  /// The tensor involved, if any.
  public var tensor: String?
  /// What went wrong.
  public var reason: Reason

  /// Makes an error about the index at `path`.
  public init(path: String, shard: String? = nil, tensor: String? = nil, reason: Reason) {
    self.path = path
    self.shard = shard
    self.tensor = tensor
    self.reason = reason
  }

  /// The problems an index and its shards can have.
  public enum Reason: Equatable, Sendable {
    // MARK: The index file

    /// The index could not be read; the system's message.
    case unreadable(String)
    /// The index is not valid UTF-8.
    case notUTF8
    /// The index is not valid JSON; the text says where and why.
    case notJSON(String)
    /// A key appears twice in one JSON object (a tensor listed twice in `weight_map`).
    case duplicateKey(String)
    /// A field is missing or has the wrong type; the text says which.
    case invalidField(String)
    /// A shard's name is absolute or leads out of the index's directory.
    case shardOutsideDirectory

    // MARK: The index against the shards

    /// The shard is not there; it should hold `tensorCount` tensors, `tensor` among them.
    case missingShard(tensorCount: Int)
    /// `weight_map` puts the tensor in `shard`, which does not hold it; `heldBy`
    /// is the shard that does, if any.
    case tensorNotInShard(heldBy: String?)
    /// The shard holds a tensor that `weight_map` does not list.
    case tensorNotInWeightMap
    /// The tensor is in `shard` and also in `other`.
    case tensorInTwoShards(other: String)
  }
}

extension ShardIndexError: CustomStringConvertible {
  public var description: String {
    var subject = "sharded checkpoint index \(path)"
    if let shard { subject += ", shard \"\(shard)\"" }
    if let tensor { subject += ", tensor \"\(tensor)\"" }
    return "\(subject): \(reason.sentence(shard: shard))"
  }
}

extension ShardIndexError.Reason {
  /// The problem as a sentence.
  func sentence(shard: String?) -> String {
    let shard = shard.map { "\"\($0)\"" } ?? "the shard"
    switch self {
    case .unreadable(let message):
      return "the index cannot be read: \(message)."
    case .notUTF8:
      return "the index is not valid UTF-8."
    case .notJSON(let detail):
      return "the index is not valid JSON: \(detail)."
    case .duplicateKey(let key):
      return "the index has the key \"\(key)\" more than once in the same object."
    case .invalidField(let detail):
      return "\(detail)."
    case .shardOutsideDirectory:
      return "a shard must be a file in the index's directory."
    case .missingShard(let tensorCount):
      return
        "the shard is missing; the index puts \(tensorCount) "
        + (tensorCount == 1 ? "tensor" : "tensors") + " in it, this one among them."
    case .tensorNotInShard(let heldBy):
      let holder = heldBy.map { "; it is in \"\($0)\"" } ?? "; no shard holds it"
      return "the index's weight_map puts this tensor in \(shard), which does not hold it\(holder)."
    case .tensorNotInWeightMap:
      return "\(shard) holds this tensor, but the index's weight_map does not list it."
    case .tensorInTwoShards(let other):
      return "the tensor is in both \(shard) and \"\(other)\"; it must be in one shard only."
    }
  }
}
