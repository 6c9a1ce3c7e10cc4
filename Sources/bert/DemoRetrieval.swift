// The demo's retrieval row: held-out SQuAD questions searched among every
// paragraph, by BM25, the pretrained model, the fine-tuned model, and the
// fine-tuned model fused with BM25.

import BERT
import Foundation

/// One way of ranking the corpus, and how well it did.
struct DemoRetrievalMethod {
  var name: String
  var metrics: RetrievalMetrics
}

enum DemoRetrieval {
  /// The four rankings of the demo's retrieval row, in the README's order:
  /// BM25, the pretrained model, the fine-tuned `task`, and the fine-tuned
  /// model with BM25 by reciprocal-rank fusion (k = 60).
  static func compare(
    _ task: RetrievalTask, pretrained: URL, data: DemoSplitData, batchSize: Int
  ) throws -> [DemoRetrievalMethod] {
    let judged = data.queries
    let texts = judged.map(\.query.text)
    let lexical = try RetrievalRankings.lexical(texts, documents: data.corpus)
    let base = try BertPipeline(directory: pretrained)
    let baseIdentity = try RetrievalModel.identity(directory: pretrained, pipeline: base)
    let baseRankings = try rank(
      texts, corpus: data.corpus, pipeline: base, identity: baseIdentity, batchSize: batchSize)
    let trained = try dense(task, data: data, batchSize: batchSize)
    return [
      DemoRetrievalMethod(
        name: "BM25", metrics: RetrievalRankings.metrics(lexical, judged: judged)),
      DemoRetrievalMethod(
        name: "pretrained", metrics: RetrievalRankings.metrics(baseRankings, judged: judged)),
      DemoRetrievalMethod(
        name: "fine-tuned", metrics: RetrievalRankings.metrics(trained, judged: judged)),
      DemoRetrievalMethod(
        name: "fine-tuned + BM25",
        metrics: RetrievalRankings.metrics(
          RetrievalRankings.hybrid(lexical: lexical, dense: trained), judged: judged)),
    ]
  }

  /// The dense ranking of the held-out queries by `task`'s model as it is now
  /// (fp32 after training, int8 after `convert(to:)`).
  static func dense(_ task: RetrievalTask, data: DemoSplitData, batchSize: Int) throws
    -> [[SearchHit]]
  {
    let pipeline = task.pipeline
    let identity = ModelIdentity.inMemory(
      pooling: "\(task.pooling)", normalized: true, dimension: pipeline.model.config.hiddenSize)
    return try rank(
      data.queries.map(\.query.text), corpus: data.corpus, pipeline: pipeline,
      identity: identity, batchSize: batchSize)
  }

  /// The metrics of `task`'s dense ranking, named as `RetrievalMetrics.named` names them.
  static func score(_ task: RetrievalTask, data: DemoSplitData, batchSize: Int) throws
    -> [String: Double]
  {
    RetrievalRankings.metrics(
      try dense(task, data: data, batchSize: batchSize), judged: data.queries
    )
    .named
  }

  private static func rank(
    _ texts: [String], corpus: [IdentifiedText], pipeline: BertPipeline, identity: ModelIdentity,
    batchSize: Int
  ) throws -> [[SearchHit]] {
    let index = try RetrievalRankings.index(
      corpus, pipeline: pipeline, identity: identity, path: "demo corpus", batchSize: batchSize,
      maxBatchTokens: nil)
    return try RetrievalRankings.dense(
      texts, index: index, pipeline: pipeline, batchSize: batchSize, maxBatchTokens: nil)
  }

  /// The methods as a table: MRR@10, nDCG@10 and Recall@1/10/100.
  static func table(_ methods: [DemoRetrievalMethod]) -> TextTable {
    var table = TextTable(
      header: ["retrieval", "mrr@10", "recall@1", "recall@10", "recall@100", "ndcg@10"],
      rightAligned: [1, 2, 3, 4, 5])
    for method in methods {
      let m = method.metrics
      table.append(
        [method.name]
          + [m.mrrAt10, m.recall[1], m.recall[10], m.recall[100], m.ndcgAt10].map {
            String(format: "%.4f", $0 ?? .nan)
          })
    }
    return table
  }
}
