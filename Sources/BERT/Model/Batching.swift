// How inference groups sequences into forward passes.

/// How many sequences go into one forward pass at inference.
///
/// A batch is padded to its longest sequence, so a short sentence that shares
/// a batch with a long paragraph costs as much as the paragraph. Inference
/// therefore sorts the sequences by length (longest first, ties in input
/// order), cuts the sorted list into batches of at most ``maxSequences``
/// sequences and, when ``maxTokens`` is set, at most that many padded tokens
/// (sequences × the batch's longest), and hands the results back in input
/// order. A single sequence longer than the token budget gets a batch of its
/// own.
///
/// The cuts are the ones that cost least, counting a batch as its padded
/// tokens plus ``batchOverheadTokens`` (the fixed cost of a forward pass):
/// where lengths fall fast, as at the long end of real text, a few more,
/// smaller batches save more padding than they cost. Filling each batch in
/// turn instead pads a batch of 64 sentences to its longest, often twice
/// their mean. The least-cost cuts are found exactly, by dynamic programming
/// over the sorted list (O(n · ``maxSequences``)).
public struct Batching: Sendable, Equatable {
  /// Sequences per batch, at most.
  public var maxSequences: Int
  /// Padded tokens (B × T) per batch, at most; nil for no token budget.
  public var maxTokens: Int?

  /// What one forward pass costs beyond its padded tokens, in padded tokens:
  /// the cost model by which ``batches(lengths:)`` cuts.
  public static let batchOverheadTokens = 64

  /// - Precondition: `maxSequences` ≥ 1 and `maxTokens`, when given, ≥ 1.
  public init(maxSequences: Int, maxTokens: Int? = nil) {
    ensure(maxSequences >= 1, "Batching: maxSequences must be at least 1, got \(maxSequences)")
    ensure(
      (maxTokens ?? 1) >= 1, "Batching: maxTokens must be at least 1, got \(maxTokens ?? 0)")
    self.maxSequences = maxSequences
    self.maxTokens = maxTokens
  }

  /// The batches for sequences of the given token counts: lists of indices into
  /// `lengths`, each list sorted longest first. Every index appears exactly
  /// once. Of cuts that cost the same, the one with the smallest last batch
  /// wins (the earlier batches as full as they can be).
  public func batches(lengths: [Int]) -> [[Int]] {
    let order = lengths.indices.sorted {
      lengths[$0] > lengths[$1] || (lengths[$0] == lengths[$1] && $0 < $1)
    }
    let count = order.count
    guard count > 0 else { return [] }
    // cost[j]: the least cost of the first j sorted sequences; start[j]: where
    // the last batch of that cut begins. Sorted longest first, the batch
    // order[i..<j] is padded to the length of order[i].
    var cost = [Int](repeating: .max, count: count + 1)
    var start = [Int](repeating: 0, count: count + 1)
    cost[0] = 0
    for end in 1...count {
      for first in stride(from: end - 1, through: max(0, end - maxSequences), by: -1) {
        let size = end - first
        let padded = size * max(lengths[order[first]], 1)
        // Moving `first` back only adds sequences and length: no later one fits.
        if size > 1, let maxTokens, padded > maxTokens { break }
        let total = cost[first] + padded + Self.batchOverheadTokens
        if total < cost[end] {
          cost[end] = total
          start[end] = first
        }
      }
    }
    var batches: [[Int]] = []
    var end = count
    while end > 0 {
      batches.append(Array(order[start[end]..<end]))
      end = start[end]
    }
    return batches.reversed()
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
