// ScoreFusion: one ranking from several, for hybrid (BM25 + dense) search.

/// How ranked lists are fused into one.
///
/// - ``reciprocalRank(k:)`` (the default, k = 60, as Cormack et al. 2009):
///   score(d) = Σ_lists 1 / (k + rank(d)), rank 1-based; a list that does not
///   hold d adds nothing. Only ranks count, so BM25's unbounded scores and
///   cosine similarities need no scaling.
/// - ``weightedMinMax(firstWeight:)``: each list's scores are scaled to [0, 1]
///   by its own minimum and maximum (all 1 when they are equal), and
///   score(d) = w · s₁(d) + (1 − w) · s₂(d) … for two lists (with more, the
///   remaining weight is shared equally); a missing document scores 0 in that list.
///
/// Fused ties rank the smaller id first (by UTF-8 bytes), so output is deterministic.
public enum ScoreFusion: Equatable, Sendable {
  case reciprocalRank(k: Double)
  case weightedMinMax(firstWeight: Double)

  /// The default: reciprocal-rank fusion with k = 60, every list weighted equally.
  public static let standard = ScoreFusion.reciprocalRank(k: 60)

  /// The `topK` best documents of the fused ranking of `lists` (each best first).
  public func fuse(_ lists: [[SearchHit]], topK: Int) -> [SearchHit] {
    var fused: [String: Double] = [:]
    switch self {
    case .reciprocalRank(let k):
      for list in lists {
        for (position, hit) in list.enumerated() {
          fused[hit.id, default: 0] += 1 / (k + Double(position + 1))
        }
      }
    case .weightedMinMax(let firstWeight):
      let others = lists.count > 1 ? (1 - firstWeight) / Double(lists.count - 1) : 0
      for (which, list) in lists.enumerated() {
        let weight = which == 0 ? (lists.count == 1 ? 1 : firstWeight) : others
        let scores = list.map { Double($0.score) }
        guard let low = scores.min(), let high = scores.max() else { continue }
        for hit in list {
          let scaled = high > low ? (Double(hit.score) - low) / (high - low) : 1
          fused[hit.id, default: 0] += weight * scaled
        }
      }
    }
    let ranked = fused.sorted { a, b in
      a.value != b.value ? a.value > b.value : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
    }
    return ranked.prefix(max(0, topK)).map { SearchHit(id: $0.key, score: Float($0.value)) }
  }
}
