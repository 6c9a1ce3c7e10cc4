// `--max-batch-tokens`, taken by the subcommands that run inference.

import ArgumentParser
import BERT
import Foundation

/// The token budget of a forward pass. Inference sorts its inputs by length
/// and fills each batch up to `--batch-size` sequences and this many padded
/// tokens (see `Batching`).
struct BatchingOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Padded tokens per forward pass, at most (sequences × the batch's longest; default: "
        + "no budget, --batch-size alone). Inputs are sorted by length either way.",
      valueName: "n"))
  var maxBatchTokens: Int?

  func validate() throws {
    if let maxBatchTokens, maxBatchTokens < 1 {
      throw ValidationError("--max-batch-tokens must be at least 1, got \(maxBatchTokens).")
    }
  }

  /// One line on what the batches computed: "120 texts in 4 batches; 2,310 real
  /// tokens of 2,560 computed (9.8% padding)".
  static func describe(_ statistics: BatchingStatistics) -> String {
    let share = String(format: "%.1f", statistics.paddingShare * 100)
    let batches = statistics.batches == 1 ? "1 batch" : "\(statistics.batches) batches"
    return "\(statistics.sequences) texts in \(batches); "
      + "\(statistics.realTokens) real tokens of \(statistics.computedTokens) computed "
      + "(\(share)% padding)"
  }
}
