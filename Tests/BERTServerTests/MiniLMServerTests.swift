import BERT
import BERTAssets
import Foundation
import HummingbirdTesting
import Testing

@testable import BERTServer

#if DEBUG
  let isReleaseBuild = false
#else
  let isReleaseBuild = true
#endif

/// The real all-MiniLM-L6-v2 from the asset cache: `/v1/embeddings` gives
/// `BertPipeline.embed`'s vectors bit for bit (the same batching). Release
/// builds only (a debug build takes about 30 s), and skipped without the model.
@Suite(
  .enabled(if: isReleaseBuild, "Skipped in debug builds: run with -c release"),
  .enabled(
    if: AssetCache.hasDefaultModel,
    "Skipped: all-MiniLM-L6-v2 is not in the asset cache; run scripts/fetch-assets model"))
struct MiniLMServerTests {
  @Test func embeddingsEqualThePipeline() async throws {
    let texts = [
      "A man is playing a guitar.", "The new movie is awesome!",
      "It was a dark and stormy night, and the rain fell in torrents.",
    ]
    let directory = AssetCache.defaultModelDirectory
    let server = try ServerFixtures.server(directory)
    let expected = try BertPipeline(directory: directory).embed(
      texts, batchSize: server.configuration.maxBatchSequences,
      maxBatchTokens: server.configuration.maxBatchTokens)
    try await server.test { client in
      let body = try JSONSerialization.data(
        withJSONObject: ["input": texts, "encoding_format": "base64"])
      let response = try await client.post(
        "/v1/embeddings", String(decoding: body, as: UTF8.self))
      let data = try #require((response.json as? [String: Any])?["data"] as? [[String: Any]])
      #expect(data.count == texts.count)
      for (index, item) in data.enumerated() {
        let vector = base64Floats(item["embedding"] as! String)
        #expect(vector.count == 384)
        #expect(
          vector.map(\.bitPattern) == expected[index].map(\.bitPattern),
          "text \(index): largest difference \(largestDifference(vector, expected[index]))")
      }
    }
  }
}
