import Foundation
import Testing

@testable import BERT

/// A sharded copy of a committed model directory, made in a temporary
/// directory: its tensors split into shards with this package's safetensors
/// writer, and a `model.safetensors.index.json` in transformers' format. Each
/// malformed variant is made by changing such a copy.
final class ShardedCopy {
  /// The sharded directory (removed on deinit).
  let url: URL
  /// The shard file names, in order.
  let shards: [String]
  /// The tensors of each shard, in name order.
  var tensorsOfShard: [String: [String]]
  /// The index's `weight_map`, tensor → shard.
  var weightMap: [String: String]
  /// The index's `metadata`.
  var metadata: [String: Any]

  /// Splits `source`'s `model.safetensors` into `shardCount` shards of
  /// consecutive names (sorted), and copies its other files except the single
  /// weights file. `total_size` is the sum of the tensors' byte sizes, counted
  /// here as elements × 4 for F32 and × 8 for I64.
  init(of source: URL, shardCount: Int = 3) throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "bert-sharded-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    for name in try FileManager.default.contentsOfDirectory(atPath: source.path)
    where name != "model.safetensors" && !name.hasPrefix("reference") {
      try FileManager.default.copyItem(
        at: source.appendingPathComponent(name), to: url.appendingPathComponent(name))
    }
    let single = try SafeTensorsFile(contentsOf: source.appendingPathComponent("model.safetensors"))
    let names = single.names.sorted()
    let perShard = (names.count + shardCount - 1) / shardCount
    shards = (1...shardCount).map {
      "model-\(String(format: "%05d", $0))-of-\(String(format: "%05d", shardCount)).safetensors"
    }
    tensorsOfShard = [:]
    weightMap = [:]
    var totalSize = 0
    for (position, shard) in shards.enumerated() {
      let held = Array(names[(position * perShard)..<min(names.count, (position + 1) * perShard)])
      tensorsOfShard[shard] = held
      for name in held {
        weightMap[name] = shard
        let info = try #require(single.info(for: name))
        totalSize += info.elementCount * (info.dtype == .i64 ? 8 : 4)
      }
    }
    metadata = ["total_size": totalSize, "total_parameters": 0]
    for shard in shards {
      try writeShard(shard, from: single, names: tensorsOfShard[shard]!)
    }
    try writeIndex()
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  /// The index file.
  var indexURL: URL { url.appendingPathComponent("model.safetensors.index.json") }

  /// Writes the shard `shard` with the tensors `names`, read from `file`, and
  /// optionally replaced or added by `extra`.
  func writeShard(
    _ shard: String, from file: SafeTensorsFile, names: [String],
    extra: [(String, SafeTensors.Entry)] = []
  ) throws {
    var entries: [(String, SafeTensors.Entry)] = []
    for name in names where !extra.contains(where: { $0.0 == name }) {
      let info = try #require(file.info(for: name))
      entries.append(
        info.dtype == .i64
          ? (name, .int64(try file.integers(named: name), shape: info.shape))
          : (name, .float32(try file.tensor(named: name))))
    }
    try SafeTensors.write(
      entries: entries + extra, metadata: ["format": "pt"], to: url.appendingPathComponent(shard))
  }

  /// Rewrites a shard: its current tensors minus `removing`, plus `adding`
  /// (which replaces a tensor of the same name).
  func rewriteShard(
    _ shard: String, removing: [String] = [], adding: [(String, SafeTensors.Entry)] = []
  ) throws {
    let current = try SafeTensorsFile(contentsOf: url.appendingPathComponent(shard))
    let kept = current.names.filter { !removing.contains($0) }
    // Read everything before the file is replaced.
    var entries: [(String, SafeTensors.Entry)] = []
    for name in kept where !adding.contains(where: { $0.0 == name }) {
      entries.append((name, .float32(try current.tensor(named: name))))
    }
    try SafeTensors.write(
      entries: entries + adding, metadata: ["format": "pt"], to: url.appendingPathComponent(shard))
  }

  /// Writes `model.safetensors.index.json` from `metadata` and `weightMap`, as
  /// transformers does (indented, sorted keys).
  func writeIndex() throws {
    let object: [String: Any] = ["metadata": metadata, "weight_map": weightMap]
    let data = try JSONSerialization.data(
      withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    try data.write(to: indexURL)
  }

  /// Writes `text` as the index.
  func writeIndex(text: String) throws {
    try Data(text.utf8).write(to: indexURL)
  }
}
