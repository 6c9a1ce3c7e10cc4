import BERT
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import BERTServer

/// Concurrent requests share forward passes, their results are bit for bit
/// those of one request holding all their texts, a full budget starts a batch
/// before the wait is over, and a request cancelled while it waits leaves the queue.
@Suite struct DynamicBatchingTests {
  /// Six texts of six different token counts (3 to 8 with [CLS] and [SEP]), so
  /// that the length-sorted batch has one order whatever order they arrive in.
  static let texts = [
    "hello", "the cat", "the cat sat", "the cat sat on", "the cat sat on the",
    "the cat sat on the mat",
  ]

  static func body(_ input: Any) throws -> String {
    String(
      decoding: try JSONSerialization.data(
        withJSONObject: ["input": input, "encoding_format": "base64"]), as: UTF8.self)
  }

  static func vectors(_ response: TestResponse) throws -> [[Float]] {
    let data = try #require((response.json as? [String: Any])?["data"] as? [[String: Any]])
    return data.map { base64Floats($0["embedding"] as! String) }
  }

  @Test func concurrentRequestsShareOneBatchAndMatchASingleRequest() async throws {
    let server = try ServerFixtures.server(ServerFixtures.embedding) {
      $0.maxWaitMilliseconds = 400
      $0.alwaysWaits = true
    }
    try await server.test { client in
      let concurrent = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
        for (index, text) in Self.texts.enumerated() {
          group.addTask {
            let response = try await client.post("/v1/embeddings", try Self.body(text))
            return (index, try Self.vectors(response)[0])
          }
        }
        var results = [[Float]](repeating: [], count: Self.texts.count)
        for try await (index, vector) in group { results[index] = vector }
        return results
      }
      #expect(
        try await client.metric("bert_batches_total") == 1,
        "the six requests were not batched together")
      #expect(try await client.metric("bert_sequences_total") == 6)
      #expect(try await client.metric("bert_batch_sequences_bucket", labels: #"le="4.0""#) == 0)
      #expect(try await client.metric("bert_batch_sequences_bucket", labels: #"le="8.0""#) == 1)

      let single = try Self.vectors(
        try await client.post("/v1/embeddings", try Self.body(Self.texts)))
      #expect(try await client.metric("bert_batches_total") == 2)
      for index in Self.texts.indices {
        #expect(
          concurrent[index].map(\.bitPattern) == single[index].map(\.bitPattern),
          """
          text \(index): batched across requests differs from one request; largest difference \
          \(largestDifference(concurrent[index], single[index]))
          """)
      }
    }
  }

  /// Two 3-token requests fill a budget of 6 tokens: the batch starts at once,
  /// not after the 20 s wait.
  @Test func aFullBudgetStartsTheBatchWithoutWaiting() async throws {
    let server = try ServerFixtures.server(ServerFixtures.embedding) {
      $0.maxWaitMilliseconds = 20_000
      $0.alwaysWaits = true
      $0.maxBatchTokens = 6
    }
    try await server.test { client in
      let start = ContinuousClock.now
      async let a = client.post("/embed", #"{"inputs": "hello"}"#)
      async let b = client.post("/embed", #"{"inputs": "world"}"#)
      let statuses = try await [a.status, b.status]
      let elapsed = ContinuousClock.now - start
      #expect(statuses == [.ok, .ok])
      #expect(elapsed < .seconds(10), "the batch waited \(elapsed)")
      #expect(try await client.metric("bert_batches_total") == 1)
      #expect(try await client.metric("bert_sequences_total") == 2)
    }
  }

  /// With no other request on its way, a request runs at once instead of
  /// waiting the 20 s for company; its answer says how long it queued and ran.
  @Test func aLoneRequestRunsWithoutWaiting() async throws {
    let server = try ServerFixtures.server(ServerFixtures.embedding) {
      $0.maxWaitMilliseconds = 20_000
    }
    try await server.test { client in
      let start = ContinuousClock.now
      let response = try await client.post("/embed", #"{"inputs": "hello"}"#)
      let elapsed = ContinuousClock.now - start
      #expect(response.status == .ok)
      #expect(elapsed < .seconds(10), "the lone request waited \(elapsed)")
      let headers = response.headers
      let times = [RequestTiming.queue, RequestTiming.inference, RequestTiming.total].map {
        headers[.init($0)!].flatMap(Double.init)
      }
      let (queue, inference, total) = (
        try #require(times[0]), try #require(times[1]), try #require(times[2])
      )
      #expect(queue < 10_000, "x-queue-time \(queue) ms")
      #expect(
        inference > 0 && inference <= total, "x-inference-time \(inference), x-total-time \(total)")
      let tokenize = try await client.post("/tokenize", #"{"inputs": "hello"}"#)
      #expect(tokenize.headers[.init(RequestTiming.total)!] != nil)
      #expect(tokenize.headers[.init(RequestTiming.inference)!] == nil, "tokenize ran no model")
    }
  }

  /// A request whose task is cancelled while it waits leaves the queue at once
  /// and runs no forward pass.
  @Test func aCancelledRequestFreesItsSlot() async throws {
    let server = try ServerFixtures.server(ServerFixtures.embedding) {
      $0.maxWaitMilliseconds = 20_000
      $0.alwaysWaits = true
      $0.maxQueue = 1
    }
    try await server.test { client in
      let waiting = Task { try await client.post("/embed", #"{"inputs": "hello"}"#) }
      while server.batcher.queueDepth < 1 { try await Task.sleep(for: .milliseconds(5)) }
      let start = ContinuousClock.now
      waiting.cancel()
      let response = try await waiting.value
      #expect(response.status.code == 499)
      #expect(ContinuousClock.now - start < .seconds(5))
      #expect(server.batcher.queueDepth == 0)
      #expect(try await client.metric("bert_queue_depth") == 0)
      #expect(try await client.metric("bert_batches_total") == 0)
    }
  }
}
