import BERT
import Foundation
import HummingbirdTesting
import Testing

@testable import BERTServer

/// `/tokenize`, `/health`, `/info` and `/metrics`.
@Suite struct UtilityRoutesTests {
  /// Ids are line numbers of the tiny vocabulary (`tiny-bert/model/vocab.txt`:
  /// `[CLS]` 2, `[SEP]` 3, `hello` 64, `world` 65, `play` 63, `##ing` 72); the
  /// offsets are the words' scalar ranges, [0, 0] for special tokens.
  @Test func tokenizeGivesIdsTokensAndOffsets() async throws {
    let vocabulary = try String(
      contentsOf: ServerFixtures.url("tiny-bert/model/vocab.txt"), encoding: .utf8
    ).split(separator: "\n").map(String.init)
    let id = { (token: String) in vocabulary.firstIndex(of: token)! }
    let server = try ServerFixtures.server(ServerFixtures.tagger)
    try await server.test { client in
      let response = try await client.post("/tokenize", #"{"inputs":["Hello world","playing"]}"#)
      let items = try #require(response.json as? [[String: Any]])
      #expect(items.count == 2)
      #expect(items[0]["input_ids"] as? [Int] == [2, id("hello"), id("world"), 3])
      #expect(items[0]["tokens"] as? [String] == ["[CLS]", "hello", "world", "[SEP]"])
      #expect(items[0]["token_type_ids"] as? [Int] == [0, 0, 0, 0])
      #expect(items[0]["offsets"] as? [[Int]] == [[0, 0], [0, 5], [6, 11], [0, 0]])
      #expect(items[1]["input_ids"] as? [Int] == [2, id("play"), id("##ing"), 3])
      #expect(items[1]["offsets"] as? [[Int]] == [[0, 0], [0, 4], [4, 7], [0, 0]])
    }
  }

  @Test func healthInfoAndMetrics() async throws {
    let server = try ServerFixtures.server(ServerFixtures.tagger) { $0.maxBatchTokens = 1234 }
    try await server.test { client in
      let health = try await client.get("/health")
      #expect(health.status == .ok)
      #expect(health.json as? [String: String] == ["status": "ok"])

      let info = try #require(try await client.get("/info").json as? [String: Any])
      #expect(info["task"] as? String == "tagging")
      #expect(info["model"] as? String == "token-classification-f32-uncased")
      #expect(info["labels"] as? [String] == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
      #expect(info["max_length"] as? Int == 64)
      #expect(info["precision"] as? String == "fp32")
      #expect(info["backend"] as? String == Compute.backendKind.rawValue)
      #expect(info["kernel"] as? String == Compute.backend.kernelName)
      #expect(info["threads"] as? Int == Compute.threadCount)
      #expect(info["max_batch_tokens"] as? Int == 1234)
      #expect(info["pooling"] is NSNull)

      _ = try await client.post("/tag", #"{"inputs":["the cat sat","hello"]}"#)
      _ = try await client.post("/tag", #"{"inputs":5}"#)
      let metrics = try await client.get("/metrics")
      #expect(metrics.status == .ok)
      #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
      #expect(
        try await client.metric("bert_requests_total", labels: #"route="/tag",status="200""#) == 1)
      #expect(
        try await client.metric("bert_requests_total", labels: #"route="/tag",status="422""#) == 1)
      #expect(try await client.metric("bert_sequences_total") == 2)
      // [CLS] the cat sat [SEP] and [CLS] hello [SEP]: 8 real of 10 computed tokens.
      #expect(try await client.metric("bert_real_tokens_total") == 8)
      #expect(try await client.metric("bert_computed_tokens_total") == 10)
      #expect(try await client.metric("bert_batch_padding_share_sum") == 0.2)
      #expect(try await client.metric("bert_queue_depth") == 0)
      let text = metrics.text
      for name in [
        "bert_request_duration_seconds_bucket", "bert_batch_sequences_bucket",
        "bert_batch_tokens_bucket", "bert_forward_duration_seconds_bucket",
      ] {
        #expect(text.contains(name), "\(name) missing from /metrics")
      }
    }
  }

  @Test func infoOfAnEmbeddingModelNamesItsPooling() async throws {
    let server = try ServerFixtures.server(ServerFixtures.embedding) { $0.modelName = "tiny" }
    try await server.test { client in
      let info = try #require(try await client.get("/info").json as? [String: Any])
      #expect(info["task"] as? String == "embedding")
      #expect(info["model"] as? String == "tiny")
      #expect(info["pooling"] as? [String] == ["mean"])
      #expect(info["normalize"] as? Bool == true)
      #expect(info["max_length"] as? Int == 16)
    }
  }
}
