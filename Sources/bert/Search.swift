// `bert search`: ranked documents for each query, from a dense index, BM25 or both.

import ArgumentParser
import BERT
import Foundation

struct Search: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Search a dense index (or BM25, or both) for each query.",
    discussion: """
      Queries come from stdin, or from --queries FILE: one per line (the id is the \
      line number) or JSON Lines {"id","text"}. Each query gives one JSON line: \
      {"query_id": ..., "results": [{"id": ..., "score": ...}, ...]}, best first.

      Dense search embeds the queries with --model (default: the model recorded in \
      the index; another model is refused) and ranks every document by inner product \
      (cosine for normalised embeddings), exactly.

      --bm25 ranks by Okapi BM25 (k1 1.5, b 0.75) instead, over --corpus, the file \
      the index was built from; it needs no model or index. --hybrid fuses the dense \
      and the BM25 rankings (their first max(K, 100) each) by reciprocal-rank fusion, \
      score = Σ 1/(60 + rank). --rerank MODEL rescores the first --rerank-top \
      candidates with a pair-classification or pair-regression model (a \
      cross-encoder), reading their texts from --corpus.

      Examples:
        echo "who wrote hamlet" | bert search --index corpus.index --top-k 5
        bert search --index corpus.index --queries queries.jsonl --hybrid --corpus corpus.jsonl
        bert search --bm25 --corpus corpus.jsonl < queries.txt
      """)

  @OptionGroup var compute: ComputeOptions

  @Option(help: ArgumentHelp("The index file that bert index wrote.", valueName: "file"))
  var index: String?

  @Option(
    help: ArgumentHelp(
      "The model to embed queries with (default: the one recorded in the index).",
      valueName: "dir"))
  var model: String?

  @Option(help: ArgumentHelp("Results per query.", valueName: "k"))
  var topK = 10

  @Option(
    help: ArgumentHelp("Read the queries from this file instead of stdin.", valueName: "file"))
  var queries: String?

  @Option(
    help: ArgumentHelp(
      "The corpus the index was built from: needed by --bm25, --hybrid and --rerank.",
      valueName: "file"))
  var corpus: String?

  @Flag(help: "Rank by BM25 over --corpus instead of the dense index.")
  var bm25 = false

  @Flag(help: "Fuse the dense and BM25 rankings by reciprocal-rank fusion (k = 60).")
  var hybrid = false

  @Option(help: ArgumentHelp("A pair model that rescores the first candidates.", valueName: "dir"))
  var rerank: String?

  @Option(help: ArgumentHelp("Candidates the reranker rescores.", valueName: "n"))
  var rerankTop = 100

  @Option(help: ArgumentHelp("Texts per forward pass.", valueName: "n"))
  var batchSize = 32

  @OptionGroup var batching: BatchingOptions

  func validate() throws {
    guard topK >= 1 else { throw ValidationError("--top-k must be at least 1, got \(topK).") }
    guard rerankTop >= 1 else {
      throw ValidationError("--rerank-top must be at least 1, got \(rerankTop).")
    }
    guard batchSize > 0 else { throw ValidationError("--batch-size must be positive.") }
    if bm25 && hybrid { throw ValidationError("--bm25 and --hybrid exclude each other.") }
    if (bm25 || hybrid || rerank != nil) && corpus == nil {
      throw ValidationError("--bm25, --hybrid and --rerank need --corpus, the indexed documents.")
    }
    if !bm25 && index == nil {
      throw ValidationError("give --index FILE (or --bm25 --corpus FILE).")
    }
  }

  func run() throws {
    try reportingErrors("search") {
      try compute.apply()
      let queryList: [IdentifiedText]
      if let queries {
        queryList = try CorpusReader.read(URL(fileURLWithPath: queries))
      } else {
        let input = try InputLines.standardInput(example: "echo 'a question' | bert search ...")
        queryList = try CorpusReader.parse(input.lines.joined(separator: "\n"), file: "stdin")
      }
      let documents = try corpus.map { try CorpusReader.read(URL(fileURLWithPath: $0)) }
      let texts = documents.map {
        Dictionary($0.map { ($0.id, $0.text) }, uniquingKeysWith: { a, _ in a })
      }
      let depth = max(topK, rerank == nil ? 0 : rerankTop, hybrid ? 100 : 0)

      var lexical: [[SearchHit]]?
      if bm25 || hybrid, let documents {
        let engine = BM25Index(ids: documents.map(\.id), texts: documents.map(\.text))
        lexical = try engine.search(queryList.map(\.text), topK: depth)
      }
      var dense: [[SearchHit]]?
      if !bm25, let index {
        let denseIndex = try DenseIndex(contentsOf: URL(fileURLWithPath: index))
        if let texts {
          if let missing = denseIndex.ids.first(where: { texts[$0] == nil }) {
            throw CLIError(
              "the id \"\(missing)\" of index \(index) is not in --corpus \(corpus!); "
                + "give the corpus the index was built from")
          }
        }
        let directory = try ModelCheck.directory(model ?? denseIndex.model.path)
        let pipeline = try BertPipeline(directory: directory)
        let identity = try RetrievalModel.identity(directory: directory, pipeline: pipeline)
        guard denseIndex.model.isCompatible(with: identity) else {
          throw RetrievalError.modelMismatch(
            path: index, index: denseIndex.model.description, model: identity.description)
        }
        let vectors = try RetrievalModel.embed(
          queryList.map(\.text), pipeline: pipeline, batchSize: batchSize,
          maxBatchTokens: batching.maxBatchTokens, maxLength: nil, title: "queries")
        dense = try denseIndex.search(queries: vectors, topK: depth)
      }

      var results: [[SearchHit]]
      if hybrid, let dense, let lexical {
        results = zip(lexical, dense).map { ScoreFusion.standard.fuse([$0, $1], topK: depth) }
      } else {
        results = dense ?? lexical ?? []
      }
      if let rerank, let texts {
        let reranker = try CrossEncoderReranker(directory: ModelCheck.directory(rerank))
        results = zip(queryList, results).map { query, hits in
          let candidates = hits.prefix(rerankTop).map { (id: $0.id, text: texts[$0.id] ?? "") }
          return reranker.rerank(
            query: query.text, candidates: Array(candidates), batchSize: batchSize,
            maxBatchTokens: batching.maxBatchTokens)
        }
      }
      for (query, hits) in zip(queryList, results) {
        let line = JSONOut.object([
          ("query_id", .string(query.id)),
          (
            "results",
            .array(
              hits.prefix(topK).map {
                .object([("id", .string($0.id)), ("score", .float($0.score))])
              })
          ),
        ])
        Console.out(line.compact)
      }
    }
  }
}
