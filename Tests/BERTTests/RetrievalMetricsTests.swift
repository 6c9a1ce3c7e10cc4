import Foundation
import Testing

@testable import BERT

/// Recall@k, MRR@10 and nDCG@10 by hand and against sentence-transformers'
/// InformationRetrievalEvaluator (`scripts/fixtures/make_search_fixtures.py`).
@Suite struct RetrievalMetricsTests {
  @Test func byHand() {
    // Query 1: relevant {b, x}; ranking a b c …: b at rank 2, x absent.
    //   recall@1 0, recall@5 1/2; MRR 1/2; DCG 1/log2(3), IDCG 1 + 1/log2(3).
    // Query 2: relevant {a}; ranking a …: everything 1.
    let metrics = RetrievalMetrics(
      rankings: [["a", "b", "c"], ["a", "z"]], relevant: [["b", "x"], ["a"]])
    #expect(metrics.queryCount == 2)
    #expect(metrics.recall[1] == 0.5)
    #expect(metrics.recall[5] == 0.75)
    #expect(metrics.mrrAt10 == 0.75)
    let ndcg1 = (1 / log2(3.0)) / (1 + 1 / log2(3.0))
    #expect(abs(metrics.ndcgAt10 - (ndcg1 + 1) / 2) < 1e-12)
    // A relevant document at rank 11 counts for recall@100 but not for MRR@10.
    let late = RetrievalMetrics(
      rankings: [(1...11).map { "n\($0)" }], relevant: [["n11"]])
    #expect(late.mrrAt10 == 0)
    #expect(late.recall[10] == 0)
    #expect(late.recall[100] == 1)
  }

  struct Fixture: Decodable {
    struct Query: Decodable {
      var id: String
      var relevant: [String]
      var ranking: [String]
    }
    var queries: [Query]
    var expected: [String: Double]
  }

  @Test func matchesSentenceTransformers() throws {
    let fixture = try JSONDecoder().decode(
      Fixture.self, from: Data(contentsOf: ModelFixtures.url("search/metrics.json")))
    let metrics = RetrievalMetrics(
      rankings: fixture.queries.map(\.ranking), relevant: fixture.queries.map { Set($0.relevant) })
    let named = metrics.named
    for (name, expected) in fixture.expected {
      let actual = try #require(named[name], "no metric \(name)")
      #expect(abs(actual - expected) <= 1e-12, "\(name): \(actual) vs \(expected)")
    }
  }

  @Test func corpusReaderFormatsAndErrors() throws {
    let plain = try CorpusReader.parse("first\n\nthird\n", file: "c.txt")
    #expect(plain.map(\.id) == ["1", "3"])
    #expect(plain.map(\.text) == ["first", "third"])
    let json = try CorpusReader.parse(
      "{\"id\": 7, \"text\": \"seven\"}\n{\"id\": \"x\", \"text\": \"ex\"}\n", file: "c.jsonl")
    #expect(json.map(\.id) == ["7", "x"])
    #expect(
      throws: RetrievalError.duplicateIDInFile(file: "d.jsonl", id: "x", firstLine: 1, line: 3)
    ) {
      try CorpusReader.parse(
        "{\"id\":\"x\",\"text\":\"a\"}\n{\"id\":\"y\",\"text\":\"b\"}\n{\"id\":\"x\",\"text\":\"c\"}",
        file: "d.jsonl")
    }
    #expect(
      throws: RetrievalError.badLine(
        file: "e.jsonl", line: 2, reason: "the record needs a \"text\" string")
    ) {
      try CorpusReader.parse("{\"id\":1,\"text\":\"a\"}\n{\"id\":2}\n", file: "e.jsonl")
    }
    #expect(throws: RetrievalError.emptyFile(file: "f.txt")) {
      try CorpusReader.parse("\n\n", file: "f.txt")
    }
  }
}
