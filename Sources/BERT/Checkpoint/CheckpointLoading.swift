import Foundation

/// What loading a checkpoint into a model found, in Hugging Face's terms.
public struct CheckpointLoadReport: Sendable, CustomStringConvertible {
  /// Model keys that were set from the checkpoint.
  public var loaded: [String] = []
  /// Model keys the checkpoint lacks, which the model did not expect to lack.
  public var missing: [String] = []
  /// Model keys the checkpoint lacks as expected (a new head): initialised fresh.
  public var newlyInitialized: [String] = []
  /// Checkpoint keys the model has no place for.
  public var unexpected: [String] = []
  /// Checkpoint keys that are expected to go unused: `cls.*` pretraining heads,
  /// the `position_ids` buffer, and the pooler of a model built without one.
  public var ignored: [String] = []
  /// Keys whose shapes differ: the checkpoint's shape and the model's.
  public var mismatched: [(key: String, checkpoint: [Int], model: [Int])] = []
  /// Notes about the checkpoint that did not stop it loading, as sentences
  /// (a sharded index whose `total_size` disagrees with its shards).
  public var warnings: [String] = []

  /// Whether anything is missing, unexpected or mis-shaped.
  public var hasProblems: Bool { !missing.isEmpty || !unexpected.isEmpty || !mismatched.isEmpty }

  public var description: String {
    var lines = ["loaded \(loaded.count) tensors"]
    func list(_ keys: [String]) -> String {
      keys.prefix(8).joined(separator: ", ") + (keys.count > 8 ? ", … (\(keys.count) in all)" : "")
    }
    if !missing.isEmpty { lines.append("missing: \(list(missing))") }
    if !unexpected.isEmpty { lines.append("unexpected: \(list(unexpected))") }
    for item in mismatched.prefix(8) {
      lines.append(
        "size mismatch for \(item.key): checkpoint \(item.checkpoint), model \(item.model)")
    }
    if !newlyInitialized.isEmpty { lines.append("newly initialised: \(list(newlyInitialized))") }
    if !ignored.isEmpty { lines.append("ignored as expected: \(list(ignored))") }
    lines += warnings.map { "warning: \($0)" }
    return lines.joined(separator: "; ")
  }
}

/// A problem loading a model directory or checkpoint.
public enum CheckpointError: Error, CustomStringConvertible {
  /// The path does not exist or is not a directory.
  case notADirectory(path: String)
  /// A file the model directory needs is absent.
  case missingFile(path: String, hint: String)
  /// `config.json` could not be used.
  case config(ConfigError)
  /// `model.safetensors`, or a shard of a sharded checkpoint, could not be read.
  case safetensors(SafeTensorsError)
  /// A sharded checkpoint's index is not valid, or it and its shards disagree.
  case shardIndex(ShardIndexError)
  /// The directory holds weights only in a format this package does not read
  /// (`path`); `command` converts them to safetensors with transformers.
  case unconvertedWeights(path: String, format: UnconvertedWeights, command: String)
  /// The directory holds no weights at all; `lookedFor` lists the file names tried.
  case noWeights(directory: String, lookedFor: [String])
  /// The checkpoint does not fit the model.
  case incompatible(file: String, report: CheckpointLoadReport)
  /// The checkpoint holds a fine-tuned head of another kind than the one asked for.
  case headMismatch(file: String, holds: String, requested: String)

  public var description: String {
    switch self {
    case .notADirectory(let path): "\(path) is not a model directory"
    case .missingFile(let path, let hint): "\(path) is missing: \(hint)"
    case .config(let error): "\(error)"
    case .safetensors(let error): "\(error)"
    case .shardIndex(let error): "\(error)"
    case .unconvertedWeights(let path, let format, let command):
      "\(path) is \(format.formatName), which is not read here (only safetensors is); "
        + "convert it to model.safetensors with "
        + (format.requirement.map { "\($0) installed" } ?? "transformers") + ": \(command)"
    case .noWeights(let directory, let lookedFor):
      "\(directory) holds no model weights: none of \(lookedFor.joined(separator: ", ")) is there"
    case .incompatible(let file, let report):
      "\(file) does not fit the model (\(report)). Pass allowingProblems to load anyway with fresh weights where missing."
    case .headMismatch(let file, let holds, let requested):
      "\(file) holds a fine-tuned \(holds) head, not a \(requested) one; start from a base checkpoint for a new head"
    }
  }
}

/// Loads tensors from a safetensors checkpoint into a module's parameters by
/// Hugging Face key name.
///
/// Key rules, as transformers applies them: the `bert.` prefix of heads is
/// optional in either direction; the legacy LayerNorm names `gamma` and `beta`
/// read as `weight` and `bias`; `cls.*` and `embeddings.position_ids` are
/// expected to go unused.
public enum CheckpointLoader {
  /// Fills `module`'s parameters from `file`.
  ///
  /// - Parameters:
  ///   - expectedNew: key prefixes the checkpoint may lack without a problem
  ///     (a new head's `classifier.`).
  ///   - allowingProblems: load even with missing, unexpected or mis-shaped keys;
  ///     parameters that are not loaded keep their fresh initialisation.
  /// - Returns: what was loaded, missing, unexpected, mis-shaped and ignored.
  @discardableResult
  public static func load(
    _ module: some Layer, from file: SafeTensorsFile, path: String,
    expectedNew: [String] = [], allowingProblems: Bool = false
  ) throws -> CheckpointLoadReport {
    try load(
      module, from: SafeTensorsCheckpoint(file: file), path: path, expectedNew: expectedNew,
      allowingProblems: allowingProblems)
  }

  /// Fills `module`'s parameters from `file`, a single file or a sharded
  /// checkpoint; keys are matched across all shards as in one file.
  ///
  /// - Parameters:
  ///   - path: the file named in errors; nil names the checkpoint's `url`
  ///     (the single file, or the index).
  ///   - expectedNew: key prefixes the checkpoint may lack without a problem.
  ///   - allowingProblems: load even with missing, unexpected or mis-shaped keys.
  ///   - alreadyRead: checkpoint names read into `module` before (an int8
  ///     checkpoint's quantized tensors; see `Layer.loadQuantizedWeights`),
  ///     listed as loaded.
  /// - Returns: what was loaded, missing, unexpected, mis-shaped and ignored,
  ///   with the checkpoint's warnings.
  @discardableResult
  public static func load(
    _ module: some Layer, from file: SafeTensorsCheckpoint, path: String? = nil,
    expectedNew: [String] = [], allowingProblems: Bool = false, alreadyRead: Set<String> = []
  ) throws -> CheckpointLoadReport {
    let path = path ?? file.url.path
    let parameters = module.namedParameters
    let modelKeys = Set(parameters.map(\.key))
    let modelUsesPrefix = modelKeys.contains { $0.hasPrefix("bert.") }
    let checkpointHasPrefix = file.names.contains { $0.hasPrefix("bert.") }

    // Map each checkpoint key to the model key it would fill.
    var sources: [String: String] = [:]  // model-side key → checkpoint key
    var report = CheckpointLoadReport()
    report.warnings = file.warnings
    for name in file.names {
      if alreadyRead.contains(name) {
        report.loaded.append(name)
        continue
      }
      var key = renamingLegacyLayerNorm(name)
      if modelUsesPrefix && !checkpointHasPrefix && isEncoderKey(key) {
        key = "bert." + key
      } else if !modelUsesPrefix && checkpointHasPrefix && key.hasPrefix("bert.") {
        key = String(key.dropFirst("bert.".count))
      }
      if modelKeys.contains(key) {
        sources[key] = name
      } else if key.hasPrefix("cls.") || key.hasSuffix("position_ids")
        || key.hasSuffix("embeddings.token_type_ids") || isUnusedPooler(key, modelKeys)
      {
        report.ignored.append(name)
      } else {
        report.unexpected.append(name)
      }
    }

    var assignments: [(Parameter, Tensor)] = []
    for (key, parameter) in parameters {
      guard let name = sources[key] else {
        if expectedNew.contains(where: { key.hasPrefix($0) }) {
          report.newlyInitialized.append(key)
        } else {
          report.missing.append(key)
        }
        continue
      }
      let shape = file.info(for: name)?.shape ?? []
      guard shape == parameter.value.shape else {
        report.mismatched.append((key, shape, parameter.value.shape))
        continue
      }
      do {
        assignments.append((parameter, try file.tensor(named: name)))
      } catch {
        throw CheckpointError.safetensors(error)
      }
      report.loaded.append(key)
    }
    if report.hasProblems && !allowingProblems {
      throw CheckpointError.incompatible(file: path, report: report)
    }
    for (parameter, value) in assignments { parameter.value = value }
    return report
  }

  /// `…LayerNorm.gamma` → `…LayerNorm.weight`, `…LayerNorm.beta` → `…LayerNorm.bias`.
  static func renamingLegacyLayerNorm(_ key: String) -> String {
    if key.hasSuffix(".gamma") { return String(key.dropLast("gamma".count)) + "weight" }
    if key.hasSuffix(".beta") { return String(key.dropLast("beta".count)) + "bias" }
    return key
  }

  /// A pooler weight offered to a model built without pooler (token
  /// classification and question answering heads), which Hugging Face skips too.
  private static func isUnusedPooler(_ key: String, _ modelKeys: Set<String>) -> Bool {
    let isPooler = key.hasPrefix("pooler.") || key.hasPrefix("bert.pooler.")
    return isPooler && !modelKeys.contains { $0.contains("pooler.") }
  }

  private static func isEncoderKey(_ key: String) -> Bool {
    key.hasPrefix("embeddings.") || key.hasPrefix("encoder.") || key.hasPrefix("pooler.")
  }
}

extension BertModel {
  /// Loads a Hugging Face model directory: `config.json` and `model.safetensors`
  /// (or a sharded checkpoint: `model.safetensors.index.json` and its shards).
  ///
  /// A checkpoint without pooler weights loads a model without pooler. Keys are
  /// matched as ``CheckpointLoader`` describes; a checkpoint with real problems
  /// is refused unless `allowingProblems` is set.
  public static func load(
    directory: URL, allowingProblems: Bool = false
  ) throws -> (model: BertModel, report: CheckpointLoadReport) {
    let (config, file, weightsPath) = try openModelDirectory(directory)
    let hasPooler = file.names.contains { $0.hasSuffix("pooler.dense.weight") }
    return try loadWeights(config: config, file: file, path: weightsPath) {
      BertModel(config: config, hasPooler: hasPooler)
    } load: { model, alreadyRead in
      try CheckpointLoader.load(
        model, from: file, path: weightsPath, allowingProblems: allowingProblems,
        alreadyRead: alreadyRead)
    }
  }
}

/// Builds a model with `make` and fills it with `load`, with the model's
/// random initialisation deferred (see `Tensor.deferringInitialization`): the
/// initial values that loading replaces are never written, so loading takes
/// the memory of one model, not two. A parameter the checkpoint does not fill
/// (a new head, or a problem allowed) gets the value `make` gives it without
/// deferral, exactly.
///
/// For an int8 directory (`config.quantization` set), its quantized slots are
/// read first, and every key must load: an int8 directory cannot start a new
/// head.
func loadWeights<Model: Layer>(
  config: BertConfig, file: SafeTensorsCheckpoint, path: String,
  make: () throws -> Model,
  load: (Model, _ alreadyRead: Set<String>) throws -> CheckpointLoadReport
) throws -> (model: Model, report: CheckpointLoadReport) {
  var model = try Tensor.deferringInitialization(make)
  let read =
    config.quantization == nil ? [] : try model.loadQuantizedWeights(from: file, path: path)
  let report = try load(model, read)
  let unfilled = Set(report.missing + report.newlyInitialized + report.mismatched.map(\.key))
  guard !unfilled.isEmpty else { return (model, report) }
  guard config.quantization == nil else {
    throw QuantizedCheckpointError.incomplete(file: path, keys: unfilled.sorted())
  }
  let initial = Dictionary(try make().namedParameters.map { ($0.key, $0.parameter) }) { a, _ in a }
  for (key, parameter) in model.namedParameters where unfilled.contains(key) {
    guard let value = initial[key]?.value else { continue }
    parameter.value = value
  }
  return (model, report)
}

/// Reads the config and opens the weights of a model directory: its
/// `model.safetensors`, or its sharded checkpoint (see ``SafeTensorsCheckpoint``).
/// Returns the config, the weights, and the path that errors name.
func openModelDirectory(_ directory: URL) throws -> (BertConfig, SafeTensorsCheckpoint, String) {
  var isDirectory: ObjCBool = false
  guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory),
    isDirectory.boolValue
  else { throw CheckpointError.notADirectory(path: directory.path) }
  let configURL = directory.appendingPathComponent("config.json")
  guard FileManager.default.fileExists(atPath: configURL.path) else {
    throw CheckpointError.missingFile(
      path: configURL.path, hint: "a Hugging Face model directory holds config.json")
  }
  // Where the weights are, before anything is parsed: a directory of another
  // format is told how to convert it whatever its config holds.
  _ = try SafeTensorsCheckpoint.weightsURL(in: directory)
  let config: BertConfig
  do {
    config = try BertConfig(contentsOf: configURL)
  } catch {
    throw CheckpointError.config(error)
  }
  let weights = try SafeTensorsCheckpoint(directory: directory)
  return (config, weights, weights.url.path)
}
