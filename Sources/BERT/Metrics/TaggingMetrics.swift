// Token-tagging metrics: token accuracy, and entity-level scores in seqeval's
// strict IOB2 mode.

/// A typed span of tokens, [start, end) within sentence `sentence`.
public struct Entity: Hashable, Sendable {
  public var sentence: Int
  public var type: String
  public var start: Int
  public var end: Int

  public init(sentence: Int, type: String, start: Int, end: Int) {
    self.sentence = sentence
    self.type = type
    self.start = start
    self.end = end
  }
}

/// Entity-level precision, recall and F1 (micro-averaged over entity types),
/// with the counts they come from and the scores of each type.
public struct EntityScores: Equatable, Sendable {
  /// Correct entities / predicted entities (0 when nothing is predicted).
  public var precision: Double
  /// Correct entities / gold entities (0 when there is no gold entity).
  public var recall: Double
  /// 2·P·R / (P + R) (0 when P + R = 0).
  public var f1: Double
  public var predicted: Int
  public var gold: Int
  public var correct: Int
  /// The same scores for each entity type present in gold or predictions.
  public var byType: [String: EntityScores]

  init(predicted: Int, gold: Int, correct: Int, byType: [String: EntityScores] = [:]) {
    self.predicted = predicted
    self.gold = gold
    self.correct = correct
    precision = predicted > 0 ? Double(correct) / Double(predicted) : 0
    recall = gold > 0 ? Double(correct) / Double(gold) : 0
    let sum = precision + recall
    f1 = sum > 0 ? 2 * precision * recall / sum : 0
    self.byType = byType
  }
}

/// The metrics of a tagging task.
public struct TaggingScores: Equatable, Sendable {
  /// Correct tags / all tags, over every token of every sentence.
  public var tokenAccuracy: Double
  /// Entity-level scores, or nil when the gold tags are not IOB2 (POS tags).
  public var entities: EntityScores?
}

extension Metrics {
  /// Token accuracy over all tokens of all sentences (seqeval's `accuracy_score`).
  /// Each predicted sentence must have as many tags as its gold sentence.
  public static func tokenAccuracy(predictions: [[String]], labels: [[String]]) -> Double {
    ensure(predictions.count == labels.count, "tokenAccuracy: sentence counts differ")
    var correct = 0
    var total = 0
    for (p, g) in zip(predictions, labels) {
      ensure(p.count == g.count, "tokenAccuracy: a sentence's tag counts differ")
      for (a, b) in zip(p, g) where a == b { correct += 1 }
      total += g.count
    }
    return total > 0 ? Double(correct) / Double(total) : 0
  }

  /// Whether tags are IOB2 entity tags: each is `O` or starts with `B-` or `I-`,
  /// and at least one is not `O`. Part-of-speech tags (`NN`, `IN`, `-LRB-`) are not.
  public static func isIOB2<S: Sequence<String>>(_ tags: S) -> Bool {
    var sawEntity = false
    for tag in tags {
      if tag == "O" { continue }
      guard tag.hasPrefix("B-") || tag.hasPrefix("I-") else { return false }
      sawEntity = true
    }
    return sawEntity
  }

  /// The entities of one sentence of IOB2 tags, read as seqeval's strict mode
  /// (`mode="strict", scheme=IOB2`) reads them:
  /// - an entity starts only at `B-X`, whatever comes before it;
  /// - it continues over each following `I-X` of the same type X;
  /// - it ends before the first tag that is not `I-X`: `O`, any `B-`, or an
  ///   `I-Y` of another type;
  /// - an `I-X` that does not continue an entity of type X (at the start of a
  ///   sentence, after `O`, or after a different type) belongs to no entity: it
  ///   is not turned into a new entity as the default (conlleval) mode does.
  ///
  /// A tag's first character is its prefix and the type is the rest with
  /// surrounding `-` removed (seqeval's rule). Tags whose prefix is not B or I
  /// (`O`, or anything else) start and continue nothing.
  public static func entities(iob2 tags: [String], sentence: Int = 0) -> [Entity] {
    let parsed = tags.map(parseTag)
    var entities: [Entity] = []
    var i = 0
    while i < parsed.count {
      guard parsed[i].prefix == "B" else {
        i += 1
        continue
      }
      let type = parsed[i].type
      var end = i + 1
      while end < parsed.count && parsed[end].prefix == "I" && parsed[end].type == type {
        end += 1
      }
      entities.append(Entity(sentence: sentence, type: type, start: i, end: end))
      i = end
    }
    return entities
  }

  /// Entity-level precision, recall and F1 in seqeval's strict IOB2 mode,
  /// micro-averaged (seqeval's default `average="micro"`): an entity is correct
  /// when a gold entity has the same sentence, type, start and end.
  public static func entityScores(predictions: [[String]], labels: [[String]]) -> EntityScores {
    ensure(predictions.count == labels.count, "entityScores: sentence counts differ")
    var predicted = Set<Entity>()
    var gold = Set<Entity>()
    for (index, (p, g)) in zip(predictions, labels).enumerated() {
      ensure(p.count == g.count, "entityScores: a sentence's tag counts differ")
      predicted.formUnion(entities(iob2: p, sentence: index))
      gold.formUnion(entities(iob2: g, sentence: index))
    }
    let correct = predicted.intersection(gold)
    var byType: [String: EntityScores] = [:]
    for type in Set(predicted.map(\.type)).union(gold.map(\.type)) {
      byType[type] = EntityScores(
        predicted: predicted.count { $0.type == type }, gold: gold.count { $0.type == type },
        correct: correct.count { $0.type == type })
    }
    return EntityScores(
      predicted: predicted.count, gold: gold.count, correct: correct.count, byType: byType)
  }

  /// Token accuracy, plus entity scores when the gold tags are IOB2.
  ///
  /// Tags are compared as strings, so the gold tags need not be tags the
  /// predictions can take: a token whose gold tag a model lacks is wrong, and
  /// a gold entity of a type it lacks is a false negative.
  public static func tagging(predictions: [[String]], labels: [[String]]) -> TaggingScores {
    TaggingScores(
      tokenAccuracy: tokenAccuracy(predictions: predictions, labels: labels),
      entities: isIOB2(labels.joined())
        ? entityScores(predictions: predictions, labels: labels) : nil)
  }
}

/// seqeval's split of a tag: the first code point, and the rest without
/// surrounding "-" ("_" if nothing is left).
private func parseTag(_ tag: String) -> (prefix: Unicode.Scalar?, type: String) {
  let scalars = tag.unicodeScalars
  guard let first = scalars.first else { return (nil, "_") }
  var type = scalars.dropFirst()
  while type.first == "-" { type = type.dropFirst() }
  while type.last == "-" { type = type.dropLast() }
  return (first, type.isEmpty ? "_" : String(String.UnicodeScalarView(type)))
}
