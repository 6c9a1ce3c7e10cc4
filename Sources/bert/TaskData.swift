// The tasks the command knows, and reading their data files with checks that
// name the task, the expected format and the file.

import ArgumentParser
import BERT
import Foundation

/// A fine-tuning task, as named on the command line and in `bert_swift_task`.
enum TaskName: String, CaseIterable, ExpressibleByArgument {
  case classification
  case pairClassification = "pair-classification"
  case regression
  case pairRegression = "pair-regression"
  case tagging
  case qa

  /// The library's kind for the four text tasks.
  var textKind: TextTaskKind? { TextTaskKind(rawValue: rawValue) }

  /// The pair kind of a single-text task (pair-classification for
  /// classification), or nil when there is none.
  var pairTask: TaskName? {
    switch self {
    case .classification: .pairClassification
    case .regression: .pairRegression
    default: nil
    }
  }

  /// The default `--max-length`.
  var defaultMaxLength: Int { self == .qa ? TaskDefaults.qaMaxLength : TaskDefaults.maxLength }

  /// The least `--max-length` that leaves room for text beside the special tokens.
  var minimumLength: Int {
    switch self {
    case .pairClassification, .pairRegression: 4
    case .qa: 5
    default: 3
    }
  }

  /// What one input holds, for messages about `--max-length`.
  var inputDescription: String {
    switch self {
    case .pairClassification, .pairRegression: "a pair"
    case .qa: "a question with its passage"
    default: "a single text"
    }
  }

  /// The accepted data formats, for messages.
  var formats: String {
    switch self {
    case .classification:
      "CSV, TSV or JSON Lines (.csv, .tsv, .jsonl) with the fields text and label"
    case .regression:
      "CSV, TSV or JSON Lines (.csv, .tsv, .jsonl) with the fields text and label (a number)"
    case .pairClassification:
      "CSV, TSV or JSON Lines (.csv, .tsv, .jsonl) with the fields text_a, text_b and label"
    case .pairRegression:
      "CSV, TSV or JSON Lines (.csv, .tsv, .jsonl) with the fields text_a, text_b and label "
        + "(a number)"
    case .tagging:
      "CoNLL columns (token and tag, a blank line between sentences) or JSON Lines "
        + "{\"tokens\":[...],\"tags\":[...]}"
    case .qa: "SQuAD v1.1 JSON (.json)"
    }
  }
}

/// Examples of one task.
enum TaskExamples {
  case text([TextExample])
  case tagged([TaggedSentence])
  case questions([QAExample])

  var count: Int {
    switch self {
    case .text(let examples): examples.count
    case .tagged(let sentences): sentences.count
    case .questions(let examples): examples.count
    }
  }

  var texts: [TextExample] {
    if case .text(let examples) = self { return examples }
    return []
  }

  var sentences: [TaggedSentence] {
    if case .tagged(let sentences) = self { return sentences }
    return []
  }

  var questions: [QAExample] {
    if case .questions(let examples) = self { return examples }
    return []
  }

  /// Reads a data file of `task`, refusing files whose format cannot be that
  /// task's before a reader misreads them.
  ///
  /// - Parameters:
  ///   - option: the option that named the file, for messages (`--train`).
  ///   - model: set when the task comes from a model directory, to say so in messages.
  ///   - taskSource: where in the directory the task comes from, for messages.
  ///   - tsvQuoting: how a TSV file's quotes are read (`--tsv-quoting`).
  static func read(
    _ path: String, task: TaskName, requireLabels: Bool, option: String, model: String? = nil,
    taskSource: String = "bert_swift_task in config.json", tsvQuoting: TSVQuoting = .auto
  ) throws -> (TaskExamples, ReadReport) {
    let url = URL(fileURLWithPath: path)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
      throw CLIError("the \(option) file \(path) does not exist")
    }
    guard !isDirectory.boolValue else {
      throw CLIError("\(option) \(path) is a directory, not a data file")
    }
    let ext = url.pathExtension.lowercased()
    let textExtensions = Set(TextFileFormat.extensions.keys)
    let fits: Bool
    switch task {
    case .tagging: fits = !["csv", "tsv"].contains(ext)
    case .qa: fits = ext == "json"
    default: fits = textExtensions.contains(ext)
    }
    guard fits else {
      let whose =
        model.map { "\($0) holds a \(task.rawValue) model (\(taskSource))" }
        ?? "the task is \(task.rawValue)"
      throw CLIError(
        "\(path) does not fit: \(whose), which reads \(task.formats); this file is "
          + (ext.isEmpty ? "without an extension" : ".\(ext)"))
    }
    switch task {
    case .tagging:
      let result = try TaggedSentenceReader.read(contentsOf: url, requireTags: requireLabels)
      return (.tagged(result.examples), result.report)
    case .qa:
      let result = try SQuADReader.read(contentsOf: url)
      return (.questions(result.examples), result.report)
    default:
      let result = try readTexts(
        url, task: task.textKind!, requireLabels: requireLabels, tsvQuoting: tsvQuoting)
      return (.text(result.examples), result.report)
    }
  }

  /// Reads a CSV, TSV or JSON Lines file of a text task; a malformed quoted
  /// field of a TSV file read with `--tsv-quoting csv` gets a hint at `none`.
  static func readTexts(
    _ url: URL, task: TextTaskKind, requireLabels: Bool, tsvQuoting: TSVQuoting
  ) throws -> ReadResult<TextExample> {
    do {
      return try TextExampleReader.read(
        contentsOf: url, task: task, requireLabels: requireLabels, tsvQuoting: tsvQuoting)
    } catch DatasetError.malformedCSV(let file, let line, let reason)
      where tsvQuoting == .csv && url.pathExtension.lowercased() == "tsv"
    {
      throw CLIError(
        "\(file), line \(line): \(reason) (read with --tsv-quoting csv; "
          + "--tsv-quoting none reads quotes as ordinary characters)")
    }
  }
}

/// Whether a reader's error says that the columns (or keys) of a text pair
/// are absent, so the data holds single texts.
func lacksPairColumns(_ error: Error) -> Bool {
  guard case DatasetError.missingField(_, _, let role, _, _) = error else { return false }
  return role == "first text" || role == "second text"
}

/// Prints what a reader repaired or skipped, when it did.
func reportRead(_ report: ReadReport) {
  var report = report
  report.skipped = report.skipped.filter { $0.value > 0 }
  report.repaired = report.repaired.filter { $0.value > 0 }
  if !report.skipped.isEmpty || !report.repaired.isEmpty || !report.notes.isEmpty {
    Console.err("read \(report)")
  }
}

/// Warns, on stderr, about evaluation data whose gold labels the model lacks:
/// which labels, and how many items carry them, which are scored as errors.
///
/// - Parameters:
///   - unseen: each label with the number of items that carry it.
///   - source: the option and file, such as `--dev dev.conll`.
///   - task: tagging counts tokens, the other tasks examples.
///   - known: where the model's labels come from, such as "the training data".
func warnUnseenLabels(_ unseen: [String: Int], source: String, task: TaskName, known: String) {
  guard !unseen.isEmpty else { return }
  let total = unseen.values.reduce(0, +)
  let item = task == .tagging ? "token" : "example"
  let labels = unseen.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
  let shown = labels.prefix(20).map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ")
  let more = labels.count > 20 ? " and \(labels.count - 20) more" : ""
  let word = labels.count == 1 ? "a label" : "\(labels.count) labels"
  Console.err(
    "warning: \(source): \(total) \(item)\(total == 1 ? "" : "s") \(total == 1 ? "has" : "have") "
      + "\(word) absent from \(known) (\(shown)\(more)); the model cannot predict "
      + "\(labels.count == 1 ? "it" : "them"), so \(total == 1 ? "it counts" : "they count") "
      + "as wrong")
}
