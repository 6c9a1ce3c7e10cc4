import Foundation
import TestSupport
import Testing

@testable import BERT

/// Length-sorted batching by a token budget: the batches it forms (derived by
/// hand below), the padding it counts, and results in input order equal to
/// running every text alone.
@Suite struct BatchingTests {
  /// Lengths 3, 10, 5, 10, 2 sort (longest first, ties in input order) to
  /// indices 1, 3, 2, 0, 4, of lengths 10, 10, 5, 3, 2. At most two a batch,
  /// three batches are needed (3 × 64 overhead either way); the cuts
  /// [10, 10] [5, 3] [2] pad to 20 + 10 + 2 = 32 tokens, [10, 10] [5] [3, 2]
  /// to 20 + 5 + 6 = 31, [10] [10, 5] [3, 2] to 10 + 20 + 6 = 36; four or five
  /// batches cost at least 64 more. So [1, 3], [2], [0, 4].
  @Test func sequenceLimitOnSortedLengths() {
    let batching = Batching(maxSequences: 2)
    #expect(batching.batches(lengths: [3, 10, 5, 10, 2]) == [[1, 3], [2], [0, 4]])
  }

  /// Cutting by least cost against filling each batch in turn: lengths 40,
  /// then 30 four times, then 10 four times, at most 8 a batch, no budget.
  /// Filled in turn: [40, 30, 30, 30, 30, 10, 10, 10] [10] costs 8 × 40 + 10 +
  /// 2 × 64 = 458. Cut at the drop to 10: [40, 30, 30, 30, 30] [10 × 4] costs
  /// 5 × 40 + 4 × 10 + 2 × 64 = 368; one batch of all nine costs 9 × 40 + 64
  /// = 424 but breaks the limit of 8; cutting the 40 off as well costs 40 +
  /// 120 + 40 + 3 × 64 = 392. So the least is the cut at 10.
  @Test func cutsWhereLengthsFall() {
    let lengths = [40, 30, 30, 30, 30, 10, 10, 10, 10]
    #expect(
      Batching(maxSequences: 8).batches(lengths: lengths) == [[0, 1, 2, 3, 4], [5, 6, 7, 8]])
  }

  /// With a budget of 20 padded tokens: [1, 3] is 2 × 10 = 20 (full; adding
  /// index 2 would make 3 × 10 = 30). The next batch starts at length 5:
  /// [2, 0, 4] is 3 × 5 = 15 ≤ 20.
  @Test func tokenBudgetOnSortedLengths() {
    let batching = Batching(maxSequences: 8, maxTokens: 20)
    #expect(batching.batches(lengths: [3, 10, 5, 10, 2]) == [[1, 3], [2, 0, 4]])
  }

  /// A sequence longer than the budget still runs, alone.
  @Test func sequenceLongerThanTheBudgetRunsAlone() {
    let batching = Batching(maxSequences: 8, maxTokens: 16)
    #expect(batching.batches(lengths: [4, 50, 4, 4, 4, 4]) == [[1], [0, 2, 3, 4], [5]])
    #expect(Batching(maxSequences: 3).batches(lengths: []) == [])
  }

  /// Batches of lengths [10, 10] and [5, 3, 2]: 30 real tokens, 20 + 15 = 35
  /// computed, so 5 / 35 of them padding.
  @Test func statisticsCountPadding() {
    var statistics = BatchingStatistics()
    statistics.record(lengths: [10, 10])
    statistics.record(lengths: [5, 3, 2])
    #expect(statistics.batches == 2)
    #expect(statistics.sequences == 5)
    #expect(statistics.realTokens == 30)
    #expect(statistics.computedTokens == 35)
    #expect(abs(statistics.paddingShare - 5.0 / 35.0) < 1e-12)
  }

  /// Sorted, budgeted batches give every text the vector it gets alone (a
  /// batch of one has no padding), in input order.
  @Test func embeddingsInInputOrderEqualUnbatched() throws {
    let pipeline = try BertPipeline(directory: ModelFixtures.tinyModel)
    let texts = [
      "a short one", "the quick brown fox jumps over the lazy dog again and again",
      "hello", "two words", "a somewhat longer sentence with a few more tokens in it", "x",
    ]
    var statistics = BatchingStatistics()
    let batched = pipeline.embed(
      texts, pooling: .mean, batchSize: 3, maxBatchTokens: 24, statistics: &statistics)
    let alone = texts.map { pipeline.embed([$0], pooling: .mean, batchSize: 1)[0] }
    for (index, (actual, expected)) in zip(batched, alone).enumerated() {
      expectClose(actual, expected, rtol: 1e-5, atol: 1e-6, "text \(index)")
    }
    let lengths = pipeline.batch(texts).lengths
    #expect(statistics.sequences == texts.count)
    #expect(statistics.realTokens == lengths.reduce(0, +))
    #expect(statistics.computedTokens >= statistics.realTokens)

    let states = pipeline.hiddenStates(texts, batchSize: 2, maxBatchTokens: 16)
    for (index, text) in texts.enumerated() {
      let single = pipeline.hiddenStates([text], batchSize: 1)[0]
      #expect(states[index].count == lengths[index], "text \(index): one state per real token")
      expectClose(
        states[index].flatMap { $0 }, single.flatMap { $0 }, rtol: 1e-5, atol: 1e-6,
        "text \(index) hidden states")
    }
  }
}
