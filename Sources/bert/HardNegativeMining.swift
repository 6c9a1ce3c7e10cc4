// `bert finetune --task retrieval --mine-hard-negatives K`: hard negatives
// mined with the starting model before training, kept in the output folder so
// that a resumed run trains on the same ones.

import BERT
import Foundation

enum HardNegativeMining {
  /// The file in `--output` that holds the mined training pairs.
  static let fileName = "mined-negatives.jsonl"

  /// `pairs` with `miner.count` mined negatives appended to each, mined by
  /// the model in `directory` at `maxLength` tokens; read back from
  /// `output/mined-negatives.jsonl` instead when resuming a run. Under
  /// mpirun, rank 0 alone mines and writes the file, and every rank trains on
  /// the pairs it broadcasts.
  static func pairs(
    _ pairs: [RetrievalExample], miner: HardNegativeMiner, directory: URL, maxLength: Int,
    batchSize: Int, output: URL
  ) throws -> [RetrievalExample] {
    let file = output.appendingPathComponent(fileName)
    var bytes: [UInt8] = []
    if Job.current?.isRoot ?? true {
      bytes = try minedLines(
        pairs, miner: miner, directory: directory, maxLength: maxLength, batchSize: batchSize,
        file: file)
    }
    try Job.current?.broadcast(bytes: &bytes, root: 0)
    return try RetrievalExampleReader.read(bytes: bytes, format: .jsonLines, source: file.path)
      .examples
  }

  /// The JSON Lines of the mined pairs: those saved in `file` when resuming a
  /// run on the same pairs, else mined now and written to `file`.
  private static func minedLines(
    _ pairs: [RetrievalExample], miner: HardNegativeMiner, directory: URL, maxLength: Int,
    batchSize: Int, file: URL
  ) throws -> [UInt8] {
    if TrainingRun.savedPosition(in: file.deletingLastPathComponent()) != nil,
      FileManager.default.fileExists(atPath: file.path)
    {
      let bytes = try TextFile.bytes(of: file)
      let saved = try RetrievalExampleReader.read(
        bytes: bytes, format: .jsonLines, source: file.path
      ).examples
      if saved.map(\.query) == pairs.map(\.query) && saved.map(\.positive) == pairs.map(\.positive)
      {
        Console.err("resuming with the hard negatives mined before, in \(file.path)")
        return bytes
      }
    }
    let pipeline = try BertPipeline(directory: directory)
    let candidates = HardNegativeMiner.candidates(pairs)
    Console.err(
      "mining \(miner.count) hard negatives per pair among \(candidates.count) passages "
        + "(margin \(miner.margin), the first \(miner.depth) ranked)")
    let candidateVectors = try RetrievalModel.embed(
      candidates, pipeline: pipeline, batchSize: batchSize, maxBatchTokens: nil,
      maxLength: maxLength, title: "passages")  // [C][D]
    let queryVectors = try RetrievalModel.embed(
      pairs.map(\.query), pipeline: pipeline, batchSize: batchSize, maxBatchTokens: nil,
      maxLength: maxLength, title: "queries")  // [E][D]
    let mined = try miner.mine(
      pairs, queryVectors: queryVectors, candidateVectors: candidateVectors)
    let added = zip(mined, pairs).map { $0.negatives.count - $1.negatives.count }
    Console.err(
      "mined \(added.reduce(0, +)) negatives; \(added.filter { $0 < miner.count }.count) pairs "
        + "got fewer than \(miner.count)")
    let lines = mined.map { pair in
      JSONOut.object([
        ("query", .string(pair.query)), ("positive", .string(pair.positive)),
        (RetrievalExampleReader.negativesKey, .strings(pair.negatives)),
      ]).compact + "\n"
    }
    let bytes = Array(lines.joined().utf8)
    try Data(bytes).write(to: file, options: .atomic)
    return bytes
  }
}
