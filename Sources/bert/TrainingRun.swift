// Running the trainer from the command line: a progress bar per epoch, the
// evaluations as they come, and Ctrl-C turned into a clean stop with a checkpoint.

import BERT
import Dispatch
import Foundation

/// Catches SIGINT while training: the first Ctrl-C asks the trainer to stop at
/// the next update with a checkpoint, a second one exits at once (the last
/// checkpoint stays intact: checkpoints are replaced atomically).
final class InterruptMonitor: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0
  private var source: DispatchSourceSignal?

  /// Whether Ctrl-C was pressed.
  var isInterrupted: Bool { lock.withLock { count > 0 } }

  /// Starts catching SIGINT; `stop()` restores the default handling.
  func start(checkpoint: URL) {
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    source.setEventHandler { [weak self] in
      guard let self else { return }
      let count = self.lock.withLock {
        self.count += 1
        return self.count
      }
      if count == 1 {
        Console.err(
          "\ninterrupt: stopping after the current update and saving a checkpoint "
            + "(press Ctrl-C again to stop at once)")
      } else {
        Console.err(
          "\ninterrupt: stopped at once; the last checkpoint in \(checkpoint.path) is intact")
        exit(130)
      }
    }
    source.resume()
    self.source = source
  }

  func stop() {
    source?.cancel()
    source = nil
    signal(SIGINT, SIG_DFL)
  }
}

/// A training run stopped by Ctrl-C, after saving its checkpoint.
struct TrainingInterrupted: Error, CustomStringConvertible {
  var step: Int
  var checkpoint: URL
  var resumeHint: String

  var description: String {
    "interrupted at step \(step); the checkpoint is saved in \(checkpoint.path). "
      + resumeHint
  }
}

enum TrainingRun {
  /// What a checkpoint in `output` says about where a run stopped, if there is one.
  static func savedPosition(in output: URL) -> (epoch: Int, step: Int)? {
    let url = output.appendingPathComponent("checkpoint/trainer_state.json")
    guard let data = try? Data(contentsOf: url),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return nil }
    return ((object["epoch"] as? Int) ?? 0, (object["step"] as? Int) ?? 0)
  }

  /// Trains `task` into `output`, showing progress on stderr.
  ///
  /// - Parameters:
  ///   - label: a prefix for the progress lines (the demo's task name), or "".
  ///   - resumeHint: what to tell the user after Ctrl-C.
  /// - Returns: the trainer's result, and training examples (QA: windows) per
  ///   second over the updates of this process (0 when it made none).
  /// - Throws: `TrainingInterrupted` after Ctrl-C, and the trainer's errors.
  static func fit(
    _ task: some FineTuningTask, options: TrainingOptions, output: URL, label: String = "",
    resumeHint: String, communicator: any Communicator = SingleProcessCommunicator()
  ) throws -> (result: TrainingResult, examplesPerSecond: Double) {
    let trainer = Trainer(options: options, output: output, communicator: communicator)
    let batches = (task.trainingFeatureCount + options.batchSize - 1) / options.batchSize
    let updatesPerEpoch =
      (batches + options.gradientAccumulation - 1) / options.gradientAccumulation
    let totalSteps = min(updatesPerEpoch * options.epochs, options.maxSteps ?? Int.max)
    let prefix = label.isEmpty ? "" : "\(label): "

    var bar: ProgressBar?
    var barEpoch = 0
    var examplesPerSecond = 0.0
    trainer.onProgress = { progress in
      examplesPerSecond = progress.examplesPerSecond
      guard !Console.isSilent else { return }
      if progress.epoch != barEpoch {
        bar?.finish()
        barEpoch = progress.epoch
        let first = (progress.epoch - 1) * updatesPerEpoch
        bar = ProgressBar(
          title: "\(prefix)epoch \(progress.epoch)/\(progress.epochCount)",
          total: min(updatesPerEpoch, totalSteps - first),
          initial: progress.step - first - 1)
      }
      let first = (progress.epoch - 1) * updatesPerEpoch
      bar?.update(
        step: progress.step - first,
        fields: [
          ("loss", String(format: "%.4f", progress.loss)),
          ("lr", String(format: "%.2e", progress.learningRate)),
        ], examplesPerSecond: progress.examplesPerSecond)
    }
    trainer.onEvaluation = { epoch, report in
      bar?.finish()
      let scores = report.metrics.sorted { $0.key < $1.key }
        .map { "\($0.key) \(Format.metric($0.key, $0.value))" }.joined(separator: "  ")
      Console.err("\(prefix)epoch \(epoch) evaluation (\(report.exampleCount) examples): \(scores)")
    }
    let monitor = InterruptMonitor()
    trainer.shouldStop = { monitor.isInterrupted }
    monitor.start(checkpoint: trainer.checkpointDirectory)
    defer { monitor.stop() }
    let result = try trainer.fit(task)
    bar?.finish()
    if result.interrupted {
      throw TrainingInterrupted(
        step: result.steps, checkpoint: trainer.checkpointDirectory, resumeHint: resumeHint)
    }
    return (result, examplesPerSecond)
  }
}
