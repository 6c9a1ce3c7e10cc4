import Foundation

/// Where a model directory keeps the transformer's files, and what
/// sentence-transformers' files in it say about embeddings.
///
/// A directory as transformers writes it holds `config.json`, the weights and
/// the tokenizer files at its root. A sentence-transformers directory adds
/// `modules.json`, which lists the modules applied in order: the
/// `Transformer` (its `path` is the folder of the transformer's files: `""`
/// for the root, or a subfolder such as `0_Transformer`), then `Pooling` (its
/// folder's `config.json` names the pooling modes), then optionally
/// `Normalize` (L2 normalisation). `sentence_bert_config.json`, beside the
/// transformer's files, gives `max_seq_length` and `do_lower_case`.
///
/// ```swift
/// let layout = try ModelDirectoryLayout(directory: url)
/// let config = try BertConfig(contentsOf: layout.transformer.appendingPathComponent("config.json"))
/// ```
public struct ModelDirectoryLayout: Sendable, Equatable {
  /// The directory as given.
  public var root: URL
  /// The folder that holds `config.json`, the weights and the tokenizer files.
  public var transformer: URL
  /// What sentence-transformers' files say; nil without `modules.json`.
  public var sentenceTransformers: SentenceTransformersSettings?

  /// Reads `modules.json` and the files it names, when `directory` has one.
  ///
  /// - Throws: ``ModelDirectoryError`` when `modules.json` or a file it names
  ///   is malformed, or names a module this package cannot run.
  public init(directory: URL) throws(ModelDirectoryError) {
    root = directory
    let settings = try SentenceTransformersSettings.read(directory: directory)
    sentenceTransformers = settings
    transformer =
      settings.map {
        $0.transformerPath.isEmpty
          ? directory : directory.appendingPathComponent($0.transformerPath)
      }
      ?? directory
  }

  /// The folder of the transformer's files in `directory`: the root, or the
  /// subfolder that `modules.json` names.
  public static func transformerDirectory(of directory: URL) throws(ModelDirectoryError) -> URL {
    try ModelDirectoryLayout(directory: directory).transformer
  }
}

extension ModelDirectoryLayout {
  /// Writes this directory's sentence-transformers files into `directory`,
  /// which holds the transformer's files at its root (as
  /// ``ModelDirectoryWriter`` writes them): `modules.json` with the
  /// `Transformer` at `""`, the `Pooling` and `Normalize` folders,
  /// `sentence_bert_config.json` and `config_sentence_transformers.json`.
  /// Does nothing for a directory without `modules.json`.
  func copySentenceTransformersFiles(to directory: URL) throws {
    guard let settings = sentenceTransformers,
      root.standardizedFileURL != directory.standardizedFileURL
    else { return }
    let manager = FileManager.default
    let modules = settings.modules.map { module in
      var module = module
      if module.className == "Transformer" { module.path = "" }
      return module
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(modules).write(
      to: directory.appendingPathComponent("modules.json"), options: .atomic)
    for path in [settings.poolingPath, settings.normalizePath].compactMap({ $0 })
    where !path.isEmpty {
      let source = root.appendingPathComponent(path)
      let target = directory.appendingPathComponent(path)
      if manager.fileExists(atPath: target.path) { try manager.removeItem(at: target) }
      if manager.fileExists(atPath: source.path) {
        try manager.copyItem(at: source, to: target)
      } else {
        // sentence-transformers 1.x/2.x may list a Normalize folder it never wrote.
        try manager.createDirectory(at: target, withIntermediateDirectories: true)
      }
    }
    let files = [
      (transformer, "sentence_bert_config.json"), (root, "config_sentence_transformers.json"),
    ]
    for (folder, name) in files {
      let source = folder.appendingPathComponent(name)
      guard manager.fileExists(atPath: source.path) else { continue }
      try Data(contentsOf: source).write(
        to: directory.appendingPathComponent(name), options: .atomic)
    }
  }
}

/// The embedding recipe of a sentence-transformers directory.
public struct SentenceTransformersSettings: Sendable, Equatable {
  /// One entry of `modules.json`.
  public struct Module: Codable, Sendable, Equatable {
    public var idx: Int?
    public var name: String?
    /// The module's folder, relative to the directory (`""` for the root).
    public var path: String
    /// The module's Python class, e.g. `sentence_transformers.models.Pooling`.
    public var type: String

    /// The class name alone (`Pooling`), whatever the module path before it.
    public var className: String { String(type.split(separator: ".").last ?? "") }
  }

  /// The modules in the order they run (by `idx`, else as listed).
  public var modules: [Module]
  /// The `Transformer` module's folder (`""` for the root).
  public var transformerPath: String
  /// The `Pooling` module's folder, if there is one.
  public var poolingPath: String?
  /// The `Normalize` module's folder, if there is one.
  public var normalizePath: String?
  /// The pooling modes, in the order their vectors are concatenated; nil
  /// without a `Pooling` module.
  public var pooling: [Pooling]?
  /// Whether a `Normalize` module scales each embedding to unit L2 norm.
  public var normalize: Bool
  /// `max_seq_length` of `sentence_bert_config.json`: inputs are truncated to it.
  public var maxSequenceLength: Int?
  /// `do_lower_case` of `sentence_bert_config.json`: texts are lower-cased
  /// before the tokenizer sees them.
  public var lowercasesInput: Bool

  /// The pooling modes of `Pooling`'s config: legacy `pooling_mode_*` flags,
  /// in the order sentence-transformers concatenates them.
  static let legacyPoolingKeys: [(key: String, mode: String)] = [
    ("pooling_mode_cls_token", "cls"),
    ("pooling_mode_max_tokens", "max"),
    ("pooling_mode_mean_tokens", "mean"),
    ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"),
    ("pooling_mode_weightedmean_tokens", "weightedmean"),
    ("pooling_mode_lasttoken", "lasttoken"),
  ]

  /// sentence-transformers' mode names, as this package's pooling.
  static let poolingModes: [String: Pooling] = [
    "cls": .cls, "max": .max, "mean": .mean, "mean_sqrt_len_tokens": .meanSqrtLength,
  ]

  /// Reads `modules.json` in `directory`; nil when there is none.
  public static func read(directory: URL) throws(ModelDirectoryError)
    -> SentenceTransformersSettings?
  {
    let modulesURL = directory.appendingPathComponent("modules.json")
    guard FileManager.default.fileExists(atPath: modulesURL.path) else { return nil }
    let modulesPath = modulesURL.path
    let listed: [Module]
    do {
      listed = try JSONDecoder().decode([Module].self, from: Data(contentsOf: modulesURL))
    } catch {
      throw .malformedFile(
        path: modulesPath,
        reason: "expected a list of {\"idx\", \"name\", \"path\", \"type\"} objects (\(error))")
    }
    let modules = listed.enumerated().sorted {
      ($0.element.idx ?? $0.offset) < ($1.element.idx ?? $1.offset)
    }
    .map(\.element)
    // The only order this package runs: Transformer, then Pooling, then Normalize.
    var transformerPath: String?
    var poolingPath: String?
    var normalizePath: String?
    for module in modules {
      switch module.className {
      case "Transformer" where transformerPath == nil && poolingPath == nil:
        transformerPath = module.path
      case "Pooling" where transformerPath != nil && poolingPath == nil && normalizePath == nil:
        poolingPath = module.path
      case "Normalize" where transformerPath != nil && normalizePath == nil:
        normalizePath = module.path
      case "Transformer", "Pooling", "Normalize":
        throw .unsupportedModuleOrder(
          path: modulesPath, types: modules.map(\.type))
      default:
        throw .unsupportedModule(path: modulesPath, type: module.type)
      }
    }
    guard let transformerPath else {
      throw .malformedFile(path: modulesPath, reason: "it lists no Transformer module")
    }
    for path in [transformerPath, poolingPath, normalizePath].compactMap({ $0 }) {
      guard !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
        throw .malformedFile(
          path: modulesPath, reason: "the module path \"\(path)\" leaves the directory")
      }
    }

    let pooling = try poolingPath.map { path throws(ModelDirectoryError) in
      try readPooling(directory.appendingPathComponent(path).appendingPathComponent("config.json"))
    }
    let transformerFolder =
      transformerPath.isEmpty ? directory : directory.appendingPathComponent(transformerPath)
    var maxSequenceLength: Int?
    var lowercasesInput = false
    let configURL = transformerFolder.appendingPathComponent("sentence_bert_config.json")
    if FileManager.default.fileExists(atPath: configURL.path) {
      let object = try readObject(configURL)
      switch object["max_seq_length"] {
      case nil, is NSNull: break
      case let value as Int where value > 0: maxSequenceLength = value
      default:
        throw .malformedFile(
          path: configURL.path, reason: "max_seq_length must be a positive whole number")
      }
      switch object["do_lower_case"] {
      case nil, is NSNull: break
      case let value as Bool: lowercasesInput = value
      default:
        throw .malformedFile(path: configURL.path, reason: "do_lower_case must be true or false")
      }
    }
    return SentenceTransformersSettings(
      modules: modules, transformerPath: transformerPath, poolingPath: poolingPath,
      normalizePath: normalizePath, pooling: pooling, normalize: normalizePath != nil,
      maxSequenceLength: maxSequenceLength, lowercasesInput: lowercasesInput)
  }

  /// The modes of a `Pooling` config: `pooling_mode` (a name or a list of
  /// names) when present, else the legacy flags; mean when none is set, as
  /// sentence-transformers does.
  static func readPooling(_ url: URL) throws(ModelDirectoryError) -> [Pooling] {
    let object = try readObject(url)
    var names: [String]
    switch object["pooling_mode"] {
    case let name as String: names = [name]
    case let list as [Any]:
      names = []
      for item in list {
        guard let name = item as? String else {
          throw .malformedFile(path: url.path, reason: "pooling_mode must list mode names")
        }
        names.append(name)
      }
    case nil, is NSNull:
      names = []
      for (key, mode) in legacyPoolingKeys {
        switch object[key] {
        case nil, is NSNull: continue
        case let flag as Bool: if flag { names.append(mode) }
        default: throw .malformedFile(path: url.path, reason: "\(key) must be true or false")
        }
      }
    default:
      throw .malformedFile(
        path: url.path, reason: "pooling_mode must be a mode name or a list of them")
    }
    if names.isEmpty { names = ["mean"] }
    return try names.map { name throws(ModelDirectoryError) in
      guard let mode = poolingModes[name] else {
        throw .unsupportedPooling(path: url.path, mode: name)
      }
      return mode
    }
  }

  static func readObject(_ url: URL) throws(ModelDirectoryError) -> [String: Any] {
    guard FileManager.default.fileExists(atPath: url.path) else {
      throw .missingFile(path: url.path)
    }
    do {
      guard
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
      else {
        throw ModelDirectoryError.malformedFile(path: url.path, reason: "expected a JSON object")
      }
      return object
    } catch let error as ModelDirectoryError {
      throw error
    } catch {
      throw .malformedFile(path: url.path, reason: "not valid JSON (\(error.localizedDescription))")
    }
  }
}

/// A model directory whose sentence-transformers files cannot be used.
public enum ModelDirectoryError: Error, Equatable, CustomStringConvertible {
  /// A file that `modules.json` names is absent.
  case missingFile(path: String)
  /// A file cannot be read as its format says.
  case malformedFile(path: String, reason: String)
  /// `modules.json` lists a module this package cannot run (`Dense`, ...).
  case unsupportedModule(path: String, type: String)
  /// `modules.json` lists its modules in an order other than Transformer,
  /// Pooling, Normalize.
  case unsupportedModuleOrder(path: String, types: [String])
  /// A `Pooling` config asks for a mode this package does not have.
  case unsupportedPooling(path: String, mode: String)

  public var description: String {
    switch self {
    case .missingFile(let path):
      "\(path) does not exist, but modules.json names its folder"
    case .malformedFile(let path, let reason):
      "\(path) cannot be read: \(reason)"
    case .unsupportedModule(let path, let type):
      "\(path) lists the module \(type), which this package cannot run; it runs "
        + "Transformer, Pooling and Normalize"
    case .unsupportedModuleOrder(let path, let types):
      "\(path) lists its modules in the order \(types.joined(separator: ", ")); this package "
        + "runs a Transformer, then a Pooling, then a Normalize"
    case .unsupportedPooling(let path, let mode):
      "\(path) asks for the pooling mode \"\(mode)\", which this package does not have; it has "
        + "cls, max, mean and mean_sqrt_len_tokens"
    }
  }
}
