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
      var text_a: String?
      var text_b: String?
      var input_ids: [Int]
      var token_type_ids: [Int]
      var cls: [Float]
      var mean: [Float]
      var pooler_first8: [Float]
      var hidden_first8: [[Float]]
    }
    var sentences: [Sentence]
  }

  @Test(arguments: BackendKind.allAvailable)
  func matchesTransformers(_ backend: BackendKind) throws {
    let reference = try JSONDecoder().decode(
      Reference.self, from: Data(contentsOf: ModelFixtures.url("minilm/reference.json")))
    let pipeline = try BertPipeline(directory: AssetCache.defaultModelDirectory)
    #expect(!pipeline.loadReport.hasProblems)
    #expect(pipeline.loadReport.ignored == ["embeddings.position_ids"])
    let sentences = reference.sentences
    // Pairs are encoded as pairs; single texts alone. One padded batch, as the fixture.
    let encodings = sentences.map { s in
      s.text_a != nil
        ? pipeline.tokenizer.encode(s.text_a!, pair: s.text_b!)
        : pipeline.tokenizer.encode(s.text!)
    }
    #expect(encodings.map(\.inputIDs) == sentences.map(\.input_ids))
    #expect(encodings.map(\.tokenTypeIDs) == sentences.map(\.token_type_ids))
    let batch = TextBatch(encodings: encodings, paddingID: pipeline.tokenizer.paddingTokenID)
    let output = Compute.withBackend(backend) { pipeline.model(batch) }
    let cls = BertPipeline.pool(output, batch: batch, pooling: .cls)
    let mean = BertPipeline.pool(output, batch: batch, pooling: .mean)
    let pooled = BertPipeline.pool(output, batch: batch, pooling: .pooler)
    let hidden = output.lastHiddenState  // [21, T, 384]
    let (t, h) = (batch.sequenceLength, 384)
    for (index, sentence) in sentences.enumerated() {
      let label = "text \(index):"
      expectClose(cls[index], sentence.cls, rtol: 0, atol: 1e-4, "\(label) [CLS]")
      expectClose(mean[index], sentence.mean, rtol: 0, atol: 1e-4, "\(label) mean")
      expectClose(
        Array(pooled[index].prefix(8)), sentence.pooler_first8, rtol: 0, atol: 1e-4,
        "\(label) pooler")
      let firstEight = (0..<sentence.input_ids.count).flatMap { position in
        (0..<8).map { hidden[index, position, $0] }
      }
      expectClose(
        firstEight, sentence.hidden_first8.flatMap { $0 }, rtol: 0, atol: 1e-4, "\(label) hidden")
      _ = (t, h)
    }
  }
}
