// `--output-shards DIR`: under mpirun, every rank writes its own output lines
// to a file of its own, and rank 0 a manifest that lists them.

import BERT
import Foundation

/// One rank's shard of a sharded output: `part-RANK.jsonl`, each line a JSON
/// object with its input line number (`"line"`, from 1) first; rank 0 writes
/// `manifest.json` once every rank is done. A shard is written under a
/// temporary name and renamed when complete, so that no half-written shard
/// carries the final name.
final class ShardWriter {
  private let directory: URL
  private let communicator: any Communicator
  private let partial: URL
  private let handle: FileHandle
  private var count = 0

  init(directory path: String, communicator: any Communicator) throws {
    directory = try ModelCheck.writableDirectory(path, option: "--output-shards")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    self.communicator = communicator
    partial = directory.appendingPathComponent(".\(Self.name(communicator.rank)).partial")
    FileManager.default.createFile(atPath: partial.path, contents: nil)
    handle = try FileHandle(forWritingTo: partial)
  }

  /// The file name of a rank's shard.
  static func name(_ rank: Int) -> String { String(format: "part-%05d.jsonl", rank) }

  /// Appends JSON object lines, each given its 0-based input line number.
  func write(_ lines: [String], lineNumbers: [Int]) throws {
    var text = ""
    for (line, number) in zip(lines, lineNumbers) {
      text += "{\"line\":\(number + 1)," + line.dropFirst() + "\n"
    }
    try handle.write(contentsOf: Data(text.utf8))
    count += lines.count
  }

  /// Closes this rank's shard and, on rank 0, writes the manifest.
  func finish(total: Int) throws {
    try handle.close()
    let final = directory.appendingPathComponent(Self.name(communicator.rank))
    try? FileManager.default.removeItem(at: final)
    try FileManager.default.moveItem(at: partial, to: final)
    let counts = try communicator.allgather(Array(String(count).utf8)).map {
      Int(String(decoding: $0, as: UTF8.self)) ?? 0
    }
    guard communicator.isRoot else { return }
    let shards = counts.enumerated().map { rank, lines in
      JSONOut.object([("file", .string(Self.name(rank))), ("lines", .int(lines))])
    }
    let manifest = JSONOut.object([
      ("ranks", .int(communicator.size)), ("lines", .int(total)), ("shards", .array(shards)),
    ])
    try Data((manifest.pretty + "\n").utf8).write(
      to: directory.appendingPathComponent("manifest.json"), options: .atomic)
  }
}
