// RetrievalMetrics: Recall@k, MRR@10 and nDCG@10 of ranked lists.
//
// For one query with relevant set R (binary relevance) and ranking r₁ r₂ …:
//   Recall@k = |R ∩ {r₁ … r_k}| / |R|
//   MRR@10   = 1 / (the first i ≤ 10 with rᵢ ∈ R), or 0 when there is none
//   nDCG@10  = DCG / IDCG, DCG = Σ_{i ≤ 10, rᵢ ∈ R} 1 / log₂(i + 1),
//              IDCG = Σ_{i ≤ min(|R|, 10)} 1 / log₂(i + 1)
// each averaged over the queries; the formulas of sentence-transformers'
// InformationRetrievalEvaluator and of trec_eval's recall_k, recip_rank (cut
// at 10) and ndcg_cut_10 for binary judgements.

import Foundation

/// Ranking quality over queries with known relevant documents.
public struct RetrievalMetrics: Equatable, Sendable {
  /// Recall at 1, 5, 10 and 100, keyed by k.
  public var recall: [Int: Double]
  /// Mean reciprocal rank of the first relevant document in the first 10.
  public var mrrAt10: Double
  /// Normalised discounted cumulative gain over the first 10.
  public var ndcgAt10: Double
  /// The number of queries averaged.
  public var queryCount: Int

  /// The cut-offs of ``recall``.
  public static let recallCutoffs = [1, 5, 10, 100]

  /// The metrics of `rankings` [Q] (ids, best first) against `relevant` [Q].
  /// A query with no relevant document is left out of the averages.
  public init(rankings: [[String]], relevant: [Set<String>]) {
    precondition(rankings.count == relevant.count, "RetrievalMetrics: counts differ")
    var recall = Dictionary(uniqueKeysWithValues: Self.recallCutoffs.map { ($0, 0.0) })
    var mrr = 0.0
    var ndcg = 0.0
    var queries = 0
    for (ranking, relevantSet) in zip(rankings, relevant) where !relevantSet.isEmpty {
      queries += 1
      for k in Self.recallCutoffs {
        let found = ranking.prefix(k).filter(relevantSet.contains).count
        recall[k]! += Double(found) / Double(relevantSet.count)
      }
      if let first = ranking.prefix(10).firstIndex(where: relevantSet.contains) {
        mrr += 1 / Double(first + 1)
      }
      var dcg = 0.0
      for (i, id) in ranking.prefix(10).enumerated() where relevantSet.contains(id) {
        dcg += 1 / log2(Double(i + 2))
      }
      let ideal = (0..<min(relevantSet.count, 10)).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) }
      ndcg += dcg / ideal
    }
    let scale = queries > 0 ? 1 / Double(queries) : 0
    self.recall = recall.mapValues { $0 * scale }
    mrrAt10 = mrr * scale
    ndcgAt10 = ndcg * scale
    queryCount = queries
  }

  /// The metrics by name: `recall@1`, `recall@5`, `recall@10`, `recall@100`, `mrr@10`, `ndcg@10`.
  public var named: [String: Double] {
    var values = ["mrr@10": mrrAt10, "ndcg@10": ndcgAt10]
    for (k, value) in recall { values["recall@\(k)"] = value }
    return values
  }
}
