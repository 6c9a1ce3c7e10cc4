// The weights of a model directory: one `model.safetensors`, or the shards
// that `model.safetensors.index.json` names, as transformers' save_pretrained
// writes them when a checkpoint is over `max_shard_size`:
//
//   model.safetensors.index.json
//     {"metadata": {"total_size": 80308, "total_parameters": 20077},
//      "weight_map": {"bert.embeddings.word_embeddings.weight": "model-00001-of-00003.safetensors",
//                     ...}}
//   model-00001-of-00003.safetensors, model-00002-of-00003.safetensors, ...
//
// Which file is used follows transformers' `_get_resolved_checkpoint_files`:
// `model.safetensors` when it exists, else the index. Each shard is a
// safetensors file, memory-mapped and validated as a single file is. The index
// and the shards must agree: every tensor of the weight map is in the shard it
// names, every tensor of a shard is in the weight map, and no tensor is in two
// shards. (transformers merges whatever the shards hold and does not check;
// a disagreement means a broken copy or a hand-edited index, so it is refused
// here.) `total_size` only informs, as in transformers: a value that disagrees
// with the shards' data is a warning, not an error.

import Foundation

/// The safetensors weights of a model directory: a single file, or a sharded
/// checkpoint made of an index and its shards.
///
/// ```swift
/// let weights = try SafeTensorsCheckpoint(directory: modelDirectory)
/// let embeddings = try weights.tensor(named: "embeddings.word_embeddings.weight")
/// ```
public struct SafeTensorsCheckpoint: Sendable {
  /// The file that describes the checkpoint: `model.safetensors`, or
  /// `model.safetensors.index.json` for a sharded one.
  public let url: URL
  /// The safetensors files: the single file, or the shards in the order
  /// transformers reads them (sorted by file name).
  public let files: [SafeTensorsFile]
  /// Every tensor name: shard by shard, each in the order of its data.
  public let names: [String]
  /// Notes about the checkpoint that do not stop it loading, as sentences
  /// (a `total_size` that disagrees with the shards' data).
  public let warnings: [String]

  private let shardOf: [[UInt8]: Int]  // UTF-8 name → position in `files`

  /// The single file, which transformers prefers when both it and an index exist.
  public static let singleFileName = "model.safetensors"
  /// The index of a sharded checkpoint.
  public static let indexFileName = "model.safetensors.index.json"

  /// Whether the weights are split into shards by an index.
  public var isSharded: Bool { url.lastPathComponent != SafeTensorsCheckpoint.singleFileName }

  /// A single safetensors file as a checkpoint.
  public init(file: SafeTensorsFile) {
    url = file.url
    files = [file]
    names = file.names
    warnings = []
    var shardOf: [[UInt8]: Int] = [:]
    for name in file.names { shardOf[Array(name.utf8)] = 0 }
    self.shardOf = shardOf
  }

  /// Opens the weights of a model directory: `model.safetensors` when it
  /// exists, else `model.safetensors.index.json` and its shards.
  ///
  /// - Throws: `CheckpointError.unconvertedWeights` when the directory holds
  ///   only weights of another format (PyTorch, TensorFlow, Flax), naming the
  ///   file and the command that converts it; `.noWeights` when it holds none;
  ///   `.safetensors` or `.shardIndex` for a file that is malformed or
  ///   inconsistent.
  public init(directory: URL) throws(CheckpointError) {
    let url = try SafeTensorsCheckpoint.weightsURL(in: directory)
    if url.lastPathComponent == SafeTensorsCheckpoint.singleFileName {
      do {
        self.init(file: try SafeTensorsFile(contentsOf: url))
      } catch {
        throw .safetensors(error)
      }
    } else {
      try self.init(index: url)
    }
  }

  /// Opens a sharded checkpoint from its index and checks that the index and
  /// the shards agree.
  ///
  /// - Throws: `CheckpointError.shardIndex` for an index that is not valid, a
  ///   missing shard, or an index and shards that disagree;
  ///   `CheckpointError.safetensors` for a shard that is not a valid file.
  public init(index url: URL) throws(CheckpointError) {
    let path = url.path
    func fail(
      _ reason: ShardIndexError.Reason, shard: String? = nil, tensor: String? = nil
    ) -> CheckpointError {
      .shardIndex(ShardIndexError(path: path, shard: shard, tensor: tensor, reason: reason))
    }

    let index = try ShardIndex(contentsOf: url)
    let directory = url.deletingLastPathComponent()
    // The shards, as transformers lists them: the distinct file names, sorted.
    let shardNames = Array(Set(index.weightMap.map(\.shard))).sorted {
      $0.utf8.lexicographicallyPrecedes($1.utf8)
    }
    var files: [SafeTensorsFile] = []
    for shard in shardNames {
      let components = shard.split(separator: "/", omittingEmptySubsequences: false)
      guard !shard.hasPrefix("/"), !components.contains(".."), !components.contains("") else {
        throw fail(.shardOutsideDirectory, shard: shard)
      }
      let shardURL = directory.appendingPathComponent(shard)
      guard FileManager.default.fileExists(atPath: shardURL.path) else {
        let held = index.weightMap.filter { $0.shard == shard }
        throw fail(.missingShard(tensorCount: held.count), shard: shard, tensor: held[0].tensor)
      }
      do {
        files.append(try SafeTensorsFile(contentsOf: shardURL))
      } catch {
        throw .safetensors(error)
      }
    }

    // Each tensor of a shard once, and in the weight map under that shard.
    var shardOf: [[UInt8]: Int] = [:]
    var names: [String] = []
    var dataByteCount = 0
    for (position, file) in files.enumerated() {
      for name in file.names {
        let key = Array(name.utf8)
        if let other = shardOf[key] {
          throw fail(
            .tensorInTwoShards(other: shardNames[other]), shard: shardNames[position],
            tensor: name)
        }
        shardOf[key] = position
        names.append(name)
        dataByteCount += file.info(for: name)?.dataOffsets.count ?? 0
      }
    }
    var listed: [[UInt8]: String] = [:]
    for (tensor, shard) in index.weightMap {
      listed[Array(tensor.utf8)] = shard
      let holder = shardOf[Array(tensor.utf8)]
      guard let holder, shardNames[holder] == shard else {
        throw fail(
          .tensorNotInShard(heldBy: holder.map { shardNames[$0] }), shard: shard, tensor: tensor)
      }
    }
    for (position, file) in files.enumerated() {
      for name in file.names where listed[Array(name.utf8)] == nil {
        throw fail(.tensorNotInWeightMap, shard: shardNames[position], tensor: name)
      }
    }

    var warnings: [String] = []
    switch index.totalSize {
    case .some(.some(let totalSize)) where totalSize != dataByteCount:
      warnings.append(
        "\(path): metadata.total_size says \(totalSize) bytes of tensor data, but the shards "
          + "hold \(dataByteCount); it only informs (transformers does not read it either)")
    case .some(.none):
      warnings.append(
        "\(path): metadata.total_size is not a non-negative integer; it is ignored, "
          + "as transformers ignores it")
    default: break
    }

    self.url = url
    self.files = files
    self.names = names
    self.warnings = warnings
    self.shardOf = shardOf
  }

  /// The file that holds the tensor `name`, or nil if no file does.
  public func file(holding name: String) -> SafeTensorsFile? {
    shardOf[Array(name.utf8)].map { files[$0] }
  }

  /// Where the tensor `name` is and how it is stored, or nil if the checkpoint has no such tensor.
  public func info(for name: String) -> SafeTensors.TensorInfo? {
    file(holding: name)?.info(for: name)
  }

  /// The tensor `name` as Float32 (see ``SafeTensorsFile/tensor(named:)``).
  /// - Throws: `SafeTensorsError` naming the file, if there is no such tensor
  ///   or its dtype is not a float type.
  public func tensor(named name: String) throws(SafeTensorsError) -> Tensor {
    try (file(holding: name) ?? files[0]).tensor(named: name)
  }

  /// The I8 tensor `name`'s values (see ``SafeTensorsFile/int8Values(named:)``).
  public func int8Values(named name: String) throws(SafeTensorsError) -> [Int8] {
    try (file(holding: name) ?? files[0]).int8Values(named: name)
  }

  /// The tensor `name` as Ints, flattened (see ``SafeTensorsFile/integers(named:)``).
  public func integers(named name: String) throws(SafeTensorsError) -> [Int] {
    try (file(holding: name) ?? files[0]).integers(named: name)
  }

  /// The weights file of a model directory, as transformers chooses it:
  /// `model.safetensors`, else `model.safetensors.index.json`.
  ///
  /// - Throws: `CheckpointError.unconvertedWeights` when there is only a
  ///   PyTorch, TensorFlow or Flax checkpoint (which is never read);
  ///   `.noWeights` when there are no weights at all.
  public static func weightsURL(in directory: URL) throws(CheckpointError) -> URL {
    let manager = FileManager.default
    for name in [singleFileName, indexFileName] {
      let url = directory.appendingPathComponent(name)
      if manager.fileExists(atPath: url.path) { return url }
    }
    for format in UnconvertedWeights.allCases {
      let url = directory.appendingPathComponent(format.fileName)
      if manager.fileExists(atPath: url.path) {
        throw .unconvertedWeights(
          path: url.path, format: format,
          command: format.conversionCommand(directory: directory))
      }
    }
    throw .noWeights(
      directory: directory.path,
      lookedFor: [singleFileName, indexFileName] + UnconvertedWeights.allCases.map(\.fileName))
  }
}

/// A checkpoint format other than safetensors, which this package does not read
/// (a PyTorch checkpoint is a pickle, which can run code when it is loaded).
public enum UnconvertedWeights: String, CaseIterable, Sendable {
  /// `pytorch_model.bin`: a PyTorch pickle.
  case pytorch
  /// `pytorch_model.bin.index.json`: a sharded PyTorch pickle.
  case pytorchSharded
  /// `tf_model.h5`: TensorFlow 2 (Keras) weights.
  case tensorFlow
  /// `model.ckpt.index`: a TensorFlow 1 checkpoint, as Google's original BERT releases.
  case tensorFlowCheckpoint
  /// `flax_model.msgpack`: Flax weights.
  case flax

  /// The file transformers writes for this format.
  public var fileName: String {
    switch self {
    case .pytorch: "pytorch_model.bin"
    case .pytorchSharded: "pytorch_model.bin.index.json"
    case .tensorFlow: "tf_model.h5"
    case .tensorFlowCheckpoint: "model.ckpt.index"
    case .flax: "flax_model.msgpack"
    }
  }

  /// The format's name, for messages.
  public var formatName: String {
    switch self {
    case .pytorch, .pytorchSharded: "a PyTorch pickle"
    case .tensorFlow: "TensorFlow 2 weights"
    case .tensorFlowCheckpoint: "a TensorFlow 1 checkpoint"
    case .flax: "Flax weights"
    }
  }

  /// What the command needs besides transformers 5, if anything. transformers 5
  /// reads PyTorch checkpoints only; it dropped `from_tf` and `from_flax`.
  public var requirement: String? {
    switch self {
    case .pytorch, .pytorchSharded: nil
    case .tensorFlow, .tensorFlowCheckpoint: "transformers 4 and TensorFlow"
    case .flax: "transformers 4 and Flax"
    }
  }

  /// The transformers `from_pretrained` argument that reads this format, if one is needed.
  var fromPretrainedArgument: String? {
    switch self {
    case .pytorch, .pytorchSharded: nil
    case .tensorFlow, .tensorFlowCheckpoint: "from_tf=True"
    case .flax: "from_flax=True"
    }
  }

  /// The one-line shell command that converts the weights of `directory` to
  /// `model.safetensors` in place, with the Auto class of the head that
  /// `config.json`'s `architectures` names (so that the head is kept).
  public func conversionCommand(directory: URL) -> String {
    let autoClass = Self.autoClass(directory: directory)
    let path = pythonString(directory.path)
    let extra = fromPretrainedArgument.map { ", \($0)" } ?? ""
    let python =
      "from transformers import \(autoClass); "
      + "\(autoClass).from_pretrained(\(path)\(extra)).save_pretrained(\(path), safe_serialization=True)"
    return "python3 -c \(shellDoubleQuoted(python))"
  }

  /// transformers' Auto class for the architecture in `config.json`; `AutoModel`
  /// for a base model or a config that names none.
  static func autoClass(directory: URL) -> String {
    let url = directory.appendingPathComponent("config.json")
    guard let data = try? Data(contentsOf: url),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let architecture = (object["architectures"] as? [String])?.first
    else { return "AutoModel" }
    let classes = [
      "ForSequenceClassification": "AutoModelForSequenceClassification",
      "ForTokenClassification": "AutoModelForTokenClassification",
      "ForQuestionAnswering": "AutoModelForQuestionAnswering",
      "ForMaskedLM": "AutoModelForMaskedLM",
      "ForPreTraining": "AutoModelForPreTraining",
      "ForNextSentencePrediction": "AutoModelForNextSentencePrediction",
      "ForMultipleChoice": "AutoModelForMultipleChoice",
      "LMHeadModel": "AutoModelForCausalLM",
    ]
    return classes.first { architecture.hasSuffix($0.key) }?.value ?? "AutoModel"
  }
}

/// `text` as a single-quoted Python string literal.
private func pythonString(_ text: String) -> String {
  var result = "'"
  for scalar in text.unicodeScalars {
    switch scalar {
    case "\\": result += "\\\\"
    case "'": result += "\\'"
    case "\n": result += "\\n"
    default: result.unicodeScalars.append(scalar)
    }
  }
  return result + "'"
}

/// `text` in double quotes for a POSIX shell, with `"`, `\`, `$` and `` ` `` escaped.
private func shellDoubleQuoted(_ text: String) -> String {
  var result = "\""
  for scalar in text.unicodeScalars {
    if "\"\\$`".unicodeScalars.contains(scalar) { result += "\\" }
    result.unicodeScalars.append(scalar)
  }
  return result + "\""
}

// MARK: - The index file

/// A parsed `model.safetensors.index.json`.
private struct ShardIndex {
  /// The weight map's entries in file order.
  var weightMap: [(tensor: String, shard: String)] = []
  /// `metadata.total_size`: absent (nil), not a non-negative integer (.some(nil)), or its value.
  var totalSize: Int??

  init(contentsOf url: URL) throws(CheckpointError) {
    let path = url.path
    func fail(_ reason: ShardIndexError.Reason) -> CheckpointError {
      .shardIndex(ShardIndexError(path: path, reason: reason))
    }
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw fail(.unreadable((error as NSError).localizedDescription))
    }
    guard String(data: data, encoding: .utf8) != nil else { throw fail(.notUTF8) }
    let parsed: Result<(StrictJSON, Int, Int), JSONParser.Failure> = data.withUnsafeBytes {
      bytes in
      var parser = JSONParser(bytes: bytes)
      do throws(JSONParser.Failure) {
        let value = try parser.parseValue()
        // Only whitespace may follow the object.
        var end = parser.position
        while end < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[end]) { end += 1 }
        return .success((value, end, bytes.count))
      } catch {
        return .failure(error)
      }
    }
    let root: StrictJSON
    switch parsed {
    case .failure(.syntax(let message)): throw fail(.notJSON(message))
    case .failure(.duplicateKey(let key)): throw fail(.duplicateKey(key))
    case .success(let (value, end, count)):
      guard end == count else { throw fail(.notJSON("text after the JSON value at byte \(end)")) }
      root = value
    }
    guard case .object(let members) = root else {
      throw fail(.invalidField("the index is \(root.typeName), not an object"))
    }
    var weightMapValue: StrictJSON?
    for (key, value) in members {
      switch key {
      case "weight_map": weightMapValue = value
      case "metadata":
        guard case .object(let fields) = value else {
          throw fail(.invalidField("\"metadata\" is \(value.typeName), not an object"))
        }
        if let size = fields.first(where: { $0.key == "total_size" })?.value {
          totalSize = .some(size.nonNegativeInteger)
        }
      default: continue
      }
    }
    guard let weightMapValue else {
      throw fail(.invalidField("the index has no \"weight_map\" object"))
    }
    guard case .object(let entries) = weightMapValue else {
      throw fail(.invalidField("\"weight_map\" is \(weightMapValue.typeName), not an object"))
    }
    guard !entries.isEmpty else { throw fail(.invalidField("\"weight_map\" is empty")) }
    for (tensor, value) in entries {
      guard case .string(let shard) = value else {
        throw fail(
          .invalidField(
            "\"weight_map\" maps \"\(tensor)\" to \(value.typeName), not a shard's file name"))
      }
      guard !shard.isEmpty else {
        throw fail(.invalidField("\"weight_map\" maps \"\(tensor)\" to an empty file name"))
      }
      weightMap.append((tensor, shard))
    }
  }
}
