// Hard negatives mined with a starting model: for each query, the passages it
// ranks highest that are not its positive and do not score too close to it.

/// Mines hard negatives for query–positive pairs, as sentence-transformers'
/// `mine_hard_negatives` does with `sampling_strategy="top"` and an
/// `absolute_margin`: the candidates are every distinct positive and given
/// negative of the examples, ranked by inner product with the query (cosine
/// for a normalising model); a candidate is skipped when it is a positive of
/// the same query text, already one of the example's negatives, or scores above
/// the positive's own score minus `margin` (likely an unlabelled positive).
/// The first `count` candidates left, best first, are appended to the
/// example's negatives; fewer when fewer are left within the first `depth`.
public struct HardNegativeMiner: Sendable {
  /// Negatives mined per example (K ≥ 1).
  public var count: Int
  /// A candidate must score at most the positive's score minus this.
  public var margin: Float
  /// Candidates looked at per query, best first.
  public var depth: Int

  /// - Parameters:
  ///   - count: negatives mined per example, at least 1.
  ///   - margin: the gap below the positive's score a negative must keep.
  ///   - depth: candidates looked at per query (default max(100, 4K)).
  public init(count: Int, margin: Float = 0.05, depth: Int? = nil) throws(RetrievalError) {
    guard count >= 1 else { throw .invalidTopK(count) }
    self.count = count
    self.margin = margin
    self.depth = max(depth ?? max(100, 4 * count), count)
  }

  /// The distinct candidate passages of `examples` in first-seen order:
  /// positives and negatives.
  public static func candidates(_ examples: [RetrievalExample]) -> [String] {
    var seen = Set<String>()
    var texts: [String] = []
    for example in examples {
      for text in [example.positive] + example.negatives where seen.insert(text).inserted {
        texts.append(text)
      }
    }
    return texts
  }

  /// `examples` with mined negatives appended.
  ///
  /// - Parameters:
  ///   - queryVectors: the embedding of each example's query [E][D].
  ///   - candidateVectors: the embedding of each text of ``candidates(_:)`` [C][D].
  public func mine(
    _ examples: [RetrievalExample], queryVectors: [[Float]], candidateVectors: [[Float]]
  ) throws(RetrievalError) -> [RetrievalExample] {
    let texts = Self.candidates(examples)
    guard queryVectors.count == examples.count else {
      throw .countMismatch(vectors: queryVectors.count, ids: examples.count)
    }
    guard candidateVectors.count == texts.count else {
      throw .countMismatch(vectors: candidateVectors.count, ids: texts.count)
    }
    guard let dimension = candidateVectors.first?.count else { return examples }
    let position = Dictionary(
      texts.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
    var positivesOfQuery: [String: Set<String>] = [:]
    for example in examples {
      positivesOfQuery[example.query, default: []].insert(example.positive)
    }
    let index = try DenseIndex(
      vectors: candidateVectors, ids: texts,
      model: .inMemory(pooling: "", normalized: false, dimension: dimension))
    let ranked = try index.searchIndices(
      queries: queryVectors, topK: min(depth, texts.count))  // [E][depth]
    return zip(examples, zip(queryVectors, ranked)).map { example, pair in
      let (query, hits) = pair
      let positive = candidateVectors[position[example.positive]!]
      let ceiling = zip(query, positive).reduce(Float(0)) { $0 + $1.0 * $1.1 } - margin
      let excluded = positivesOfQuery[example.query]!.union(example.negatives)
      var mined = example
      var found = 0
      for hit in hits where found < count {
        let text = texts[hit.index]
        guard hit.score <= ceiling, !excluded.contains(text) else { continue }
        mined.negatives.append(text)
        found += 1
      }
      return mined
    }
  }
}
