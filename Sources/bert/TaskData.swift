// The tasks the command knows (the library's registry), and reading their data
// files with checks that name the task, the expected format and the file.

import ArgumentParser
import BERT
import Foundation

/// A fine-tuning task, as named on the command line and in `bert_swift_task`:
/// the library's registry, ``TaskKind``.
typealias TaskName = TaskKind

extension TaskKind: ExpressibleByArgument {}

extension TaskExamples {
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
    let definition = task.definition
    guard definition.accepts(fileExtension: ext) else {
      let whose =
        model.map { "\($0) holds a \(task.rawValue) model (\(taskSource))" }
        ?? "the task is \(task.rawValue)"
      throw CLIError(
        "\(path) does not fit: \(whose), which reads \(definition.formats); this file is "
          + (ext.isEmpty ? "without an extension" : ".\(ext)"))
    }
    return try definition.read(url, requireLabels: requireLabels, tsvQuoting: tsvQuoting)
  }
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
  let item = task.definition.labelledItem
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

extension TaskExamples {
  /// The retrieval pairs of `.other`; empty for other data.
  var retrievalPairs: [RetrievalExample] {
    guard case .other(let items) = self else { return [] }
    return items.compactMap { $0 as? RetrievalExample }
  }
}
