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
  /// Of `elapsed`, the seconds spent summing gradients across the ranks
  /// (0 for a single process).
  public var communicationSeconds: TimeInterval = 0
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
///
/// With a ``Communicator`` of N ranks the run is data-parallel: every rank
/// holds the whole model and the whole data, and runs the same trainer. Rank 0
/// broadcasts its weights (fresh or resumed), every micro-batch is cut into N
/// contiguous shares (``Communicator/share(of:)``), and before each update the
/// gradients are summed in fused buckets (``GradientBuckets``). Each rank's
/// loss is weighted by its share of the batch's loss terms (sequences, or
/// labelled tokens for tagging), so N ranks compute the gradient of one
/// process up to float rounding, and clipping sees the global norm. Rank 0
/// alone reads and writes the output directory and evaluates.
public final class Trainer {
  public let options: TrainingOptions
  public let output: URL
  /// The ranks of the job; a single process by default.
  public let communicator: any Communicator
  /// Called after every update.
  public var onProgress: ((TrainingProgress) -> Void)?
  /// Called after every evaluation with the epoch (1-based).
  public var onEvaluation: ((Int, EvaluationReport) -> Void)?
  /// Polled between forward passes; returning true stops the run at the next
  /// update boundary with a checkpoint (for Ctrl-C).
  public var shouldStop: (() -> Bool)?
  private let logger = Logger(label: "bert.trainer")

  public init(
    options: TrainingOptions, output: URL,
    communicator: any Communicator = SingleProcessCommunicator()
  ) {
    self.options = options
    self.output = output
    self.communicator = communicator
  }

  /// The checkpoint directory inside the output.
  public var checkpointDirectory: URL {
    output.appendingPathComponent("checkpoint", isDirectory: true)
  }

  /// Trains `task`, resuming from the output's checkpoint when one exists.
  public func fit(_ task: some FineTuningTask) throws -> TrainingResult {
    try validate(task)
    let isRoot = communicator.isRoot
    if isRoot {
      try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
    }
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
    var resumed = false
    if isRoot, let saved = try TrainingState.load(from: checkpointDirectory) {
      guard saved.options.resumeCompatible(with: options) else {
        throw TrainingError.invalidState(
          "\(checkpointDirectory.path) was written with other options (batch size, accumulation, epochs or seed); remove it or use the same options"
        )
      }
      try saved.restore(into: parameters, optimizer: optimizer, from: checkpointDirectory)
      state = saved
      resumed = true
      logger.info("resuming at epoch \(state.epoch + 1), step \(state.step) of \(totalSteps)")
    }
    let buckets = GradientBuckets(parameters: parameters.map(\.parameter))
    if communicator.size > 1 {
      try synchronize(&state, resumed: &resumed, parameters: parameters, optimizer: optimizer)
    }

    let log =
      try isRoot ? TrainingLog(url: output.appendingPathComponent("training_log.jsonl")) : nil
    let started = Date()
    var communicationSeconds: TimeInterval = 0
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
        // This rank's share of the micro-batch, and of its loss terms.
        let local = Array(indices[communicator.share(of: indices.count)])
        let localTerms = communicator.size > 1 ? task.lossTermCount(features: local) : local.count
        if !local.isEmpty && localTerms > 0 {
          var seed = mix(options.seed, UInt64(state.epoch), UInt64(state.batch))
          if communicator.size > 1 { seed = mix(seed, UInt64(communicator.rank)) }
          var context = ForwardContext(isTraining: true, seed: seed)
          let loss = task.loss(features: local, context: &context)
          guard loss.item.isFinite else {
            throw TrainingError.nonFinite(what: "loss", step: state.step)
          }
          let share =
            communicator.size > 1
            ? Float(localTerms) / Float(max(task.lossTermCount(features: indices), 1)) : 1
          (loss * (share / Float(options.gradientAccumulation))).backward()
          windowLoss += loss.item * share
        }
        windowPasses += 1
        examplesSeen += indices.count
        state.batch += 1
        let closesWindow =
          state.batch % options.gradientAccumulation == 0 || state.batch == order.count
        guard closesWindow else { continue }

        // The ranks' gradients and losses summed: every rank then updates alike.
        var scalars: [Float] = [windowLoss]
        let communicationStarted = Date()
        try buckets.allreduce(scalars: &scalars, over: communicator)
        if communicator.size > 1 {
          communicationSeconds += Date().timeIntervalSince(communicationStarted)
        }
        windowLoss = scalars[0]
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
          examplesPerSecond: Double(examplesSeen) / max(elapsed, 1e-9), elapsed: elapsed,
          communicationSeconds: communicationSeconds)
        log?.write(progress, gradientNorm: norm)
        onProgress?(progress)
        state.epochLossSum = epochLossSum
        state.epochUpdates = epochUpdates
        if state.step >= totalSteps { break }
        if try stopRequested() {
          interrupted = true
          if isRoot {
            try state.save(parameters: parameters, optimizer: optimizer, to: checkpointDirectory)
          }
          break epochs
        }
        if isRoot && state.step % options.checkpointInterval == 0 {
          try state.save(parameters: parameters, optimizer: optimizer, to: checkpointDirectory)
        }
      }
      state.epochLosses.append(Float(epochLossSum / Double(max(epochUpdates, 1))))
      let finishedEpoch = state.epoch + 1
      state.epoch += 1
      state.batch = 0
      state.epochLossSum = 0
      state.epochUpdates = 0
      if isRoot, var report = try task.evaluate(batchSize: options.evaluationBatchSize) {
        report.epoch = finishedEpoch
        let best = state.evaluations.first { $0.epoch == state.bestEpoch }
        state.evaluations.append(report)
        onEvaluation?(finishedEpoch, report)
        if best == nil || report.primaryScore > best!.primaryScore {
          state.bestEpoch = finishedEpoch
          try task.save(to: output)
        }
      }
      if isRoot {
        try state.save(parameters: parameters, optimizer: optimizer, to: checkpointDirectory)
      }
    }
    state.trainingSeconds += Date().timeIntervalSince(started)
    if communicator.size > 1 {
      try communicator.checkAgreement(
        on: fingerprint(parameters.map(\.parameter)), what: "weights after training")
    }
    let result = TrainingResult(
      steps: state.step, trainingSeconds: state.trainingSeconds, evaluations: state.evaluations,
      best: state.evaluations.first { $0.epoch == state.bestEpoch }, bestEpoch: state.bestEpoch,
      interrupted: interrupted, epochLosses: state.epochLosses)
    guard isRoot else { return result }
    if state.bestEpoch == nil && !interrupted { try task.save(to: output) }
    try state.save(parameters: parameters, optimizer: optimizer, to: checkpointDirectory)
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

  /// Whether ``shouldStop`` asks to stop on any rank, so that all stop at the
  /// same update.
  private func stopRequested() throws -> Bool {
    var flag: [Float] = [shouldStop?() == true ? 1 : 0]
    if communicator.size > 1 {
      try flag.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
    }
    return flag[0] > 0
  }

  /// Gives every rank rank 0's state and weights, and its optimiser moments
  /// when rank 0 resumed from a checkpoint.
  private func synchronize(
    _ state: inout TrainingState, resumed: inout Bool,
    parameters: [(key: String, parameter: Parameter)], optimizer: AdamW
  ) throws {
    var bytes = communicator.isRoot ? try JSONEncoder().encode(state).map { $0 } : []
    try communicator.broadcast(bytes: &bytes, root: 0)
    state = try JSONDecoder().decode(TrainingState.self, from: Data(bytes))
    var flag: [Float] = [resumed ? 1 : 0]
    try flag.withUnsafeMutableBufferPointer { try communicator.broadcast($0, root: 0) }
    resumed = flag[0] > 0
    for (_, parameter) in parameters {
      try parameter.value.withUnsafeMutableBufferPointer { try communicator.broadcast($0, root: 0) }
    }
    if resumed { try optimizer.broadcastState(from: 0, over: communicator) }
  }

  /// A hash of the weights' bits (FNV-1a over 64-bit words), to check that
  /// the ranks still agree.
  private func fingerprint(_ parameters: [Parameter]) -> String {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for parameter in parameters {
      parameter.value.withUnsafeBufferPointer { values in
        for value in values { hash = (hash ^ UInt64(value.bitPattern)) &* 0x100_0000_01B3 }
      }
    }
    return String(hash, radix: 16)
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
