// Options shared by the subcommands: the compute backend and threads, and the
// model directory, with the checks that turn bad values into clear messages.

import ArgumentParser
import BERT
import BERTAssets
import Foundation

/// `--backend` and `--threads`, taken by every subcommand.
struct ComputeOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "The compute backend: openblas or swift (default: $BERT_BACKEND, else the fastest built).",
      valueName: "name"))
  var backend: String?

  @Option(
    help: ArgumentHelp(
      "Threads for the kernels and OpenBLAS (default: $BERT_NUM_THREADS, else every core).",
      valueName: "n"))
  var threads: Int?

  func validate() throws {
    if let threads, threads < 1 {
      throw ValidationError("--threads must be at least 1, got \(threads).")
    }
    if let backend, BackendKind(rawValue: backend.lowercased()) == nil {
      throw ValidationError(
        "there is no backend named '\(backend)'; use "
          + BackendKind.allCases.map(\.rawValue).joined(separator: " or ") + ".")
    }
  }

  /// Makes the choices the process-wide settings.
  func apply() throws {
    if let backend, let kind = BackendKind(rawValue: backend.lowercased()) {
      try Compute.setBackend(kind)
    }
    if let threads {
      Compute.threadCount = threads
    } else if ProcessInfo.processInfo.environment["BERT_NUM_THREADS"] == nil, Job.localRanks > 1 {
      // Ranks on one machine share its cores.
      Compute.threadCount = max(1, ProcessInfo.processInfo.activeProcessorCount / Job.localRanks)
    }
  }
}

/// `--model DIR`, taken by every subcommand that reads a model.
struct ModelOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "A Hugging Face BERT model directory (default: all-MiniLM-L6-v2 from the asset cache).",
      valueName: "dir"),
    completion: .directory)
  var model: String?

  /// The model directory, checked to be one: see `ModelCheck.directory(_:)`.
  func directory() throws -> URL { try ModelCheck.directory(model) }
}

/// `--tsv-quoting`, taken by every subcommand that reads task data files.
struct DataOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "How .tsv data files read double quotes: auto (as Python's csv module and pandas quote, "
        + "when the file reads cleanly that way; else literally), none (quotes are text, "
        + "one record per line, as in GLUE), or csv (always csv quoting).",
      valueName: "mode"))
  var tsvQuoting: TSVQuoting = .auto
}

extension TSVQuoting: ExpressibleByArgument {}

/// Checks on model directories and lengths that the library would otherwise
/// report later, or trap on.
enum ModelCheck {
  /// The files a model directory must hold, besides its weights (see `weightsProblem(_:)`)
  /// and its tokenizer.
  static let requiredFiles = ["config.json"]
  /// The tokenizer is one of these (`tokenizer.json` wins when both are there).
  static let tokenizerFiles = [
    TokenizerFormat.tokenizerJSON.rawValue, TokenizerFormat.vocabularyText.rawValue,
  ]

  /// The directory named by `--model`, or the default model; throws a message
  /// that says what is wrong and what to do when it is not a usable BERT directory.
  static func directory(_ path: String?) throws -> URL {
    guard let path else {
      let directory = AssetCache.defaultModelDirectory
      guard AssetCache.hasDefaultModel else {
        throw CLIError(
          "no --model was given, and the default model (all-MiniLM-L6-v2) is not in the asset "
            + "cache at \(directory.path); fetch it with 'scripts/fetch-assets model' (or run "
            + "'bert demo', which fetches it), or pass --model DIR")
      }
      return directory
    }
    let url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
    try check(url, as: "model directory")
    // A sentence-transformers directory may keep the transformer's files in a subfolder.
    let files = try transformerDirectory(url)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: files.path)) ?? []
    var missing = requiredFiles.filter { !names.contains($0) }
    if !tokenizerFiles.contains(where: names.contains) {
      missing.append(tokenizerFiles.joined(separator: " or "))
    }
    if !missing.isEmpty {
      var message =
        "\(path)\(files == url ? "" : "/" + files.lastPathComponent) is not a BERT model "
        + "directory: it has no "
        + missing.joined(separator: ", ")
        + " (a Hugging Face BERT directory holds config.json, tokenizer.json or vocab.txt, and "
        + "model.safetensors or a sharded model.safetensors.index.json)"
      if let problem = weightsProblem(files) { message += "; \(problem)" }
      throw CLIError(message)
    }
    if let problem = weightsProblem(files) {
      throw CLIError("\(path) is not a usable BERT model directory: \(problem)")
    }
    let configURL = files.appendingPathComponent("config.json")
    if let data = try? Data(contentsOf: configURL),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let type = object["model_type"] as? String, type.lowercased() != "bert"
    {
      throw CLIError(
        "\(path) holds a '\(type)' model (model_type in config.json), not a BERT model")
    }
    return url
  }

  /// What is wrong with the weights of `directory` (none, or only in a format
  /// that needs converting, with the command), or nil when there are safetensors weights.
  static func weightsProblem(_ directory: URL) -> String? {
    do {
      _ = try SafeTensorsCheckpoint.weightsURL(in: directory)
      return nil
    } catch {
      return error.description
    }
  }

  /// The folder of the transformer's files in a model directory: the
  /// directory itself, or the `Transformer` folder its `modules.json` names.
  static func transformerDirectory(_ url: URL) throws -> URL {
    do {
      return try ModelDirectoryLayout.transformerDirectory(of: url)
    } catch {
      throw CLIError("\(error)")
    }
  }

  /// Checks that `url` is an existing, readable directory.
  static func check(_ url: URL, as what: String) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
      throw CLIError("the \(what) \(url.path) does not exist")
    }
    guard isDirectory.boolValue else {
      throw CLIError("\(url.path) is a file, not a \(what)")
    }
    guard FileManager.default.isReadableFile(atPath: url.path),
      (try? FileManager.default.contentsOfDirectory(atPath: url.path)) != nil
    else {
      throw CLIError("cannot read the \(what) \(url.path): permission denied")
    }
  }

  /// The longest input `config` and the tokenizer allow, in tokens.
  static func positionLimit(_ config: BertConfig, _ tokenizer: BertTokenizer?) -> Int {
    min(config.maxPositionEmbeddings, tokenizer?.modelMaxLength ?? Int.max)
  }

  /// Checks `--max-length` against the model's positions and the special tokens
  /// an input needs (`[CLS]` and `[SEP]`, plus one `[SEP]` for a pair).
  ///
  /// - Parameter minimum: the least length that leaves room for text (3 for a
  ///   single text, 4 for a pair, 5 for a question with a passage).
  /// - Returns: the length, or the model's limit when none was given and `fallback` is nil.
  static func maxLength(
    _ value: Int?, fallback: Int?, config: BertConfig, tokenizer: BertTokenizer?, minimum: Int,
    what: String
  ) throws -> Int {
    let limit = positionLimit(config, tokenizer)
    guard let value else { return min(fallback ?? limit, limit) }
    guard value <= limit else {
      let source =
        config.maxPositionEmbeddings <= (tokenizer?.modelMaxLength ?? Int.max)
        ? "max_position_embeddings in config.json" : "model_max_length in tokenizer_config.json"
      throw CLIError(
        "--max-length \(value) is over the model's limit of \(limit) tokens (\(source))")
    }
    guard value >= minimum else {
      throw CLIError(
        "--max-length \(value) leaves no room for text: \(what) takes \(minimum - 1) special "
          + "tokens, so use at least \(minimum)")
    }
    return value
  }

  /// Creates `path` if needed and checks that files can be written in it.
  static func writableDirectory(_ path: String, option: String) throws -> URL {
    let url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
    let manager = FileManager.default
    var isDirectory: ObjCBool = false
    if manager.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
      throw CLIError("\(option) \(path) is a file, not a directory")
    }
    do {
      try manager.createDirectory(at: url, withIntermediateDirectories: true)
      let probe = url.appendingPathComponent(".write-test-\(UUID().uuidString)")
      try Data().write(to: probe)
      try manager.removeItem(at: probe)
    } catch {
      throw CLIError("cannot write to the \(option) directory \(path): \(describe(error))")
    }
    return url
  }
}
