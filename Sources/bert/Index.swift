// `bert index`: embed a corpus into a dense index file.

import ArgumentParser
import BERT
import Foundation

struct Index: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Embed a corpus into a dense index for bert search.",
    discussion: """
      The corpus is JSON Lines {"id": ..., "text": ...} (when its first line starts \
      with '{'), or one text per line with the line number (1-based) as its id; an id \
      given twice is an error naming both lines. Texts are embedded as bert encode \
      embeds them (the model's pooling and normalisation, length-sorted batches) and \
      written, with their ids and the model's identity, to one safetensors file: \
      fp32 vectors, or with --precision int8 int8 vectors with one scale each (a \
      quarter of the size). The file is written to a temporary name and renamed.

      --append adds the corpus to an existing index: ids it already holds are \
      refused, and so is a model other than the one that built it.

      Examples:
        bert index --model all-MiniLM-L6-v2 --corpus corpus.jsonl --output corpus.index
        bert index --corpus more.jsonl --output corpus.index --append
      """)

  @OptionGroup var compute: ComputeOptions
  @OptionGroup var modelOptions: ModelOptions

  @Option(help: ArgumentHelp("The documents: JSON Lines {\"id\",\"text\"} or one per line."))
  var corpus: String

  @Option(help: ArgumentHelp("The index file to write.", valueName: "file"))
  var output: String

  @Option(help: "How to store the vectors: fp32, or int8 with one scale per vector.")
  var precision: Precision = .fp32

  @Flag(help: "Add the corpus to the index in --output instead of replacing it.")
  var append = false

  @Option(help: ArgumentHelp("Texts per forward pass.", valueName: "n"))
  var batchSize = 32

  @OptionGroup var batching: BatchingOptions

  @Option(
    help: ArgumentHelp("Truncate to this many tokens, [CLS] and [SEP] included.", valueName: "n"))
  var maxLength: Int?

  func validate() throws {
    guard batchSize > 0 else { throw ValidationError("--batch-size must be positive.") }
  }

  func run() throws {
    try reportingErrors("index") {
      try compute.apply()
      let directory = try modelOptions.directory()
      let pipeline = try BertPipeline(directory: directory)
      let identity = try RetrievalModel.identity(directory: directory, pipeline: pipeline)
      let outputURL = URL(fileURLWithPath: output)
      var existing: DenseIndex?
      if append && FileManager.default.fileExists(atPath: outputURL.path) {
        let index = try DenseIndex(contentsOf: outputURL)
        guard index.model.isCompatible(with: identity) else {
          throw RetrievalError.modelMismatch(
            path: outputURL.path, index: index.model.description, model: identity.description)
        }
        existing = index
      }
      let documents = try CorpusReader.read(URL(fileURLWithPath: corpus))
      if let existing {
        let held = Set(existing.ids)
        if let repeated = documents.first(where: { held.contains($0.id) }) {
          throw CLIError(
            "\(corpus):\(repeated.line): the id \"\(repeated.id)\" is already in index \(output)")
        }
      }
      let vectors = try RetrievalModel.embed(
        documents.map(\.text), pipeline: pipeline, batchSize: batchSize,
        maxBatchTokens: batching.maxBatchTokens, maxLength: maxLength, title: "index")
      let index =
        try existing?.appending(vectors: vectors, ids: documents.map(\.id), model: identity)
        ?? DenseIndex(
          vectors: vectors, ids: documents.map(\.id), model: identity,
          precision: precision, path: outputURL.path)
      try index.write(to: outputURL)
      Console.err(
        "index: \(documents.count) documents \(existing == nil ? "indexed" : "appended"); "
          + "\(output) holds \(index.count) \(index.precision) vectors of \(index.dimension) "
          + "dimensions from \(identity.name)")
    }
  }
}

/// What `index`, `search` and `evaluate --task retrieval` share: the model's
/// identity and embedding with progress.
enum RetrievalModel {
  /// The identity of the model in `directory` as `pipeline` embeds with it.
  static func identity(directory: URL, pipeline: BertPipeline) throws -> ModelIdentity {
    let settings = pipeline.embedding
    guard !settings.pooling.contains(.none) else {
      throw CLIError("the model's pooling is none; an index needs one vector per text")
    }
    let dimension = pipeline.model.config.hiddenSize * settings.pooling.count
    return try ModelIdentity(directory: directory, embedding: settings, dimension: dimension)
  }

  /// Embeddings of `texts` [N][D] in input order, with a progress bar on stderr
  /// when there are more than a few windows.
  static func embed(
    _ texts: [String], pipeline: BertPipeline, batchSize: Int, maxBatchTokens: Int?,
    maxLength: Int?, title: String
  ) throws -> [[Float]] {
    let limit =
      try maxLength == nil
      ? pipeline.defaultMaxLength
      : ModelCheck.maxLength(
        maxLength, fallback: nil, config: pipeline.model.config, tokenizer: pipeline.tokenizer,
        minimum: 3, what: "a single text")
    let window = batchSize * 16
    let bar = texts.count > window ? ProgressBar(title: title, total: texts.count) : nil
    let started = Date()
    var vectors: [[Float]] = []
    vectors.reserveCapacity(texts.count)
    for start in stride(from: 0, to: texts.count, by: window) {
      let range = start..<min(texts.count, start + window)
      vectors += pipeline.embed(
        Array(texts[range]), maxLength: limit, batchSize: batchSize,
        maxBatchTokens: maxBatchTokens)
      let seconds = Date().timeIntervalSince(started)
      bar?.update(
        step: range.upperBound, fields: [("texts", "\(range.upperBound)")],
        examplesPerSecond: seconds > 0 ? Double(range.upperBound) / seconds : nil)
    }
    bar?.finish()
    return vectors
  }
}
