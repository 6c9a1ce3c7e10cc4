import Foundation
import Logging

/// The knobs of a fine-tuning run, with Hugging Face Trainer's defaults.
public struct TrainingOptions: Codable, Sendable, Equatable {
  public var epochs: Int = 3
  /// Sequences per forward pass.
  public var batchSize: Int = 32
  /// The peak learning rate, reached after warm-up.
  public var learningRate: Float = 5e-5
  /// Warm-up as a fraction of all updates.
  public var warmupRatio: Float = 0
  /// AdamW's decoupled weight decay (none on biases and LayerNorm).
  public var weightDecay: Float = 0.01
  /// Clip the global gradient norm to this; 0 turns clipping off.
  public var maxGradientNorm: Float = 1
  /// Forward passes per update.
  public var gradientAccumulation: Int = 1
  /// Stop after this many updates (nil: run every epoch).
  public var maxSteps: Int?
  /// Seeds shuffling, dropout, and the new head.
  public var seed: UInt64 = 42
  /// Group sequences of similar length into batches (less padding).
  public var lengthBucketing: Bool = false
  /// Save a resumable checkpoint every this many updates (and at each epoch end).
  public var checkpointInterval: Int = 200
  /// Sequences per batch at evaluation.
  public var evaluationBatchSize: Int = 64

  public init() {}
}

/// Progress of a run, reported after every update.
public struct TrainingProgress: Sendable {
  /// 1-based epoch.
  public var epoch: Int
  public var epochCount: Int
  /// Updates done so far, and in all.
  public var step: Int
  public var totalSteps: Int
  /// The loss of the last update (mean over its forward passes).
  public var loss: Float
  /// The learning rate of the last update.
  public var learningRate: Float
  /// Training examples per second since the run (or the resume) started.
  public var examplesPerSecond: Double
  /// Seconds since the run (or the resume) started.
  public var elapsed: TimeInterval
}

/// How a run ended.
public struct TrainingResult: Codable, Sendable {
  /// Updates done.
  public var steps: Int
  /// Seconds of training, without evaluation.
  public var trainingSeconds: Double
  /// The evaluation after each epoch, in order.
  public var evaluations: [EvaluationReport]
  /// The evaluation of the saved (best) model, if there was an evaluation set.
  public var best: EvaluationReport?
  /// The epoch of the best model.
  public var bestEpoch: Int?
  /// Whether the run stopped early because it was asked to.
  public var interrupted: Bool
  /// The mean training loss of each epoch.
  public var epochLosses: [Float]
}

/// Runs fine-tuning: shuffled, dynamically padded batches, AdamW with linear
/// warm-up and decay, gradient accumulation and clipping, evaluation after
/// every epoch, the best model kept, and resumable checkpoints.
///
/// The output directory receives the best model (or the last, without an
/// evaluation set) as a Hugging Face model directory, plus `metrics.json`,
/// `training_log.jsonl`, and `checkpoint/` for resuming.
public final class Trainer {
  public let options: TrainingOptions
  public let output: URL
  /// Called after every update.
  public var onProgress: ((TrainingProgress) -> Void)?
  /// Called after every evaluation with the epoch (1-based).
  public var onEvaluation: ((Int, EvaluationReport) -> Void)?
  /// Polled between forward passes; returning true stops the run at the next
  /// update boundary with a checkpoint (for Ctrl-C).
  public var shouldStop: (() -> Bool)?
  private let logger = Logger(label: "bert.trainer")

  public init(options: TrainingOptions, output: URL) {
    self.options = options
    self.output = output
  }

  /// The checkpoint directory inside the output.
  public var checkpointDirectory: URL {
    output.appendingPathComponent("checkpoint", isDirectory: true)
  }

  /// Trains `task`, resuming from the output's checkpoint when one exists.
  public func fit(_ task: some FineTuningTask) throws -> TrainingResult {
    try validate(task)
    try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
    let parameters = task.namedParameters
    let optimizer = AdamW(
      parameters: parameters, learningRate: options.learningRate, weightDecay: options.weightDecay)
    let batchesPerEpoch = batchOrder(task, epoch: 0).count
    let updatesPerEpoch =
      (batchesPerEpoch + options.gradientAccumulation - 1) / options.gradientAccumulation
    let plannedSteps = updatesPerEpoch * options.epochs
    let totalSteps = min(plannedSteps, options.maxSteps ?? plannedSteps)
    let schedule = LinearSchedule(
      peakRate: options.learningRate, warmupRatio: options.warmupRatio, totalSteps: totalSteps)

    var state = TrainingState(options: options)
    if let saved = try TrainingState.load(from: checkpointDirectory) {
      guard saved.options.resumeCompatible(with: options) else {
        throw TrainingError.invalidState(
          "\(checkpointDirectory.path) was written with other options (batch size, accumulation, epochs or seed); remove it or use the same options"
        )
      }
      try saved.restore(into: parameters, optimizer: optimizer, from: checkpointDirectory)
      state = saved
      logger.info("resuming at epoch \(state.epoch + 1), step \(state.step) of \(totalSteps)")
    }

    let log = try TrainingLog(url: output.appendingPathComponent("training_log.jsonl"))
    let started = Date()
    var examplesSeen = 0
    var interrupted = false
    epochs: while state.epoch < options.epochs && state.step < totalSteps {
      let order = batchOrder(task, epoch: state.epoch)
      var epochLossSum = state.epochLossSum
      var epochUpdates = state.epochUpdates
      var windowLoss: Float = 0
      var windowPasses = 0
      while state.batch < order.count {
        let indices = order[state.batch]
        var context = ForwardContext(
          isTraining: true, seed: mix(options.seed, UInt64(state.epoch), UInt64(state.batch)))
        let loss = task.loss(features: indices, context: &context)
        guard loss.item.isFinite else {
          throw TrainingError.nonFinite(what: "loss", step: state.step)
        }
        (loss * (1 / Float(options.gradientAccumulation))).backward()
        windowLoss += loss.item
        windowPasses += 1
        examplesSeen += indices.count
        state.batch += 1
        let closesWindow =
          state.batch % options.gradientAccumulation == 0 || state.batch == order.count
        guard closesWindow else { continue }

        let rate = schedule.rate(atStep: state.step)
        optimizer.learningRate = rate
        // Clipping and the update in one pass; a non-finite norm updates nothing.
        let norm = optimizer.update(
          clippingGradientNormTo: options.maxGradientNorm > 0 ? options.maxGradientNorm : .infinity)
        guard norm.isFinite else {
          throw TrainingError.nonFinite(what: "gradient norm", step: state.step)
        }
        optimizer.zeroGradients()
        state.step += 1
        let meanLoss = windowLoss / Float(windowPasses)
        epochLossSum += Double(meanLoss)
        epochUpdates += 1
        windowLoss = 0
        windowPasses = 0
        let elapsed = Date().timeIntervalSince(started)
        let progress = TrainingProgress(
          epoch: state.epoch + 1, epochCount: options.epochs, step: state.step,
          totalSteps: totalSteps, loss: meanLoss, learningRate: rate,
          examplesPerSecond: Double(examplesSeen) / max(elapsed, 1e-9), elapsed: elapsed)
        log.write(progress, gradientNorm: norm)
        onProgress?(progress)
        state.epochLossSum = epochLossSum
        state.epochUpdates = epochUpdates
        if state.step >= totalSteps { break }
        if shouldStop?() == true {
          interrupted = true
          try state.save(parameters: parameters, optimizer: optimizer, to: checkpointDirectory)
          break epochs
        }
        if state.step % options.checkpointInterval == 0 {
          try state.save(parameters: parameters, optimizer: optimizer, to: checkpointDirectory)
        }
      }
      state.epochLosses.append(Float(epochLossSum / Double(max(epochUpdates, 1))))
      let finishedEpoch = state.epoch + 1
      state.epoch += 1
      state.batch = 0
      state.epochLossSum = 0
      state.epochUpdates = 0
      if var report = try task.evaluate(batchSize: options.evaluationBatchSize) {
        report.epoch = finishedEpoch
        let best = state.evaluations.first { $0.epoch == state.bestEpoch }
        state.evaluations.append(report)
        onEvaluation?(finishedEpoch, report)
        if best == nil || report.primaryScore > best!.primaryScore {
          state.bestEpoch = finishedEpoch
          try task.save(to: output)
        }
      }
      try state.save(parameters: parameters, optimizer: optimizer, to: checkpointDirectory)
    }
    state.trainingSeconds += Date().timeIntervalSince(started)
    if state.bestEpoch == nil && !interrupted { try task.save(to: output) }
    try state.save(parameters: parameters, optimizer: optimizer, to: checkpointDirectory)
    let result = TrainingResult(
      steps: state.step, trainingSeconds: state.trainingSeconds, evaluations: state.evaluations,
      best: state.evaluations.first { $0.epoch == state.bestEpoch }, bestEpoch: state.bestEpoch,
      interrupted: interrupted, epochLosses: state.epochLosses)
    try writeJSON(result, to: output.appendingPathComponent("metrics.json"))
    return result
  }

  /// The micro-batches of one epoch: a seeded shuffle of the features
  /// (bucketed by length when asked), cut into batches.
  func batchOrder(_ task: some FineTuningTask, epoch: Int) -> [[Int]] {
    var generator = SeededGenerator(seed: mix(options.seed, 0xE90C, UInt64(epoch)))
    var indices = Array(0..<task.trainingFeatureCount)
    shuffle(&indices, &generator)
    if options.lengthBucketing {
      // Sort within pools of 50 batches, then shuffle the batches themselves.
      let lengths = task.trainingFeatureLengths
      let pool = options.batchSize * 50
      indices = stride(from: 0, to: indices.count, by: pool).flatMap { start in
        indices[start..<min(indices.count, start + pool)].sorted { lengths[$0] > lengths[$1] }
      }
    }
    var batches = task.batches(indices, batchSize: options.batchSize)
    if options.lengthBucketing { shuffle(&batches, &generator) }
    return batches
  }

  private func validate(_ task: some FineTuningTask) throws {
    guard task.precision == .fp32 else {
      throw TrainingError.invalidSetting(
        "the model runs at \(task.precision.rawValue), which is for inference only; "
          + "fine-tune the fp32 model and quantize the result")
    }
    guard task.trainingFeatureCount > 0 else {
      throw TrainingError.invalidSetting("there are no training examples")
    }
    guard options.batchSize > 0, options.gradientAccumulation > 0, options.epochs > 0 else {
      throw TrainingError.invalidSetting(
        "batch size, gradient accumulation and epochs must be positive")
    }
  }
}

/// A Fisher–Yates shuffle driven by the seeded generator, the same on every platform.
func shuffle<T>(_ values: inout [T], _ generator: inout SeededGenerator) {
  guard values.count > 1 else { return }
  for i in stride(from: values.count - 1, to: 0, by: -1) {
    let j = Int(generator.next() % UInt64(i + 1))
    values.swapAt(i, j)
  }
}

/// A seed derived from several numbers (SplitMix64 finaliser over a combination).
func mix(_ values: UInt64...) -> UInt64 {
  var z: UInt64 = 0x9E37_79B9_7F4A_7C15
  for value in values {
    z = (z ^ value) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
  }
  return z
}

/// Writes a value as pretty JSON, atomically.
func writeJSON(_ value: some Encodable, to url: URL) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
  try encoder.encode(value).write(to: url, options: .atomic)
}
