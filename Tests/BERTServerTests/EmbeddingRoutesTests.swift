import BERT
import Foundation
import HummingbirdTesting
import Testing

@testable import BERTServer

/// `/v1/embeddings` and `/embed` on the tiny sentence-transformers model
/// (mean pooling, normalised, 16 tokens) against the embeddings that
/// sentence-transformers' `encode` gave (the fixture's reference.json).
@Suite struct EmbeddingRoutesTests {
  struct Reference {
    var texts: [String]
    var lengths: [Int]
    var embeddings: [[Float]]

    init() throws {
      let object =
        try ServerFixtures.json(
          "directories/sentence-transformers/mean-normalize/reference.json") as! [String: Any]
      // The empty text is refused by the server (422), so it is left out.
      let keep = (object["texts"] as! [String]).indices.filter {
        !(object["texts"] as! [String])[$0].isEmpty
      }
      texts = keep.map { (object["texts"] as! [String])[$0] }
      lengths = keep.map { (object["untruncated_lengths"] as! [Int])[$0] }
      embeddings = keep.map { floats((object["embeddings"] as! [Any])[$0]) }
    }
  }

  static func body(_ fields: [String: Any]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
  }

  @Test func openAIEmbeddingsMatchSentenceTransformers() async throws {
    let reference = try Reference()
    let server = try ServerFixtures.server(ServerFixtures.embedding)
    try await server.test { client in
      let response = try await client.post(
        "/v1/embeddings",
        try Self.body(["input": reference.texts, "model": "anything", "truncate": true]))
      #expect(response.status == .ok)
      #expect(response.headers[.contentType] == "application/json")
      let object = try #require(response.json as? [String: Any])
      #expect(object["object"] as? String == "list")
      #expect(object["model"] as? String == "mean-normalize")
      let data = try #require(object["data"] as? [[String: Any]])
      #expect(data.count == reference.texts.count)
      for (index, item) in data.enumerated() {
        #expect(item["object"] as? String == "embedding")
        #expect(item["index"] as? Int == index)
        let difference = largestDifference(floats(item["embedding"]), reference.embeddings[index])
        #expect(difference <= 2e-6, "text \(index): largest difference \(difference)")
      }
      let usage = try #require(object["usage"] as? [String: Int])
      let tokens = reference.lengths.map { min($0, 16) }.reduce(0, +)
      #expect(usage == ["prompt_tokens": tokens, "total_tokens": tokens])
    }
  }

  /// base64 holds the same float32 bits as the float format, and both equal
  /// `BertPipeline.embed` with the server's batching bit for bit.
  @Test func base64AndFloatAreTheSameBitsAsThePipeline() async throws {
    let texts = ["the cat sat on the mat", "hello world", "a very good movie"]
    let server = try ServerFixtures.server(ServerFixtures.embedding)
    let pipeline = try BertPipeline(directory: ServerFixtures.embedding)
    let expected = pipeline.embed(
      texts, batchSize: server.configuration.maxBatchSequences,
      maxBatchTokens: server.configuration.maxBatchTokens)
    try await server.test { client in
      let floatsResponse = try await client.post(
        "/v1/embeddings", try Self.body(["input": texts, "encoding_format": "float"]))
      let base64Response = try await client.post(
        "/v1/embeddings", try Self.body(["input": texts, "encoding_format": "base64"]))
      let asFloats = try #require(
        (floatsResponse.json as? [String: Any])?["data"] as? [[String: Any]])
      let asBase64 = try #require(
        (base64Response.json as? [String: Any])?["data"] as? [[String: Any]])
      for index in texts.indices {
        let decoded = base64Floats(try #require(asBase64[index]["embedding"] as? String))
        #expect(
          decoded.map(\.bitPattern) == expected[index].map(\.bitPattern), "text \(index) base64")
        #expect(floats(asFloats[index]["embedding"]) == decoded, "text \(index) float")
      }
    }
  }

  /// `dimensions: 8` keeps the first 8 values and rescales them to unit length.
  @Test func dimensionsTruncateAndRenormalise() async throws {
    let reference = try Reference()
    let server = try ServerFixtures.server(ServerFixtures.embedding)
    try await server.test { client in
      let response = try await client.post(
        "/v1/embeddings", try Self.body(["input": reference.texts[0], "dimensions": 8]))
      let data = try #require((response.json as? [String: Any])?["data"] as? [[String: Any]])
      let vector = floats(data[0]["embedding"])
      let head = Array(reference.embeddings[0].prefix(8))
      let norm = head.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
      let expected = head.map { Float(Double($0) / norm) }
      let difference = largestDifference(vector, expected)
      #expect(difference <= 1e-5, "largest difference \(difference)")
    }
  }

  /// TEI's `/embed`: normalised by default; `normalize: false` gives the mean
  /// pooling itself, whose unit vector is the normalised one.
  @Test func teiEmbedNormalisesUnlessAskedNot() async throws {
    let reference = try Reference()
    let server = try ServerFixtures.server(ServerFixtures.embedding)
    try await server.test { client in
      let texts = Array(reference.texts.prefix(3))
      let normalised = try #require(
        try await client.post("/embed", try Self.body(["inputs": texts])).json as? [Any])
      let raw = try #require(
        try await client.post("/embed", try Self.body(["inputs": texts, "normalize": false])).json
          as? [Any])
      for index in texts.indices {
        let difference = largestDifference(floats(normalised[index]), reference.embeddings[index])
        #expect(difference <= 2e-6, "text \(index): largest difference \(difference)")
        let pooled = floats(raw[index])
        let norm = pooled.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        #expect(abs(norm - 1) > 1e-3, "text \(index): normalize false gave a unit vector")
        #expect(
          largestDifference(BertPipeline.normalized(pooled), floats(normalised[index])) <= 1e-6)
      }
    }
  }
}
