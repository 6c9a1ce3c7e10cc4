import Foundation
import TestSupport
import Testing

@testable import BERT

/// The data-parallel seam without MPI: the bucket plan, the collectives of
/// the N-thread communicator, and the trainer on 2 thread-ranks against one
/// process.
@Suite struct DistributedTests {
  /// Runs `body` once per rank of a fresh group, each on its own thread, and
  /// returns the results in rank order.
  static func onRanks<R: Sendable>(
    _ size: Int, _ body: @escaping @Sendable (LocalGroupCommunicator) throws -> R
  ) throws -> [R] {
    let group = LocalGroupCommunicator.group(size: size)
    let results = Results<R>(size)
    let done = DispatchGroup()
    for communicator in group {
      done.enter()
      Thread.detachNewThread {
        results.set(communicator.rank, Result { try body(communicator) })
        done.leave()
      }
    }
    #expect(done.wait(timeout: .now() + 120) == .success, "a rank did not finish")
    return try results.values.map { try #require($0).get() }
  }

  final class Results<R>: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Result<R, any Error>?]
    init(_ size: Int) { values = Array(repeating: nil, count: size) }
    func set(_ index: Int, _ value: Result<R, any Error>) {
      lock.withLock { values[index] = value }
    }
  }

  @Test func bucketsFollowBackwardOrderAndHoldEveryParameterOnce() {
    // Sizes 3, 5, 2, 9, 1 with room for 6: from the last, [1] then 9 alone
    // (larger than a bucket), then 2 (+5 would be 7 > 6), then 5, then 3.
    let plan = GradientBuckets.plan(sizes: [3, 5, 2, 9, 1], capacity: 6)
    #expect(plan == [[4], [3], [2], [1], [0]])
    let packed = GradientBuckets.plan(sizes: [1, 2, 3, 1, 1], capacity: 4)
    #expect(packed == [[4, 3], [2], [1, 0]])
    let sizes = (0..<40).map { ($0 * 7919) % 13 + 1 }
    let buckets = GradientBuckets.plan(sizes: sizes, capacity: 20)
    #expect(buckets.flatMap { $0 } == Array(sizes.indices.reversed()))
    for bucket in buckets where bucket.count > 1 {
      #expect(bucket.reduce(0) { $0 + sizes[$1] } <= 20, "bucket \(bucket) is over capacity")
    }
  }

  @Test func collectivesGiveRankOrderedResults() throws {
    let results = try Self.onRanks(3) { communicator -> ([Float], [Float], [[UInt8]]) in
      let rank = communicator.rank
      // 1e8 + 1 + (-1e8) in rank order is 0 in Float; another order would give 1.
      var sums: [Float] = [[1e8, 1, -1e8][rank], Float(rank)]
      try sums.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
      var values: [Float] = [Float(rank) * 10, 7]
      try values.withUnsafeMutableBufferPointer { try communicator.broadcast($0, root: 2) }
      let gathered = try communicator.allgather(Array(repeating: UInt8(rank), count: rank + 1))
      return (sums, values, gathered)
    }
    for (sums, values, gathered) in results {
      #expect(sums == [0, 3])
      #expect(values == [20, 7])
      #expect(gathered == [[0], [1, 1], [2, 2, 2]])
    }
  }

  @Test func sharesCoverABatchInOrder() throws {
    let shares = try Self.onRanks(3) { $0.share(of: 8) }
    #expect(shares == [0..<3, 3..<6, 6..<8])
    let small = try Self.onRanks(3) { $0.share(of: 2) }
    #expect(small == [0..<1, 1..<2, 2..<2])
  }

  @Test func mismatchedCollectivesAndDisagreementAreErrors() throws {
    let errors = try Self.onRanks(2) { communicator -> String in
      do {
        if communicator.rank == 0 {
          try communicator.barrier()
        } else {
          _ = try communicator.allgather([1])
        }
        return "no error"
      } catch { return "\(error)" }
    }
    #expect(errors[0].contains("rank 1 called allgather"), "\(errors[0])")
    let disagreement = try Self.onRanks(2) { communicator -> String in
      do {
        try communicator.checkAgreement(on: communicator.rank == 0 ? "a" : "b", what: "options")
        return "no error"
      } catch { return "\(error)" }
    }
    #expect(disagreement.allSatisfy { $0.contains("the options of rank 1 differ from rank 0's") })
  }

  /// Two thread-ranks with 4 sequences each make the same 3 updates as one
  /// process with 8, to float rounding: the gradient sum over ranks of
  /// (4/8)·mean-of-4 is the mean of 8 up to the order of additions.
  @Test func twoRanksTrainLikeOneProcess() throws {
    let model = try ModelFixtures.tinyModelWithoutDropout()
    defer { try? FileManager.default.removeItem(at: model) }
    var options = TrainingOptions()
    options.batchSize = 8
    options.epochs = 2
    options.maxSteps = 3
    options.learningRate = 1e-3
    options.warmupRatio = 0
    let examples = TrainingTests.sentimentExamples(16, seed: 3)
    func task() throws -> TextClassificationTask {
      try TextClassificationTask(
        kind: .classification, directory: model, train: examples, maxLength: 16)
    }
    let single = TrainingTests.temporaryDirectory()
    let pair = TrainingTests.temporaryDirectory()
    let second = TrainingTests.temporaryDirectory()
    defer {
      for url in [single, pair, second] { try? FileManager.default.removeItem(at: url) }
    }
    let alone = try Trainer(options: options, output: single).fit(task())
    let tasks = try [task(), task()]
    let shared = options
    let results = try Self.onRanks(2) { communicator in
      try Trainer(
        options: shared, output: communicator.isRoot ? pair : second, communicator: communicator
      )
      .fit(tasks[communicator.rank])
    }
    #expect(results.map(\.steps) == [3, 3] && alone.steps == 3)
    #expect(!FileManager.default.fileExists(atPath: second.path), "rank 1 wrote its output")
    // The attention key bias is left out: its true gradient is exactly zero
    // (softmax is unchanged by adding q·b to every score of a row), so its
    // gradient is rounding noise, which Adam turns into steps of up to the
    // learning rate whatever the split.
    let (difference, tensor) = try ModelFixtures.largestDifference(
      single.appendingPathComponent("model.safetensors"),
      pair.appendingPathComponent("model.safetensors"),
      skip: { $0.hasSuffix("attention.self.key.bias") })
    #expect(difference <= 1e-5, "largest difference \(difference) in \(tensor)")
    let differing = zip(tasks[0].namedParameters, tasks[1].namedParameters).filter { a, b in
      a.parameter.value.scalars != b.parameter.value.scalars
    }.map(\.0.key)
    #expect(differing.isEmpty, "the ranks' weights differ in \(differing)")
  }
}
