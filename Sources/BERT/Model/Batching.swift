// How inference groups sequences into forward passes.

/// How many sequences go into one forward pass at inference.
///
/// A batch is padded to its longest sequence, so a short sentence that shares
/// a batch with a long paragraph costs as much as the paragraph. Inference
/// therefore sorts the sequences by length (longest first, ties in input order),
/// fills each batch up to ``maxSequences`` and, when ``maxTokens`` is set, up to
/// that many padded tokens (sequences × the batch's longest), and hands the
/// results back in input order. A single sequence longer than the token budget
/// gets a batch of its own.
public struct Batching: Sendable, Equatable {
  /// Sequences per batch, at most.
  public var maxSequences: Int
  /// Padded tokens (B × T) per batch, at most; nil for no token budget.
  public var maxTokens: Int?

  /// - Precondition: `maxSequences` ≥ 1 and `maxTokens`, when given, ≥ 1.
  public init(maxSequences: Int, maxTokens: Int? = nil) {
    ensure(maxSequences >= 1, "Batching: maxSequences must be at least 1, got \(maxSequences)")
    ensure(
      (maxTokens ?? 1) >= 1, "Batching: maxTokens must be at least 1, got \(maxTokens ?? 0)")
    self.maxSequences = maxSequences
    self.maxTokens = maxTokens
  }

  /// The batches for sequences of the given token counts: lists of indices into
  /// `lengths`, each list sorted longest first. Every index appears exactly once.
  public func batches(lengths: [Int]) -> [[Int]] {
    let order = lengths.indices.sorted {
      lengths[$0] > lengths[$1] || (lengths[$0] == lengths[$1] && $0 < $1)
    }
    var batches: [[Int]] = []
    var current: [Int] = []
    for index in order {
      // Sorted longest first: the batch's first sequence sets its padded length.
      let longest = current.first.map { lengths[$0] } ?? lengths[index]
      let fitsTokens = maxTokens.map { (current.count + 1) * max(longest, 1) <= $0 } ?? true
      if !current.isEmpty && (current.count == maxSequences || !fitsTokens) {
        batches.append(current)
        current = []
      }
      current.append(index)
    }
    if !current.isEmpty { batches.append(current) }
    return batches
  }

  /// Runs `body` on every batch of ``batches(lengths:)`` and returns its
  /// results in input order. `body` gets a batch's indices and returns one
  /// result per index, in that order.
  public func map<Result>(lengths: [Int], _ body: ([Int]) throws -> [Result]) rethrows
    -> [Result]
  {
    var results = [Result?](repeating: nil, count: lengths.count)
    for rows in batches(lengths: lengths) {
      let values = try body(rows)
      ensure(
        values.count == rows.count,
        "Batching.map: \(values.count) results for a batch of \(rows.count)")
      for (row, value) in zip(rows, values) { results[row] = value }
    }
    return results.map { $0! }
  }
}

extension Batching {
  /// ``map(lengths:_:)`` over encodings: `body` gets each batch padded into a
  /// ``TextBatch`` (its rows in the batch's order, longest first) and the
  /// batch's indices into `encodings`, and returns one result per row.
  func map<Result>(
    _ encodings: [Encoding], paddingID: Int, _ body: (TextBatch, [Int]) throws -> [Result]
  ) rethrows -> [Result] {
    try map(lengths: encodings.map(\.inputIDs.count)) { rows in
      try body(TextBatch(encodings: rows.map { encodings[$0] }, paddingID: paddingID), rows)
    }
  }
}

/// Tokens that inference computed, and how many of them were padding.
public struct BatchingStatistics: Sendable, Equatable {
  /// Forward passes.
  public var batches = 0
  /// Sequences.
  public var sequences = 0
  /// Real tokens (special tokens included).
  public var realTokens = 0
  /// Tokens computed: B × T summed over the batches.
  public var computedTokens = 0

  public init() {}

  /// The share of the computed tokens that were padding, in [0, 1].
  public var paddingShare: Double {
    computedTokens == 0 ? 0 : Double(computedTokens - realTokens) / Double(computedTokens)
  }

  /// Counts one batch of sequences with these lengths, padded to the longest.
  public mutating func record(lengths: [Int]) {
    batches += 1
    sequences += lengths.count
    realTokens += lengths.reduce(0, +)
    computedTokens += lengths.count * (lengths.max() ?? 0)
  }

  /// Adds another count to this one.
  public mutating func add(_ other: BatchingStatistics) {
    batches += other.batches
    sequences += other.sequences
    realTokens += other.realTokens
    computedTokens += other.computedTokens
  }
}
