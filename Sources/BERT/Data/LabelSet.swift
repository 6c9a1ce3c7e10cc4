// The mapping between string labels and the class ids a model predicts.

/// String labels mapped to class ids in a stable, documented order.
///
/// Built from training labels, the order is:
/// - numeric, when every label is an integer (`"-1" < "1" < "2" < "10"`);
/// - otherwise lexicographic by Unicode scalar values, which is the order of
///   Python's `sorted()` on the same strings (`"B-LOC" < "B-PER" < "I-LOC" < "O"`).
///
/// A model stores the order it was trained with (`id2label` in its config), and
/// `init(ordered:)` restores it exactly.
public struct LabelSet: Equatable, Sendable, Codable {
  /// The labels; a label's id is its index here.
  public let labels: [String]
  private let ids: [String: Int]

  /// A label set from the labels seen in training, in the documented sorted order.
  public init(_ labels: some Sequence<String>) {
    self.init(ordered: Self.sorted(Set(labels)))
  }

  /// A label set that keeps the given order (duplicates after the first are ignored).
  public init(ordered labels: [String]) {
    var ids: [String: Int] = [:]
    var unique: [String] = []
    for label in labels where ids[label] == nil {
      ids[label] = unique.count
      unique.append(label)
    }
    self.labels = unique
    self.ids = ids
  }

  /// The labels of the examples (those that have one), in the documented order.
  public init(examples: [TextExample]) {
    self.init(examples.compactMap(\.label))
  }

  /// The tags of the sentences, in the documented order.
  public init(sentences: [TaggedSentence]) {
    self.init(sentences.flatMap(\.tags))
  }

  /// Sorts labels: numerically if all are integers, else by Unicode scalar values.
  public static func sorted(_ labels: some Collection<String>) -> [String] {
    let integers = labels.map { Int($0) }
    if !labels.isEmpty && integers.allSatisfy({ $0 != nil }) {
      return zip(labels, integers).sorted { $0.1! < $1.1! }.map(\.0)
    }
    return labels.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
  }

  /// The number of labels.
  public var count: Int { labels.count }

  /// The id of `label`, or nil if the set does not hold it.
  public func id(for label: String) -> Int? { ids[label] }

  /// The label of `id`; `id` must be in `0..<count`.
  public func label(for id: Int) -> String { labels[id] }

  /// The id of `label`, or `DatasetError.unknownLabel` naming it, the file and the line.
  public func id(for label: String, file: String, line: Int) throws -> Int {
    guard let id = ids[label] else {
      throw DatasetError.unknownLabel(label: label, file: file, line: line, known: labels)
    }
    return id
  }

  /// The ids of the examples' labels; an example without a label or with an
  /// unknown label is an error naming it, the file and the line.
  public func ids(for examples: [TextExample], file: String) throws -> [Int] {
    try examples.map { example in
      guard let label = example.label else {
        throw DatasetError.missingValue(file: file, line: example.line, field: "label")
      }
      return try id(for: label, file: file, line: example.line)
    }
  }

  /// The ids of each sentence's tags; an unknown tag is an error naming it,
  /// the file and the line where its sentence starts.
  public func ids(for sentences: [TaggedSentence], file: String) throws -> [[Int]] {
    try sentences.map { sentence in
      try sentence.tags.map { try id(for: $0, file: file, line: sentence.line) }
    }
  }

  /// The labels of `examples` that the set lacks, each with the number of
  /// examples that carry it; empty when every label is known. Examples without
  /// a label are not counted.
  public func unknownLabelCounts(in examples: [TextExample]) -> [String: Int] {
    var counts: [String: Int] = [:]
    for case let label? in examples.map(\.label) where ids[label] == nil {
      counts[label, default: 0] += 1
    }
    return counts
  }

  /// The tags of `sentences` that the set lacks, each with the number of
  /// tokens that carry it; empty when every tag is known.
  public func unknownLabelCounts(in sentences: [TaggedSentence]) -> [String: Int] {
    var counts: [String: Int] = [:]
    for sentence in sentences {
      for tag in sentence.tags where ids[tag] == nil { counts[tag, default: 0] += 1 }
    }
    return counts
  }

  public init(from decoder: Decoder) throws {
    self.init(ordered: try decoder.singleValueContainer().decode([String].self))
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(labels)
  }

  public static func == (lhs: LabelSet, rhs: LabelSet) -> Bool { lhs.labels == rhs.labels }
}
