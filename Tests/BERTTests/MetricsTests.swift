import BERT
import Foundation
import Testing

/// The metrics are plain Double arithmetic and use no backend, so these tests
/// run once rather than per backend.
@Suite struct MetricsTests {
  // MARK: - Hand-worked cases

  @Test func classificationByHand() {
    let gold = [0, 0, 1, 1, 2]
    let pred = [0, 1, 1, 1, 0]
    // Correct at positions 0, 2, 3: 3/5.
    #expect(Metrics.accuracy(predictions: pred, labels: gold) == 0.6)
    // F1 = 2·TP / (gold + predicted) per class:
    //   class 0: TP 1, gold 2, predicted 2 → 2/4 = 0.5
    //   class 1: TP 2, gold 2, predicted 3 → 4/5 = 0.8
    //   class 2: TP 0, gold 1, predicted 0 → 0
    // macro = (0.5 + 0.8 + 0) / 3
    expectRelative(Metrics.macroF1(predictions: pred, labels: gold), 1.3 / 3)
    // s = 5, c = 3, gold counts t = [2, 2, 1], predicted counts p = [2, 3, 0]:
    //   c·s − Σ t·p = 15 − (4 + 6 + 0) = 5
    //   s² − Σ p² = 25 − 13 = 12,  s² − Σ t² = 25 − 9 = 16
    //   MCC = 5 / √(12·16) = 5 / √192
    expectRelative(
      Metrics.matthewsCorrelation(predictions: pred, labels: gold), 5 / 192.0.squareRoot())
  }

  @Test func classificationEdgeConventions() {
    // One predicted class: s² − Σ p² = 0, MCC undefined → 0 (as scikit-learn).
    #expect(Metrics.matthewsCorrelation(predictions: [1, 1, 1], labels: [0, 1, 1]) == 0)
    // A class only predicted (3) counts in the macro mean with F1 0:
    //   class 0: TP 1, gold 2, predicted 1 → 2/3;  class 3: TP 0 → 0;  mean 1/3.
    expectRelative(Metrics.macroF1(predictions: [0, 3], labels: [0, 0]), 1.0 / 3)
    #expect(Metrics.accuracy(predictions: [Int](), labels: []) == 0)
    #expect(Metrics.macroF1(predictions: ["a"], labels: ["a"]) == 1)
  }

  @Test func correlationsByHand() {
    // x̄ = 2.5, ȳ = 5; dx = [−1.5, −0.5, 0.5, 1.5], dy = [−3, −1, 0, 4]
    // Σ dx·dy = 4.5 + 0.5 + 0 + 6 = 11, Σ dx² = 5, Σ dy² = 26 → r = 11 / √130
    let x: [Double] = [1, 2, 3, 4]
    let y: [Double] = [2, 4, 5, 9]
    expectRelative(Metrics.pearson(x, y), 11 / 130.0.squareRoot())
    expectRelative(Metrics.spearman(x, y), 1)  // identical ranks
    // Ties share the mean rank: [10, 20, 20, 5] → [2, 3.5, 3.5, 1].
    #expect(Metrics.averageRanks([10.0, 20, 20, 5]) == [2, 3.5, 3.5, 1])
    // Ranks [1, 2.5, 2.5, 4] and [1, 3, 2, 4], both with mean 2.5:
    // Σ dx·dy = 2.25 + 0 + 0 + 2.25 = 4.5, Σ dx² = 4.5, Σ dy² = 5 → ρ = 4.5 / √22.5 = √0.9
    expectRelative(Metrics.spearman([1.0, 2, 2, 3], [1.0, 3, 2, 4]), 0.9.squareRoot())
    // Constant input: undefined (scipy gives NaN) → 0.
    #expect(Metrics.pearson([1.0, 2, 3], [2.0, 2, 2]) == 0)
    #expect(Metrics.spearman([Float(1)], [Float(2)]) == 0)
  }

  @Test func strictIOB2Entities() {
    // B- starts, I- of the same type continues; an I- that continues nothing is ignored.
    let tags = ["I-PER", "I-PER", "B-PER", "I-LOC", "B-LOC", "B-LOC", "I-LOC"]
    #expect(
      Metrics.entities(iob2: tags) == [
        Entity(sentence: 0, type: "PER", start: 2, end: 3),
        Entity(sentence: 0, type: "LOC", start: 4, end: 5),
        Entity(sentence: 0, type: "LOC", start: 5, end: 7),
      ])
  }

  @Test func taggingByHand() {
    // gold entities: PER [0, 2), ORG [5, 6); the I-LOC run at 3–4 starts nothing.
    // predicted:     PER [0, 2), LOC [3, 5); the trailing I-ORG starts nothing.
    // correct: PER only → P = 1/2, R = 1/2, F1 = 0.5.
    // tokens equal at 0, 1, 2, 4 → accuracy 4/6.
    let gold = [["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-ORG"]]
    let pred = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "I-ORG"]]
    let scores = Metrics.tagging(predictions: pred, labels: gold)
    expectRelative(scores.tokenAccuracy, 4.0 / 6)
    let entities = try! #require(scores.entities)
    #expect(entities.precision == 0.5 && entities.recall == 0.5 && entities.f1 == 0.5)
    #expect(entities.byType["PER"]?.f1 == 1)
    #expect(entities.byType["LOC"]?.precision == 0 && entities.byType["ORG"]?.recall == 0)
    // POS tags have no entities.
    let pos = Metrics.tagging(predictions: [["DT", "NN", "IN"]], labels: [["DT", "NN", "RB"]])
    #expect(pos.entities == nil)
    expectRelative(pos.tokenAccuracy, 2.0 / 3)
  }

  @Test func goldClassesThePredictionsLack() {
    // A model trained on {neg, pos} scored on gold that also holds "neu".
    let gold = ["pos", "neg", "neu", "neu", "pos", "neg"]
    let pred = ["pos", "pos", "neg", "pos", "pos", "neg"]
    // Correct at 0, 4, 5; both "neu" examples are wrong: 3/6 (not 3/4).
    #expect(Metrics.accuracy(predictions: pred, labels: gold) == 0.5)
    // Classes present in gold or predictions: pos, neg, neu.
    //   pos: TP 2, gold 2, predicted 4 → 4/6;  neg: TP 1, gold 2, predicted 2 → 2/4;
    //   neu: TP 0, gold 2, predicted 0 → 0.   macro = (2/3 + 1/2 + 0) / 3 = 7/18
    expectRelative(Metrics.macroF1(predictions: pred, labels: gold), 7.0 / 18)
    // s = 6, c = 3, t = (pos 2, neg 2, neu 2), p = (pos 4, neg 2, neu 0):
    //   c·s − Σ t·p = 18 − (8 + 4 + 0) = 6
    //   s² − Σ p² = 36 − 20 = 16,  s² − Σ t² = 36 − 12 = 24 → MCC = 6 / √384
    expectRelative(
      Metrics.matthewsCorrelation(predictions: pred, labels: gold), 6 / 384.0.squareRoot())
  }

  @Test func goldTagsThePredictionsLack() {
    // A tagger trained on {B-PER, I-PER, O}; the gold tags also hold MISC.
    let gold = [["B-PER", "I-PER", "O", "B-MISC", "I-MISC"], ["B-MISC", "O", "B-PER"]]
    let pred = [["B-PER", "I-PER", "O", "B-PER", "I-PER"], ["O", "O", "B-PER"]]
    let scores = Metrics.tagging(predictions: pred, labels: gold)
    // Equal at 0, 1, 2 of the first sentence and 1, 2 of the second: 5/8.
    expectRelative(scores.tokenAccuracy, 5.0 / 8)
    // gold: PER [0, 2), MISC [3, 5) | MISC [0, 1), PER [2, 3) → 4
    // predicted: PER [0, 2), PER [3, 5) | PER [2, 3) → 3;  correct: both gold PER → 2
    // P = 2/3, R = 2/4, F1 = 2·(2/3)·(1/2) / (2/3 + 1/2) = 4/7
    let entities = try! #require(scores.entities)
    #expect(entities.gold == 4 && entities.predicted == 3 && entities.correct == 2)
    expectRelative(entities.precision, 2.0 / 3)
    expectRelative(entities.recall, 0.5)
    expectRelative(entities.f1, 4.0 / 7)
    // Both MISC entities are false negatives.
    let misc = try! #require(entities.byType["MISC"])
    #expect(misc.gold == 2 && misc.predicted == 0 && misc.correct == 0 && misc.recall == 0)
    expectRelative(try! #require(entities.byType["PER"]).precision, 2.0 / 3)
  }

  @Test func squadByHand() {
    // lower, drop punctuation, drop whole-word articles, collapse spaces.
    #expect(Metrics.normalizeAnswer("The  Quick, brown fox!") == "quick brown fox")
    // "an" inside "banana" is not a whole word.
    #expect(Metrics.normalizeAnswer("A banana and an apple") == "banana and apple")
    // Only ASCII punctuation goes: the apostrophe and "—" differ.
    #expect(Metrics.normalizeAnswer("Café's — «x»") == "cafés — «x»")
    // A combining mark is not a word character, so the "a" before it is a whole word.
    #expect(Metrics.normalizeAnswer("a\u{301} b") == "\u{301} b")
    // Python's lower(): final sigma at the end of a word.
    #expect(Metrics.normalizeAnswer("ΟΔΟΣ ΣΑ") == "οδος σα")
    // pred tokens [cat, sat], gold [cat, sat, down]: 2 shared → P = 1, R = 2/3,
    // F1 = 2·(2/3) / (5/3) = 0.8.
    expectRelative(Metrics.squadF1(prediction: "the cat sat", groundTruth: "a cat sat down"), 0.8)
    // Both empty after normalisation: EM 1, but F1 0 (v1.1 rule).
    #expect(Metrics.squadExactMatch(prediction: "the", groundTruth: "a"))
    #expect(Metrics.squadF1(prediction: "the", groundTruth: "a") == 0)
    // q1: EM 0; F1 max(0.8, F1 vs "cat" = 2·(1/2)·1/(3/2) = 2/3) = 0.8. q2: EM 1, F1 1.
    // EM = 100·1/2 = 50, F1 = 100·(0.8 + 1)/2 = 90.
    let scores = Metrics.squad(
      predictions: ["the cat sat", "Paris"], answers: [["a cat sat down", "cat"], ["paris!"]])
    expectRelative(scores.exactMatch, 50)
    expectRelative(scores.f1, 90)
    // A question with no prediction scores 0 and is counted.
    let partial = Metrics.squad(
      predictions: ["q1": "x"],
      examples: [
        QAExample(
          id: "q1", title: "", question: "", context: "", answers: [.init(text: "x", start: 0)]),
        QAExample(
          id: "q2", title: "", question: "", context: "", answers: [.init(text: "y", start: 0)]),
      ])
    #expect(partial.exactMatch == 50 && partial.unanswered == 1)
  }

  // MARK: - Reference fixtures (scikit-learn, scipy, seqeval, official SQuAD logic)

  @Test func matchesReferenceFixtures() throws {
    let fixture = try MetricFixture.load()
    var compared = 0
    for c in fixture.classification {
      expectRelative(
        Metrics.accuracy(predictions: c.predictions, labels: c.labels), c.accuracy, c.name)
      expectRelative(
        Metrics.macroF1(predictions: c.predictions, labels: c.labels), c.macroF1, c.name)
      expectRelative(
        Metrics.matthewsCorrelation(predictions: c.predictions, labels: c.labels), c.mcc, c.name)
      compared += 3
    }
    for c in fixture.regression {
      // null: undefined in scipy; the convention here is 0.
      expectRelative(Metrics.pearson(c.x, c.y), c.pearson ?? 0, c.name)
      expectRelative(Metrics.spearman(c.x, c.y), c.spearman ?? 0, c.name)
      compared += 2
    }
    for c in fixture.tagging {
      let scores = Metrics.tagging(predictions: c.predictions, labels: c.labels)
      expectRelative(scores.tokenAccuracy, c.tokenAccuracy, c.name)
      if let f1 = c.f1 {
        let entities = try #require(scores.entities, "\(c.name)")
        expectRelative(entities.precision, c.precision!, c.name)
        expectRelative(entities.recall, c.recall!, c.name)
        expectRelative(entities.f1, f1, c.name)
      } else {
        #expect(scores.entities == nil, "\(c.name)")
      }
      compared += 4
    }
    for c in fixture.squad {
      let scores = Metrics.squad(predictions: c.predictions, answers: c.answers)
      expectRelative(scores.exactMatch, c.exactMatch, c.name)
      expectRelative(scores.f1, c.f1, c.name)
      compared += 2
    }
    #expect(compared > 0)
    #expect(!fixture.classification.isEmpty && !fixture.regression.isEmpty)
    #expect(!fixture.tagging.isEmpty && !fixture.squad.isEmpty)
  }
}

/// |actual − expected| ≤ 1e-9 · max(|expected|, 1e-300), or both exactly 0.
private func expectRelative(
  _ actual: Double, _ expected: Double, _ comment: String = "",
  sourceLocation: SourceLocation = #_sourceLocation
) {
  let tolerance = 1e-9 * max(abs(expected), 1e-300)
  #expect(
    abs(actual - expected) <= tolerance || actual == expected,
    "\(comment): \(actual) vs \(expected)", sourceLocation: sourceLocation)
}

private struct MetricFixture: Decodable {
  struct Classification: Decodable {
    var name: String
    var labels: [Int]
    var predictions: [Int]
    var accuracy: Double
    var macroF1: Double
    var mcc: Double
  }
  struct Regression: Decodable {
    var name: String
    var x: [Double]
    var y: [Double]
    var pearson: Double?
    var spearman: Double?
  }
  struct Tagging: Decodable {
    var name: String
    var labels: [[String]]
    var predictions: [[String]]
    var tokenAccuracy: Double
    var precision: Double?
    var recall: Double?
    var f1: Double?
  }
  struct SQuAD: Decodable {
    var name: String
    var predictions: [String]
    var answers: [[String]]
    var exactMatch: Double
    var f1: Double
  }
  var classification: [Classification]
  var regression: [Regression]
  var tagging: [Tagging]
  var squad: [SQuAD]

  static func load() throws -> MetricFixture {
    let url = try #require(Bundle.module.resourceURL)
      .appendingPathComponent("Fixtures/metrics/cases.json")
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(MetricFixture.self, from: Data(contentsOf: url))
  }
}
