import Foundation
import Testing

@testable import BERT

/// BM25 scores against `scripts/fixtures/make_search_fixtures.py` (a hand
/// computation checked against rank_bm25), and the fusion of ranked lists.
@Suite struct BM25Tests {
  struct Fixture: Decodable {
    struct Case: Decodable {
      var query: String
      var tokens: [String]
      var scores: [Double]
    }
    var corpus: [String]
    var corpusTokens: [[String]]

    enum CodingKeys: String, CodingKey {
      case corpus, cases
      case corpusTokens = "corpus_tokens"
    }
    var cases: [Case]
  }

  static func fixture() throws -> Fixture {
    try JSONDecoder().decode(
      Fixture.self, from: Data(contentsOf: ModelFixtures.url("search/bm25.json")))
  }

  @Test func tokenisationMatchesTheReference() throws {
    let fixture = try Self.fixture()
    for (text, expected) in zip(fixture.corpus, fixture.corpusTokens) {
      #expect(BM25Index.tokens(text) == expected)
    }
    #expect(BM25Index.tokens("  HeLLo, wörld_2x! ") == ["hello", "wörld", "2x"])
  }

  @Test func scoresMatchTheReference() throws {
    let fixture = try Self.fixture()
    let ids = fixture.corpus.indices.map { "d\($0)" }
    let index = BM25Index(ids: ids, texts: fixture.corpus)
    for testCase in fixture.cases {
      let scores = index.scores(testCase.query)
      let largest = zip(scores, testCase.scores).map { abs($0 - $1) }.max() ?? 0
      #expect(largest <= 1e-12, "\(testCase.query): largest difference \(largest)")
      // search ranks the documents with a positive score, best first.
      let hits = try index.search([testCase.query], topK: 3)[0]
      let expected = testCase.scores.enumerated().filter { $0.element > 0 }
        .sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
        .prefix(3)
      #expect(hits.map(\.id) == expected.map { "d\($0.offset)" }, "\(testCase.query)")
    }
    #expect(throws: RetrievalError.invalidTopK(0)) { try index.search(["fox"], topK: 0) }
  }

  @Test func idfByHand() {
    // N = 3, "a" in 2 documents: ln(1 + (3 − 2 + 0.5) / 2.5) = ln 1.6.
    let index = BM25Index(ids: ["1", "2", "3"], texts: ["a b", "a", "c"])
    #expect(abs(index.idf("a") - log(1.6)) < 1e-15)
    #expect(index.idf("zzz") == 0)
  }

  @Test func reciprocalRankFusionByHand() {
    let bm25 = [
      SearchHit(id: "a", score: 9), SearchHit(id: "b", score: 5), SearchHit(id: "c", score: 1),
    ]
    let dense = [
      SearchHit(id: "c", score: 0.9), SearchHit(id: "a", score: 0.8),
      SearchHit(id: "d", score: 0.1),
    ]
    let fused = ScoreFusion.standard.fuse([bm25, dense], topK: 4)
    // a: 1/61 + 1/62; c: 1/63 + 1/61; b: 1/62; d: 1/63.
    #expect(fused.map(\.id) == ["a", "c", "b", "d"])
    #expect(abs(Double(fused[0].score) - (1.0 / 61 + 1.0 / 62)) < 1e-7)
    #expect(abs(Double(fused[1].score) - (1.0 / 63 + 1.0 / 61)) < 1e-7)
    #expect(ScoreFusion.standard.fuse([bm25, dense], topK: 2).count == 2)
  }

  @Test func weightedMinMaxFusionByHand() {
    let bm25 = [
      SearchHit(id: "a", score: 9), SearchHit(id: "b", score: 5), SearchHit(id: "c", score: 1),
    ]
    let dense = [
      SearchHit(id: "c", score: 0.9), SearchHit(id: "a", score: 0.5),
      SearchHit(id: "d", score: 0.1),
    ]
    let fused = ScoreFusion.weightedMinMax(firstWeight: 0.25).fuse([bm25, dense], topK: 4)
    // Scaled: bm25 a 1, b 0.5, c 0; dense c 1, a 0.5, d 0.
    // a 0.25·1 + 0.75·0.5 = 0.625; c 0.75; b 0.125; d 0.
    #expect(fused.map(\.id) == ["c", "a", "b", "d"])
    let expected: [Float] = [0.75, 0.625, 0.125, 0]
    for (hit, value) in zip(fused, expected) { #expect(abs(hit.score - value) < 1e-6) }
  }
}
