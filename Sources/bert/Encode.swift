// `bert encode`: texts from stdin to embeddings or hidden states.

import ArgumentParser
import BERT
import Foundation

extension Pooling: ExpressibleByArgument {}

struct Encode: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Embed texts from stdin, one per line, as JSON lines.",
    discussion: """
      Reads one text per line from stdin (with --pair, two texts split by one TAB) \
      and writes one JSON object per line, in input order: {"embedding":[...]} \
      with --pooling cls, mean, max, mean-sqrt-len or pooler, or {"hidden":[[...],...]} \
      (one vector per token, [CLS] and [SEP] included) with --pooling none.

      mean averages the last hidden states of the real tokens, as sentence-transformers \
      does for all-MiniLM-L6-v2, whose embeddings are meant to be compared by cosine \
      similarity. max takes each dimension's largest value over the real tokens, \
      mean-sqrt-len their sum over the square root of their count; cls takes the [CLS] \
      state, pooler the pooler's tanh(dense([CLS])).

      By default the model's own recipe applies: a sentence-transformers directory's \
      pooling (modules.json and its Pooling config; several modes are concatenated), \
      its Normalize module (unit-length vectors) and the max_seq_length of \
      sentence_bert_config.json. Without those files: mean pooling, not normalised, up \
      to the model's limit. --pooling, --normalize/--no-normalize and --max-length \
      override them; 'bert info' shows what the directory holds.

      --whiten FILE whitens the embeddings (mean removed, covariance made the \
      identity, which often helps cosine similarity): with the whitening saved in FILE, \
      or, when FILE does not exist, with one fitted on this input (two texts at least) \
      and saved to FILE for later runs.

      Examples:
        echo "A cat sat on the mat." | bert encode
        bert encode --pooling cls --batch-size 64 < sentences.txt > vectors.jsonl
        echo "The first token" | bert encode --pooling none --max-length 16
        bert encode --whiten whitening.safetensors < corpus.txt > whitened.jsonl

      Under mpirun (a build with the package trait MPI) the input is shared out \
      among the ranks, line i of every window of lines to rank i mod N, and rank 0 \
      writes every line in input order; with --output-shards DIR each rank writes \
      its own lines to DIR/part-RANK.jsonl instead, each with its input line number, \
      and rank 0 writes DIR/manifest.json.
        mpirun -np 4 bert encode < corpus.txt > vectors.jsonl
        mpirun -np 4 bert encode --output-shards vectors < corpus.txt
      """)

  @OptionGroup var compute: ComputeOptions
  @OptionGroup var modelOptions: ModelOptions

  @Option(
    help: ArgumentHelp(
      "How to pool the token states: cls, mean, max, mean-sqrt-len, pooler or none "
        + "(default: the model's own, else mean).", valueName: "mode"))
  var pooling: Pooling?

  @Flag(
    inversion: .prefixedNo,
    help:
      "Scale each embedding to unit length (default: as the model's Normalize module says, else not)."
  )
  var normalize: Bool?

  @Option(help: ArgumentHelp("Texts per forward pass.", valueName: "n"))
  var batchSize = 32

  @OptionGroup var batching: BatchingOptions
  @OptionGroup var precisionOptions: PrecisionOptions

  @Option(
    help: ArgumentHelp("Truncate to this many tokens, [CLS] and [SEP] included.", valueName: "n"))
  var maxLength: Int?

  @Flag(help: "Report the batches run and the share of computed tokens that were padding.")
  var verbose = false

  @Flag(help: "Each line holds two texts separated by one TAB, encoded as one pair.")
  var pair = false

  @Option(
    help: ArgumentHelp(
      "Whiten the embeddings with the whitening saved in this file; when it does not exist, "
        + "fit one on the input and save it there.", valueName: "file"))
  var whiten: String?

  @Option(
    help: ArgumentHelp(
      "With --whiten, when fitting: keep this many dimensions (default: all).", valueName: "n"))
  var whitenDimensions: Int?

  @Option(
    help: ArgumentHelp(
      "Under mpirun: each rank writes its lines to DIR/part-RANK.jsonl (with their input line "
        + "numbers) and rank 0 a manifest, instead of rank 0 writing all to stdout.",
      valueName: "dir"), completion: .directory)
  var outputShards: String?

  func validate() throws {
    guard batchSize > 0 else { throw ValidationError("--batch-size must be positive.") }
    if whiten != nil && pooling == Pooling.none {
      throw ValidationError(
        "--whiten applies to pooled embeddings; use --pooling cls, mean, max, mean-sqrt-len or "
          + "pooler.")
    }
    if normalize != nil && pooling == Pooling.none {
      throw ValidationError(
        "--normalize and --no-normalize apply to pooled embeddings, not to --pooling none.")
    }
    if let whitenDimensions, whitenDimensions < 1 {
      throw ValidationError("--whiten-dimensions must be at least 1.")
    }
  }

  func run() throws {
    try reportingErrors("encode") {
      let job = try Job.join()
      try compute.apply()
      try Job.checkAgreement(files: [])
      if job.size > 1, whiten != nil {
        throw CLIError(
          "--whiten is not available under mpirun: fitting needs every embedding in one process; "
            + "fit it in one process first, then encode with the saved file")
      }
      let shards = try outputShards.map {
        try ShardWriter(directory: $0, communicator: job)
      }
      let directory = try modelOptions.directory()
      let pipeline = try BertPipeline(directory: directory, precision: precisionOptions.precision)
      let modes = pooling.map { [$0] } ?? pipeline.embedding.pooling
      if modes.contains(.pooler) && pipeline.model.pooler == nil {
        throw CLIError(
          "this model has no pooler weights, so --pooling pooler is not possible; use cls or mean")
      }
      // Without --max-length: the model's max_seq_length, as sentence-transformers cuts.
      let limit =
        try maxLength == nil
        ? pipeline.defaultMaxLength
        : ModelCheck.maxLength(
          maxLength, fallback: nil, config: pipeline.model.config,
          tokenizer: pipeline.tokenizer,
          minimum: pair ? 4 : 3, what: pair ? "a pair" : "a single text")
      let input = try Job.standardInput(example: "echo 'some text' | bert encode")
      let (texts, seconds) = pair ? try input.pairs() : (input.lines, [])
      if let whiten {
        try runWhitened(
          whiten, pipeline: pipeline, texts: texts, pairs: pair ? seconds : nil, limit: limit)
        return
      }

      // The library sorts each window by length and batches it by the token
      // budget; the output keeps input order, a window at a time.
      // Under mpirun each rank takes every N-th line of a window (N ranks).
      var statistics = BatchingStatistics()
      let window = batchSize * 16 * job.size
      for start in stride(from: 0, to: texts.count, by: window) {
        let range = Array(
          stride(from: start + job.rank, to: min(texts.count, start + window), by: job.size))
        let windowTexts = range.map { texts[$0] }
        let windowPairs = pair ? range.map { seconds[$0] } : nil
        let lines: [String]
        if pooling == Pooling.none {
          lines = pipeline.hiddenStates(
            windowTexts, pairs: windowPairs, maxLength: limit, batchSize: batchSize,
            maxBatchTokens: batching.maxBatchTokens, statistics: &statistics
          ).map { JSONOut.object([("hidden", .array($0.map { .floats($0) }))]).compact }
        } else {
          lines = pipeline.embed(
            windowTexts, pairs: windowPairs, pooling: pooling, normalize: normalize,
            maxLength: limit, batchSize: batchSize, maxBatchTokens: batching.maxBatchTokens,
            statistics: &statistics
          ).map { JSONOut.object([("embedding", .floats($0))]).compact }
        }
        if let shards {
          try shards.write(lines, lineNumbers: range)
        } else if job.size > 1 {
          try writeGathered(lines, communicator: job)
        } else {
          FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
      }
      try shards?.finish(total: texts.count)
      if job.size > 1 { statistics = try Job.sum(statistics) }
      if verbose { Console.err("encode: \(BatchingOptions.describe(statistics))") }
    }
  }
}

/// Rank 0 writes every rank's lines of a window in input order: rank r holds
/// the window's lines r, r + N, r + 2N, … (N ranks).
func writeGathered(_ lines: [String], communicator job: any Communicator) throws {
  let parts = try job.allgather(Array(lines.joined(separator: "\n").utf8))
  guard job.isRoot else { return }
  let split = parts.map { part in
    part.isEmpty ? [] : part.split(separator: 0x0A, omittingEmptySubsequences: false)
  }
  var output: [UInt8] = []
  let count = split.reduce(0) { $0 + $1.count }
  for index in 0..<count {
    output += split[index % job.size][index / job.size]
    output.append(0x0A)
  }
  FileHandle.standardOutput.write(Data(output))
}
