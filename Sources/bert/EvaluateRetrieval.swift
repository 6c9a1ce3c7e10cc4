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
    let depth = 100
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
        let documents = documents!
        let vectors = try RetrievalModel.embed(
          documents.map(\.text), pipeline: pipeline, batchSize: batchSize,
          maxBatchTokens: maxBatchTokens, maxLength: nil, title: "corpus")
        denseIndex = try DenseIndex(
          vectors: vectors, ids: documents.map(\.id), model: identity, path: corpus!)
      }
      let vectors = try RetrievalModel.embed(
        texts, pipeline: pipeline, batchSize: batchSize, maxBatchTokens: maxBatchTokens,
        maxLength: nil, title: "queries")
      dense = try denseIndex.search(queries: vectors, topK: depth)
    }
    var lexical: [[SearchHit]]?
    if bm25 || hybrid, let documents {
      lexical = try BM25Index(ids: documents.map(\.id), texts: documents.map(\.text))
        .search(texts, topK: depth)
    }
    let rankings: [[SearchHit]]
    if hybrid, let dense, let lexical {
      rankings = zip(lexical, dense).map { ScoreFusion.standard.fuse([$0, $1], topK: depth) }
    } else {
      rankings = dense ?? lexical ?? []
    }
    let metrics = RetrievalMetrics(
      rankings: rankings.map { $0.map(\.id) }, relevant: judged.map { Set($0.relevant) })
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
