import Foundation
import Testing

@testable import BERT

/// `TaggingTask.entities`: the tiny tagging model's entities against those
/// transformers' token-classification pipeline groups with
/// `aggregation_strategy="simple"` (`Fixtures/entities/simple.json`, written by
/// `scripts/fixtures/make_entity_fixtures.py`), and the WordPiece joining by hand.
@Suite struct EntityGroupingTests {
  struct Case: Decodable {
    struct Entity: Decodable {
      var entityGroup: String
      var score: Double
      var word: String
      var start: Int
      var end: Int

      enum CodingKeys: String, CodingKey {
        case entityGroup = "entity_group"
        case score, word, start, end
      }
    }
    var text: String
    var entities: [Entity]
  }

  static let model = "token-classification-f32-uncased"

  @Test func entitiesMatchTransformersSimpleAggregation() throws {
    let cases = try JSONDecoder().decode(
      [Case].self, from: Data(contentsOf: ModelFixtures.url("entities/simple.json")))
    let task = try #require(
      try FineTunedTask.open(directory: DirectoryFixtures.url("heads/\(Self.model)"))
        .application as? TaggingTask)
    let found = task.entities(cases.map(\.text), batchSize: 3)
    #expect(cases.reduce(0) { $0 + $1.entities.count } >= 10, "the fixture groups too little")
    for (expected, actual) in zip(cases, found) {
      #expect(
        actual.map(\.group) == expected.entities.map(\.entityGroup), "\(expected.text): groups")
      #expect(actual.map(\.word) == expected.entities.map(\.word), "\(expected.text): words")
      #expect(actual.map(\.start) == expected.entities.map(\.start), "\(expected.text): starts")
      #expect(actual.map(\.end) == expected.entities.map(\.end), "\(expected.text): ends")
      let difference = zip(actual, expected.entities).map { abs($0.score - $1.score) }.max() ?? 0
      #expect(difference <= 1e-5, "\(expected.text): largest score difference \(difference)")
    }
  }

  /// As the `tokenizers` WordPiece decoder: the first token as it is, `##`
  /// glued on after it, a space before other tokens, no space before `,` or `.`.
  @Test func wordPiecesJoinAsTheDecoderJoinsThem() {
    #expect(TaggingTask.decodeWordPieces(["new", "city"]) == "new city")
    #expect(TaggingTask.decodeWordPieces(["play", "##ing", "dog", "##s"]) == "playing dogs")
    #expect(TaggingTask.decodeWordPieces(["##s", "cat"]) == "##s cat")
    #expect(TaggingTask.decodeWordPieces(["hello", ",", "world", "."]) == "hello, world.")
  }

  /// The grouping rules on logits made by hand (tags O, B-PER, I-PER, B-LOC,
  /// I-LOC): B-PER I-PER → one PER; a second B-PER starts a new group; I-LOC
  /// after PER starts LOC; O tokens are dropped.
  @Test func groupingFollowsTheBIPrefixes() throws {
    let task = try #require(
      try FineTunedTask.open(directory: DirectoryFixtures.url("heads/\(Self.model)"))
        .application as? TaggingTask)
    let text = "the cat sat on the mat"
    let encoding = task.entityEncoding(text)  // [CLS] the cat sat on the mat [SEP]
    #expect(encoding.count == 8)
    // One-hot-ish logits: 10 on the chosen tag, 0 elsewhere.
    let chosen = [0, 1, 2, 1, 4, 0, 0, 0]  // [CLS] B-PER I-PER B-PER I-LOC O O [SEP]
    let logits = chosen.flatMap { tag in (0..<5).map { $0 == tag ? Float(10) : 0 } }
    let entities = task.entities(text: text, encoding: encoding, logits: logits)
    let p = exp(10.0) / (exp(10.0) + 4)  // each token's softmax maximum
    #expect(entities.map(\.group) == ["PER", "PER", "LOC"])
    #expect(entities.map(\.word) == ["the cat", "sat", "on"])
    #expect(entities.map(\.start) == [0, 8, 12])
    #expect(entities.map(\.end) == [7, 11, 14])
    for entity in entities { #expect(abs(entity.score - p) < 1e-9) }
  }
}
