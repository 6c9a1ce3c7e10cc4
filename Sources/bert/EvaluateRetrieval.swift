// `bert evaluate --task retrieval`: Recall@k, MRR@10 and nDCG@10 of a search
// over a corpus or an index, for judged queries (`--queries`).

import ArgumentParser
import BERT
import Foundation

/// The options of `evaluate --task retrieval`.
struct RetrievalEvaluationOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "retrieval: queries with their relevant ids, JSON Lines {\"id\",\"text\",\"relevant\":[ids]} "
        + "or TSV text<TAB>id<TAB>id….", valueName: "file"))
  var queries: String?

  @Option(help: ArgumentHelp("retrieval: the index to search.", valueName: "file"))
  var index: String?

  @Option(
    help: ArgumentHelp(
      "retrieval: the corpus to embed and search (without --index), or for --bm25 / --hybrid.",
      valueName: "file"))
  var corpus: String?

  @Flag(help: "retrieval: rank by BM25 over --corpus.")
  var bm25 = false

  @Flag(help: "retrieval: fuse the dense and BM25 rankings (reciprocal-rank fusion, k = 60).")
  var hybrid = false

  /// Runs the evaluation and prints the metrics as one JSON object.
  func run(modelOptions: ModelOptions, batchSize: Int, maxBatchTokens: Int?) throws {
    guard let queries else {
      throw CLIError("evaluate --task retrieval needs --queries FILE")
    }
    guard index != nil || corpus != nil else {
      throw CLIError("evaluate --task retrieval needs --index FILE or --corpus FILE")
    }
    if (bm25 || hybrid) && corpus == nil {
      throw CLIError("--bm25 and --hybrid need --corpus FILE")
    }
    let started = Date()
    let judged = try CorpusReader.readJudged(URL(fileURLWithPath: queries))
    let texts = judged.map(\.query.text)
    let documents = try corpus.map { try CorpusReader.read(URL(fileURLWithPath: $0)) }

    var dense: [[SearchHit]]?
    var modelName: String?
    if !bm25 {
      let directory = try modelOptions.directory()
      modelName = modelOptions.model ?? directory.path
      let pipeline = try BertPipeline(directory: directory)
      let identity = try RetrievalModel.identity(directory: directory, pipeline: pipeline)
      let denseIndex: DenseIndex
      if let index {
        denseIndex = try DenseIndex(contentsOf: URL(fileURLWithPath: index))
        guard denseIndex.model.isCompatible(with: identity) else {
          throw RetrievalError.modelMismatch(
            path: index, index: denseIndex.model.description, model: identity.description)
        }
      } else {
        denseIndex = try RetrievalRankings.index(
          documents!, pipeline: pipeline, identity: identity, path: corpus!,
          batchSize: batchSize, maxBatchTokens: maxBatchTokens)
      }
      dense = try RetrievalRankings.dense(
        texts, index: denseIndex, pipeline: pipeline, batchSize: batchSize,
        maxBatchTokens: maxBatchTokens)
    }
    var lexical: [[SearchHit]]?
    if bm25 || hybrid, let documents {
      lexical = try RetrievalRankings.lexical(texts, documents: documents)
    }
    let rankings: [[SearchHit]]
    if hybrid, let dense, let lexical {
      rankings = RetrievalRankings.hybrid(lexical: lexical, dense: dense)
    } else {
      rankings = dense ?? lexical ?? []
    }
    let metrics = RetrievalRankings.metrics(rankings, judged: judged)
    let method = bm25 ? "bm25" : hybrid ? "hybrid" : "dense"
    let seconds = (Date().timeIntervalSince(started) * 1000).rounded() / 1000
    let output = JSONOut.object([
      ("task", .string("retrieval")),
      ("model", modelName.map { .string($0) } ?? .null),
      ("queries", .string(queries)),
      ("examples", .int(metrics.queryCount)),
      ("method", .string(method)),
      ("primary_metric", .string("mrr@10")),
      ("metrics", .doubles(metrics.named)),
      ("seconds", .double(seconds)),
    ])
    Console.out(output.compact)
    Console.err(
      "evaluate: mrr@10 \(String(format: "%.4f", metrics.mrrAt10)), recall@10 "
        + "\(String(format: "%.4f", metrics.recall[10] ?? 0)) over \(metrics.queryCount) queries "
        + "(\(method))")
  }
}

/// The rankings that `evaluate --task retrieval` and the demo's retrieval row
/// score: dense, BM25 and their fusion, each `depth` deep (Recall@100 needs 100).
enum RetrievalRankings {
  static let depth = 100

  /// An in-memory index of `documents` embedded by `pipeline`, with a progress bar.
  static func index(
    _ documents: [IdentifiedText], pipeline: BertPipeline, identity: ModelIdentity, path: String,
    batchSize: Int, maxBatchTokens: Int?
  ) throws -> DenseIndex {
    let vectors = try RetrievalModel.embed(
      documents.map(\.text), pipeline: pipeline, batchSize: batchSize,
      maxBatchTokens: maxBatchTokens, maxLength: nil, title: "corpus")  // [N][D]
    return try DenseIndex(vectors: vectors, ids: documents.map(\.id), model: identity, path: path)
  }

  /// The exact dense ranking of each query in `index`.
  static func dense(
    _ queries: [String], index: DenseIndex, pipeline: BertPipeline, batchSize: Int,
    maxBatchTokens: Int?
  ) throws -> [[SearchHit]] {
    let vectors = try RetrievalModel.embed(
      queries, pipeline: pipeline, batchSize: batchSize, maxBatchTokens: maxBatchTokens,
      maxLength: nil, title: "queries")  // [Q][D]
    return try index.search(queries: vectors, topK: depth)
  }

  /// The BM25 ranking of each query over `documents` (k1 1.5, b 0.75).
  static func lexical(_ queries: [String], documents: [IdentifiedText]) throws -> [[SearchHit]] {
    try BM25Index(ids: documents.map(\.id), texts: documents.map(\.text))
      .search(queries, topK: depth)
  }

  /// BM25 and dense fused by reciprocal rank (k = 60), query by query.
  static func hybrid(lexical: [[SearchHit]], dense: [[SearchHit]]) -> [[SearchHit]] {
    zip(lexical, dense).map { ScoreFusion.standard.fuse([$0, $1], topK: depth) }
  }

  static func metrics(_ rankings: [[SearchHit]], judged: [JudgedQuery]) -> RetrievalMetrics {
    RetrievalMetrics(
      rankings: rankings.map { $0.map(\.id) }, relevant: judged.map { Set($0.relevant) })
  }
}
