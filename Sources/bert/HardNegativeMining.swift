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
  /// `output/mined-negatives.jsonl` instead when resuming a run.
  static func pairs(
    _ pairs: [RetrievalExample], miner: HardNegativeMiner, directory: URL, maxLength: Int,
    batchSize: Int, output: URL
  ) throws -> [RetrievalExample] {
    let file = output.appendingPathComponent(fileName)
    if TrainingRun.savedPosition(in: output) != nil,
      FileManager.default.fileExists(atPath: file.path)
    {
      let saved = try RetrievalExampleReader.read(contentsOf: file).examples
      if saved.map(\.query) == pairs.map(\.query) && saved.map(\.positive) == pairs.map(\.positive)
      {
        Console.err("resuming with the hard negatives mined before, in \(file.path)")
        return saved
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
    try Data(lines.joined().utf8).write(to: file, options: .atomic)
    return mined
  }
}
