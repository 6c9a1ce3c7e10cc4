import BERTAssets
import Foundation
import TestSupport
import Testing

@testable import BERT

/// The real all-MiniLM-L6-v2 from the asset cache against transformers'
/// outputs on 21 texts, run as one padded batch. Skipped, with a note, when
/// the cache lacks the model (`scripts/fetch-assets model` fetches it).
@Suite(
  .enabled(
    if: AssetCache.hasDefaultModel,
    "Skipped: all-MiniLM-L6-v2 is not in the asset cache; run scripts/fetch-assets model"))
struct MiniLMReferenceTests {
  struct Reference: Decodable {
    struct Sentence: Decodable {
      var text: String?
      var textA: String?
      var textB: String?
      var inputIDs: [Int]
      var tokenTypeIDs: [Int]
      var cls: [Float]
      var mean: [Float]
      var poolerFirst8: [Float]
      var hiddenFirst8: [[Float]]

      enum CodingKeys: String, CodingKey {
        case text, cls, mean
        case textA = "text_a"
        case textB = "text_b"
        case inputIDs = "input_ids"
        case tokenTypeIDs = "token_type_ids"
        case poolerFirst8 = "pooler_first8"
        case hiddenFirst8 = "hidden_first8"
      }
    }
    var sentences: [Sentence]
  }

  /// Once from `tokenizer.json` alone and once from `vocab.txt` alone, each
  /// on every backend.
  @Test(arguments: BackendKind.allAvailable, [TokenizerFormat.tokenizerJSON, .vocabularyText])
  func matchesTransformers(_ backend: BackendKind, _ format: TokenizerFormat) throws {
    let reference = try JSONDecoder().decode(
      Reference.self, from: Data(contentsOf: ModelFixtures.url("minilm/reference.json")))
    let directory = try ModelFixtures.copy(
      AssetCache.defaultModelDirectory,
      without: format == .tokenizerJSON ? "vocab.txt" : "tokenizer.json")
    defer { try? FileManager.default.removeItem(at: directory) }
    let pipeline = try BertPipeline(directory: directory)
    #expect(pipeline.tokenizer.format == format)
    #expect(!pipeline.loadReport.hasProblems)
    #expect(pipeline.loadReport.ignored == ["embeddings.position_ids"])
    let sentences = reference.sentences
    // Pairs are encoded as pairs; single texts alone. One padded batch, as the fixture.
    let encodings = sentences.map { s in
      s.textA != nil
        ? pipeline.tokenizer.encode(s.textA!, pair: s.textB!)
        : pipeline.tokenizer.encode(s.text!)
    }
    #expect(encodings.map(\.inputIDs) == sentences.map(\.inputIDs))
    #expect(encodings.map(\.tokenTypeIDs) == sentences.map(\.tokenTypeIDs))
    let batch = TextBatch(encodings: encodings, paddingID: pipeline.tokenizer.paddingTokenID)
    let output = Compute.withBackend(backend) { pipeline.model(batch) }
    let cls = BertPipeline.pool(output, batch: batch, pooling: .cls)
    let mean = BertPipeline.pool(output, batch: batch, pooling: .mean)
    let pooled = BertPipeline.pool(output, batch: batch, pooling: .pooler)
    let hidden = output.lastHiddenState  // [21, T, 384]
    for (index, sentence) in sentences.enumerated() {
      let label = "text \(index):"
      expectClose(cls[index], sentence.cls, rtol: 0, atol: 1e-4, "\(label) [CLS]")
      expectClose(mean[index], sentence.mean, rtol: 0, atol: 1e-4, "\(label) mean")
      expectClose(
        Array(pooled[index].prefix(8)), sentence.poolerFirst8, rtol: 0, atol: 1e-4,
        "\(label) pooler")
      let firstEight = (0..<sentence.inputIDs.count).flatMap { position in
        (0..<8).map { hidden[index, position, $0] }
      }
      expectClose(
        firstEight, sentence.hiddenFirst8.flatMap { $0 }, rtol: 0, atol: 1e-4, "\(label) hidden")
    }
  }
}
