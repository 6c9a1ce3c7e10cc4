// ModelIdentity: which model made an index's vectors, so that queries are
// embedded by the same one.

import Foundation

/// The model an index was built with: its name, a fingerprint of its files,
/// its pooling and the embeddings' dimension.
///
/// The fingerprint is FNV-1a (64-bit) over the bytes of `config.json` followed
/// by the header of `model.safetensors` (its 8-byte size and the JSON header,
/// which names every tensor with its dtype, shape and offsets), or by
/// `model.safetensors.index.json` for a sharded model. Two directories with the
/// same files have the same fingerprint wherever they are; a fine-tuned copy
/// (other offsets are rare, but other weights under the same header are
/// possible) is told apart by its config or header in practice, not by its values.
public struct ModelIdentity: Codable, Equatable, Sendable, CustomStringConvertible {
  /// The directory's name, e.g. `all-MiniLM-L6-v2`.
  public var name: String
  /// The directory's path when the index was built; the default model of `bert search`.
  public var path: String
  /// 16 hexadecimal digits: see the type's discussion.
  public var fingerprint: String
  /// The pooling modes joined by `+`, e.g. `mean`.
  public var pooling: String
  /// Whether embeddings are scaled to unit length.
  public var normalized: Bool
  /// D, the embeddings' dimension.
  public var dimension: Int

  public init(
    name: String, path: String, fingerprint: String, pooling: String, normalized: Bool,
    dimension: Int
  ) {
    self.name = name
    self.path = path
    self.fingerprint = fingerprint
    self.pooling = pooling
    self.normalized = normalized
    self.dimension = dimension
  }

  /// The identity of vectors that never leave this process (an index built
  /// in memory to rank once): no name, path or fingerprint.
  public static func inMemory(pooling: String, normalized: Bool, dimension: Int) -> ModelIdentity {
    ModelIdentity(
      name: "(in memory)", path: "", fingerprint: "", pooling: pooling, normalized: normalized,
      dimension: dimension)
  }

  /// The identity of the model in `directory`, embedding as `embedding` says,
  /// with vectors of `dimension` values.
  public init(directory: URL, embedding: EmbeddingSettings, dimension: Int) throws {
    self.init(
      name: directory.standardizedFileURL.lastPathComponent,
      path: directory.standardizedFileURL.path,
      fingerprint: try Self.fingerprint(directory: directory),
      pooling: embedding.pooling.map(\.rawValue).joined(separator: "+"),
      normalized: embedding.normalize, dimension: dimension)
  }

  /// Whether vectors of `other` can be compared with vectors of this model:
  /// the same fingerprint, pooling, normalisation and dimension (name and path
  /// may differ).
  public func isCompatible(with other: ModelIdentity) -> Bool {
    fingerprint == other.fingerprint && pooling == other.pooling
      && normalized == other.normalized && dimension == other.dimension
  }

  public var description: String {
    "\(name) (\(pooling)\(normalized ? ", normalized" : ""), \(dimension) dimensions, "
      + "fingerprint \(fingerprint))"
  }

  /// The fingerprint of the model files in `directory`.
  public static func fingerprint(directory: URL) throws -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ bytes: some Sequence<UInt8>) {
      for byte in bytes {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01b3
      }
    }
    mix(try Data(contentsOf: directory.appendingPathComponent("config.json")))
    let weights = directory.appendingPathComponent("model.safetensors")
    if let handle = try? FileHandle(forReadingFrom: weights) {
      defer { try? handle.close() }
      let prefix = try handle.read(upToCount: 8) ?? Data()
      mix(prefix)
      if prefix.count == 8 {
        let size = prefix.withUnsafeBytes {
          UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))
        }
        mix(try handle.read(upToCount: Int(min(size, 100_000_000))) ?? Data())
      }
    } else {
      let index = directory.appendingPathComponent("model.safetensors.index.json")
      if let data = try? Data(contentsOf: index) { mix(data) }
    }
    return String(hash, radix: 16).leftPadded(to: 16)
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}
