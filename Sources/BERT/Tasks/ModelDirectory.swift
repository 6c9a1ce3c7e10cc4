import Foundation

/// The task settings this package writes into `config.json` under
/// `bert_swift_task`, beside Hugging Face's own keys (transformers ignores
/// keys it does not know), so `evaluate` and `predict` know what a directory holds.
public struct TaskSettings: Codable, Sendable, Equatable {
  /// `classification`, `pair-classification`, `regression`, `pair-regression`, `tagging` or `qa`.
  public var task: String
  /// The longest input in tokens, special tokens included.
  public var maxLength: Int
  /// QA: context tokens shared by consecutive windows.
  public var docStride: Int?
  /// QA: the longest answer in tokens.
  public var maxAnswerLength: Int?
  /// Tagging: whether every sub-token is labelled (B-X becoming I-X), not only the first.
  public var labelAllTokens: Bool?
  /// Text tasks: `cls-mlp` for the MLP head on `[CLS]`; nil for the pooler head.
  public var classifierHead: String?

  enum CodingKeys: String, CodingKey {
    case task
    case maxLength = "max_length"
    case docStride = "doc_stride"
    case maxAnswerLength = "max_answer_length"
    case labelAllTokens = "label_all_tokens"
    case classifierHead = "classifier_head"
  }

  public init(
    task: String, maxLength: Int, docStride: Int? = nil, maxAnswerLength: Int? = nil,
    labelAllTokens: Bool? = nil, classifierHead: String? = nil
  ) {
    self.task = task
    self.maxLength = maxLength
    self.docStride = docStride
    self.maxAnswerLength = maxAnswerLength
    self.labelAllTokens = labelAllTokens
    self.classifierHead = classifierHead
  }

  /// The task that ``task`` names.
  ///
  /// - Throws: ``FineTunedTaskError/unknownTask(_:)`` for a name no task has
  ///   (a directory written by a later version, or edited by hand).
  public func kind() throws -> TaskKind { try TaskKind(named: task) }

  /// The settings in a model directory's `config.json` (in the `Transformer`
  /// folder of a sentence-transformers directory), or nil for a plain checkpoint.
  public static func read(directory: URL) throws -> TaskSettings? {
    let directory = try ModelDirectoryLayout.transformerDirectory(of: directory)
    struct Wrapper: Decodable {
      var settings: TaskSettings?
      enum CodingKeys: String, CodingKey { case settings = "bert_swift_task" }
    }
    let data = try Data(contentsOf: directory.appendingPathComponent("config.json"))
    return try JSONDecoder().decode(Wrapper.self, from: data).settings
  }
}

/// Writes fine-tuned models as Hugging Face model directories.
enum ModelDirectoryWriter {
  /// Writes `config.json`, `model.safetensors`, the tokenizer (`vocab.txt` and
  /// `tokenizer.json` as the source has them, a `tokenizer.json` made from
  /// `vocab.txt` where the source has none) and `tokenizer_config.json` into
  /// `directory`, each file atomically.
  ///
  /// - Parameters:
  ///   - architecture: the transformers class, e.g. `BertForSequenceClassification`.
  ///   - labels: the label names in id order, for `id2label` and `label2id`.
  ///   - problemType: `single_label_classification` or `regression`, if any.
  ///   - tokenizerSource: the directory whose tokenizer files to copy.
  static func write(
    config: BertConfig, architecture: String, labels: [String]?, problemType: String?,
    settings: TaskSettings, parameters: [(key: String, parameter: Parameter)],
    tokenizerSource: URL, to directory: URL
  ) throws {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    var config = config
    config.architectures = [architecture]
    config.problemType = problemType
    if let labels {
      config.labelCount = labels.count
      config.idToLabel = Dictionary(
        uniqueKeysWithValues: labels.enumerated().map { (String($0.offset), $0.element) })
      config.labelToID = Dictionary(
        uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) })
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    var object = try JSONSerialization.jsonObject(with: encoder.encode(config)) as! [String: Any]
    object["model_type"] = "bert"
    object["bert_swift_task"] = try JSONSerialization.jsonObject(with: encoder.encode(settings))
    let configData = try JSONSerialization.data(
      withJSONObject: object, options: [.prettyPrinted, .sortedKeys])

    // Weights first: a config never points at weights that are not there yet.
    try SafeTensors.write(
      parameters.map { ($0.key, $0.parameter.value) }, metadata: ["format": "pt"],
      to: directory.appendingPathComponent("model.safetensors"))
    let layout = try ModelDirectoryLayout(directory: tokenizerSource)
    for name in ["vocab.txt", "tokenizer.json", "tokenizer_config.json"] {
      let source = layout.transformer.appendingPathComponent(name)
      let target = directory.appendingPathComponent(name)
      guard source.standardizedFileURL != target.standardizedFileURL,
        FileManager.default.fileExists(atPath: source.path)
      else { continue }
      try Data(contentsOf: source).write(to: target, options: .atomic)
    }
    // A vocab.txt directory also gets the tokenizer.json transformers would write for it.
    let tokenizerFile = directory.appendingPathComponent(TokenizerFormat.tokenizerJSON.rawValue)
    if !FileManager.default.fileExists(atPath: tokenizerFile.path) {
      try BertTokenizer(directory: layout.transformer).vocabularyTokenizerJSON()
        .write(to: tokenizerFile, options: .atomic)
    }
    try layout.copySentenceTransformersFiles(to: directory)
    try configData.write(to: directory.appendingPathComponent("config.json"), options: .atomic)
  }
}
