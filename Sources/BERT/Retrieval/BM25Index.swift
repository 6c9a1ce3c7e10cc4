// BM25Index: Okapi BM25 over a corpus, in memory.
//
// Tokenisation: the text is lower-cased (Swift's full Unicode `lowercased()`),
// then split into maximal runs of Unicode letters, marks and numbers (general
// categories L*, M* and N*); everything else separates tokens. No stemming, no
// stop words.
//
// Score of document d for query q (terms t of q, repeats counted each time):
//   score(q, d) = Σ_t idf(t) · f(t, d) · (k1 + 1) / (f(t, d) + k1 · (1 − b + b · |d| / avgdl))
//   idf(t)      = ln(1 + (N − n(t) + 0.5) / (n(t) + 0.5))
// with f(t, d) the count of t in d, |d| the tokens of d, avgdl the mean |d|,
// N the documents and n(t) those containing t; k1 = 1.5, b = 0.75. This idf
// is Lucene's, always positive (rank_bm25's BM25Okapi uses
// ln((N − n + 0.5) / (n + 0.5)) with a floor instead).

import Foundation

/// Okapi BM25 search over documents held in memory.
public struct BM25Index: Sendable {
  /// The term-frequency saturation, 1.5 by default.
  public let k1: Double
  /// The length normalisation, 0.75 by default.
  public let b: Double
  /// The documents' ids, in corpus order.
  public let ids: [String]
  private let lengths: [Int]  // [N] tokens per document
  private let averageLength: Double
  private let postings: [String: [(document: Int, count: Int)]]  // term → documents containing it

  /// Indexes `texts` [N] under `ids` [N].
  public init(ids: [String], texts: [String], k1: Double = 1.5, b: Double = 0.75) {
    precondition(ids.count == texts.count, "BM25Index: \(ids.count) ids for \(texts.count) texts")
    self.k1 = k1
    self.b = b
    self.ids = ids
    var lengths: [Int] = []
    var postings: [String: [(document: Int, count: Int)]] = [:]
    for (document, text) in texts.enumerated() {
      let tokens = Self.tokens(text)
      lengths.append(tokens.count)
      var counts: [String: Int] = [:]
      for token in tokens { counts[token, default: 0] += 1 }
      for (term, count) in counts { postings[term, default: []].append((document, count)) }
    }
    self.lengths = lengths
    self.postings = postings
    let total = lengths.reduce(0, +)
    averageLength = lengths.isEmpty ? 0 : Double(total) / Double(lengths.count)
  }

  /// N, the number of documents.
  public var count: Int { ids.count }

  /// The tokens of `text`: see the file's header.
  public static func tokens(_ text: String) -> [String] {
    var tokens: [String] = []
    var current = String.UnicodeScalarView()
    for scalar in text.lowercased().unicodeScalars {
      if isTokenScalar(scalar) {
        current.append(scalar)
      } else if !current.isEmpty {
        tokens.append(String(current))
        current = String.UnicodeScalarView()
      }
    }
    if !current.isEmpty { tokens.append(String(current)) }
    return tokens
  }

  /// Whether `scalar` is a letter, mark or number.
  static func isTokenScalar(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
      .nonspacingMark, .spacingMark, .enclosingMark,
      .decimalNumber, .letterNumber, .otherNumber:
      return true
    default:
      return false
    }
  }

  /// The inverse document frequency of `term`; 0 for a term no document holds.
  public func idf(_ term: String) -> Double {
    guard let documents = postings[term] else { return 0 }
    let n = Double(documents.count)
    return log(1 + (Double(count) - n + 0.5) / (n + 0.5))
  }

  /// Every document's score for `query` [N], in corpus order.
  public func scores(_ query: String) -> [Double] {
    var scores = [Double](repeating: 0, count: count)
    for term in Self.tokens(query) {
      guard let documents = postings[term] else { continue }
      let weight = idf(term)
      for (document, frequency) in documents {
        let f = Double(frequency)
        let norm = k1 * (1 - b + b * Double(lengths[document]) / averageLength)
        scores[document] += weight * f * (k1 + 1) / (f + norm)
      }
    }
    return scores
  }

  /// The `topK` documents of highest score for each query; documents that share
  /// no term with a query are not returned. Ties rank the earlier document first.
  /// - Throws: `RetrievalError.invalidTopK` for K ≤ 0.
  public func search(_ queries: [String], topK: Int) throws(RetrievalError) -> [[SearchHit]] {
    guard topK >= 1 else { throw .invalidTopK(topK) }
    var results = [[SearchHit]](repeating: [], count: queries.count)
    results.withUnsafeMutableBufferPointer { results in
      Parallel.forEach(queries.count) { q in
        var heap = TopK(capacity: topK)
        for (document, score) in scores(queries[q]).enumerated() where score > 0 {
          heap.offer(Float(score), document)
        }
        results[q] = heap.sorted().map { SearchHit(id: ids[$0.index], score: $0.score) }
      }
    }
    return results
  }
}
