import Foundation

/// What ``QuantizedModelDirectory/write(from:to:keepingFloat:)`` wrote.
public struct QuantizationSummary: Sendable {
  /// The projections stored as int8, by key (`encoder.layer.0.attention.self.query`).
  public var quantizedProjections: [String]
  /// The embedding tables stored as int8, by key (`embeddings.word_embeddings`).
  public var quantizedTables: [String]
  /// The projections kept in float32 because they were asked to be.
  public var keptInFloat: [String]
  /// The bytes of the source's weight files and of the written `model.safetensors`.
  public var sourceWeightBytes: Int
  public var writtenWeightBytes: Int
}

/// A problem writing an int8 directory.
public enum QuantizedModelDirectoryError: Error, CustomStringConvertible, Equatable {
  /// The output exists already; nothing is overwritten.
  case outputExists(path: String)
  /// The source is an int8 directory already.
  case alreadyQuantized(path: String)
  /// A key asked to stay in float32 names no projection of the model.
  case unknownProjection(key: String, known: [String])

  public var description: String {
    switch self {
    case .outputExists(let path):
      "\(path) exists; give a new directory (nothing is overwritten)"
    case .alreadyQuantized(let path):
      "\(path) is an int8 directory already (its config.json has quantization_config)"
    case .unknownProjection(let key, let known):
      "\(key) is not a projection of the model; projections are keyed as "
        + known.prefix(3).joined(separator: ", ") + ", …"
    }
  }
}

/// Writes a model directory as an int8 one: the directory `bert quantize`
/// makes, which ``BertPipeline`` and ``FineTunedTask`` load directly.
///
/// The output holds everything the source holds (tokenizer files,
/// sentence-transformers modules, task settings) except its weights, plus:
/// - `model.safetensors` (beside `config.json`) with each projection as I8
///   `K.weight` [out, in], F32 `K.weight_scale` [out] and F32 `K.bias`, the
///   word embeddings as I8 `embeddings.word_embeddings.weight` with F32
///   scales per row, and every other parameter in F32 (see
///   ``Layer/loadQuantizedWeights(from:path:)``);
/// - `quantization_config` in `config.json` (see ``QuantizationConfig``);
/// - a `README.md` that says what the directory is and that transformers
///   cannot read it.
///
/// The values are those ``Layer/convert(to:keepingFloat:prefix:)`` computes
/// when the source loads at ``Precision/int8``, so the two run bit-identically.
public enum QuantizedModelDirectory {
  /// The weight files of a source directory that are not copied.
  static let weightExtensions: Set<String> = ["safetensors", "bin", "h5", "msgpack", "ot", "onnx"]

  /// Quantizes the directory `source` into the new directory `output`,
  /// written under a temporary name beside it and renamed when complete, so
  /// that `output` never exists half-written.
  ///
  /// - Parameter keepingFloat: projection keys to keep in float32, as the
  ///   checkpoint names them (`encoder.layer.9.output.dense`, or
  ///   `bert.encoder.layer.9.output.dense` in a head).
  /// - Throws: ``QuantizedModelDirectoryError``, or what loading the source throws.
  @discardableResult
  public static func write(from source: URL, to output: URL, keepingFloat: Set<String> = [])
    throws -> QuantizationSummary
  {
    let fileManager = FileManager.default
    guard !fileManager.fileExists(atPath: output.path) else {
      throw QuantizedModelDirectoryError.outputExists(path: output.path)
    }
    let layout = try ModelDirectoryLayout(directory: source)
    let configURL = layout.transformer.appendingPathComponent("config.json")
    let config = try BertConfig(contentsOf: configURL)
    guard config.quantization == nil else {
      throw QuantizedModelDirectoryError.alreadyQuantized(path: source.path)
    }
    var model = try loadModel(layout.transformer, config: config)
    let projections = model.projectionKeys
    let keys = Set(projections)
    if let unknown = keepingFloat.sorted().first(where: { !keys.contains($0) }) {
      throw QuantizedModelDirectoryError.unknownProjection(key: unknown, known: projections)
    }
    try model.convert(to: .int8, keepingFloat: keepingFloat)
    let entries = model.quantizedCheckpointEntries()

    let staging = output.deletingLastPathComponent().appendingPathComponent(
      ".\(output.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
    try? fileManager.removeItem(at: staging)
    do {
      let sourceBytes = try copyAllButWeights(from: source, to: staging)
      let relative = String(
        layout.transformer.standardizedFileURL.path.dropFirst(
          source.standardizedFileURL.path.count))
      let transformer =
        relative.isEmpty
        ? staging : staging.appendingPathComponent(String(relative.drop { $0 == "/" }))
      try fileManager.createDirectory(at: transformer, withIntermediateDirectories: true)
      let weights = transformer.appendingPathComponent(SafeTensorsCheckpoint.singleFileName)
      try SafeTensors.write(
        entries: entries, metadata: ["format": "bert_swift_int8"], to: weights)
      try writeConfig(
        from: configURL, to: transformer.appendingPathComponent("config.json"),
        quantization: QuantizationConfig(keptInFloat: keepingFloat.sorted()))
      let summary = QuantizationSummary(
        quantizedProjections: projections.filter { !keepingFloat.contains($0) },
        quantizedTables: model.embeddingTableKeys,
        keptInFloat: keepingFloat.sorted(), sourceWeightBytes: sourceBytes,
        writtenWeightBytes: try weights.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0)
      try readme(source: source, summary: summary)
        .write(to: staging.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
      try fileManager.moveItem(at: staging, to: output)
      return summary
    } catch {
      try? fileManager.removeItem(at: staging)
      throw error
    }
  }

  /// The source's model with its head, as the config's `architectures` names it.
  static func loadModel(_ directory: URL, config: BertConfig) throws -> any Layer {
    guard let kind = try FineTunedTask.inferredKind(config, path: directory.path) else {
      return try BertModel.load(directory: directory).model
    }
    switch kind {
    case .classification, .pairClassification, .regression, .pairRegression:
      return try BertForSequenceClassification.load(directory: directory).model
    case .tagging: return try BertForTokenClassification.load(directory: directory).model
    case .qa: return try BertForQuestionAnswering.load(directory: directory).model
    case .retrieval: return try BertModel.load(directory: directory).model
    }
  }

  /// Copies every file and folder of `source` into the new `target` but the
  /// weights and the README; returns the bytes of the weights left behind.
  static func copyAllButWeights(from source: URL, to target: URL) throws -> Int {
    let fileManager = FileManager.default
    try fileManager.createDirectory(at: target, withIntermediateDirectories: true)
    var weightBytes = 0
    for name in try fileManager.contentsOfDirectory(atPath: source.path) {
      let item = source.appendingPathComponent(name)
      var isDirectory: ObjCBool = false
      _ = fileManager.fileExists(atPath: item.path, isDirectory: &isDirectory)
      if isDirectory.boolValue {
        weightBytes += try copyAllButWeights(
          from: item, to: target.appendingPathComponent(name))
      } else if weightExtensions.contains(item.pathExtension)
        || name == SafeTensorsCheckpoint.indexFileName
      {
        weightBytes += (try item.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
      } else if name != "README.md" {
        try fileManager.copyItem(at: item, to: target.appendingPathComponent(name))
      }
    }
    return weightBytes
  }

  /// The source's `config.json` with `quantization_config` added; every
  /// other field as it was.
  static func writeConfig(from source: URL, to target: URL, quantization: QuantizationConfig)
    throws
  {
    guard
      var object = try JSONSerialization.jsonObject(with: Data(contentsOf: source))
        as? [String: Any]
    else { throw ConfigError.malformed(file: source.path, reason: "not a JSON object") }
    object["quantization_config"] = try JSONSerialization.jsonObject(
      with: JSONEncoder().encode(quantization))
    try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
      .write(to: target, options: .atomic)
  }

  static func readme(source: URL, summary: QuantizationSummary) -> String {
    let ratio = Double(summary.writtenWeightBytes) / Double(max(summary.sourceWeightBytes, 1))
    let kept =
      summary.keptInFloat.isEmpty
      ? "none" : summary.keptInFloat.map { "`\($0)`" }.joined(separator: ", ")
    return """
      # int8 model

      Written by `bert quantize` from `\(source.lastPathComponent)`. It loads directly in the
      BERT Swift package (`bert encode`, `predict`, `evaluate`, `BertPipeline`,
      `FineTunedTask.open`) and runs at int8. It is for inference only: to fine-tune, start
      from the float32 directory it came from.

      **transformers and sentence-transformers cannot read it.** Its `config.json` carries a
      `quantization_config` whose `quant_method` (`\(QuantizationConfig.int8Method)`) they do
      not know, and its weights are not float.

      ## What is stored

      - \(summary.quantizedProjections.count) projections as int8, symmetric, one float32
        scale per output row: `K.weight` (I8 [out, in]), `K.weight_scale` (F32 [out]),
        `K.bias` (F32 [out]). At run time the activations are quantized per row (token), the
        products are summed exactly in int32, and the bias (and the GELU that follows
        `intermediate.dense`) is applied as the output is dequantized.
      - The word embeddings as int8 rows with one float32 scale per token
        (`embeddings.word_embeddings.weight` and `…weight_scale`).
      - In float32: the position and segment embeddings, every LayerNorm, and the
        projections kept in float (\(kept)).

      Weights: \(summary.writtenWeightBytes) bytes, \(String(format: "%.2f", ratio))× the
      source's \(summary.sourceWeightBytes).

      """
  }
}

extension Layer {
  /// The keys of every projection slot, in order (`encoder.layer.0.attention.self.query`).
  public var projectionKeys: [String] {
    var copy = self
    var keys: [String] = []
    copy.mapProjections { key, projection in
      keys.append(key)
      return projection
    }
    return keys
  }

  /// The keys of the embedding tables another precision stores differently.
  public var embeddingTableKeys: [String] {
    var copy = self
    var keys: [String] = []
    copy.mapEmbeddingTables { key, table in
      keys.append(key)
      return table
    }
    return keys
  }
}
