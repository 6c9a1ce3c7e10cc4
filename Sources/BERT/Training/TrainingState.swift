import Foundation

/// Everything a run needs to resume exactly where it stopped: the position
/// (epoch and micro-batch), the update count (which fixes the learning rate),
/// the evaluations so far, and, beside this file, the weights and AdamW's moments.
///
/// Random state needs no saving: shuffling is seeded by (seed, epoch) and
/// each micro-batch's dropout by (seed, epoch, batch), so a resumed run draws
/// the same numbers as an uninterrupted one.
struct TrainingState: Codable {
  var options: TrainingOptions
  /// 0-based epoch in progress, and the next micro-batch in it.
  var epoch = 0
  var batch = 0
  /// Updates done.
  var step = 0
  var epochLossSum = 0.0
  var epochUpdates = 0
  var epochLosses: [Float] = []
  var evaluations: [EvaluationReport] = []
  var bestEpoch: Int?
  var trainingSeconds = 0.0

  init(options: TrainingOptions) { self.options = options }

  static let stateFile = "trainer_state.json"
  static let weightsFile = "model.safetensors"
  static let optimizerFile = "optimizer.safetensors"

  /// Writes the checkpoint into `directory` as a whole: into a fresh sibling
  /// folder first, which then replaces the old one, so an interruption leaves
  /// either the old checkpoint or the new one, never a mixture.
  func save(
    parameters: [(key: String, parameter: Parameter)], optimizer: AdamW, to directory: URL
  ) throws {
    let manager = FileManager.default
    let staging = directory.deletingLastPathComponent()
      .appendingPathComponent(".\(directory.lastPathComponent).partial-\(UUID().uuidString)")
    try manager.createDirectory(at: staging, withIntermediateDirectories: true)
    do {
      try SafeTensors.write(
        parameters.map { ($0.key, $0.parameter.value) },
        to: staging.appendingPathComponent(Self.weightsFile))
      var moments = optimizer.stateTensors
      moments.sort { $0.name < $1.name }
      try SafeTensors.write(
        moments, metadata: ["step": String(optimizer.step)],
        to: staging.appendingPathComponent(Self.optimizerFile))
      try writeJSON(self, to: staging.appendingPathComponent(Self.stateFile))
      let retired = directory.deletingLastPathComponent()
        .appendingPathComponent(".\(directory.lastPathComponent).old-\(UUID().uuidString)")
      if manager.fileExists(atPath: directory.path) {
        try manager.moveItem(at: directory, to: retired)
      }
      try manager.moveItem(at: staging, to: directory)
      try? manager.removeItem(at: retired)
    } catch {
      try? manager.removeItem(at: staging)
      throw error
    }
  }

  /// The saved state in `directory`, or nil when there is no checkpoint.
  static func load(from directory: URL) throws -> TrainingState? {
    let url = directory.appendingPathComponent(stateFile)
    guard FileManager.default.fileExists(atPath: url.path) else { return nil }
    do {
      return try JSONDecoder().decode(TrainingState.self, from: Data(contentsOf: url))
    } catch {
      throw TrainingError.invalidState("\(url.path) cannot be read: \(error)")
    }
  }

  /// Puts the saved weights and optimiser moments back.
  func restore(
    into parameters: [(key: String, parameter: Parameter)], optimizer: AdamW, from directory: URL
  ) throws {
    let weights = try SafeTensorsFile(
      contentsOf: directory.appendingPathComponent(Self.weightsFile))
    for (key, parameter) in parameters {
      guard weights.info(for: key) != nil else {
        throw TrainingError.invalidState("the checkpoint has no tensor \(key)")
      }
      let value = try weights.tensor(named: key)
      guard value.shape == parameter.value.shape else {
        throw TrainingError.invalidState(
          "the checkpoint's \(key) has shape \(value.shape), the model's is \(parameter.value.shape)"
        )
      }
      parameter.value = value
    }
    let moments = try SafeTensorsFile(
      contentsOf: directory.appendingPathComponent(Self.optimizerFile))
    var tensors: [String: Tensor] = [:]
    for name in moments.names { tensors[name] = try moments.tensor(named: name) }
    try optimizer.restore(step: step, tensors: tensors)
  }
}

extension TrainingOptions {
  /// Whether a checkpoint written with `self` can continue under `other`: the
  /// options that fix the batch order and the schedule must agree.
  func resumeCompatible(with other: TrainingOptions) -> Bool {
    batchSize == other.batchSize && gradientAccumulation == other.gradientAccumulation
      && epochs == other.epochs && seed == other.seed && lengthBucketing == other.lengthBucketing
      && maxSteps == other.maxSteps
  }
}

/// `training_log.jsonl`: one JSON object per update, appended.
final class TrainingLog {
  private let handle: FileHandle

  init(url: URL) throws {
    if !FileManager.default.fileExists(atPath: url.path) {
      // A file that cannot be created makes the FileHandle below throw, naming it.
      _ = FileManager.default.createFile(atPath: url.path, contents: nil)
    }
    handle = try FileHandle(forWritingTo: url)
    handle.seekToEndOfFile()
  }

  deinit { try? handle.close() }

  func write(_ progress: TrainingProgress, gradientNorm: Float) {
    let line =
      "{\"epoch\":\(progress.epoch),\"step\":\(progress.step),\"loss\":\(progress.loss),"
      + "\"learning_rate\":\(progress.learningRate),\"grad_norm\":\(gradientNorm),"
      + "\"examples_per_second\":\(progress.examplesPerSecond),"
      + "\"elapsed\":\(progress.elapsed),"
      + "\"communication_seconds\":\(progress.communicationSeconds)}\n"
    handle.write(Data(line.utf8))
  }
}
