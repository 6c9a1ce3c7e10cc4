// Opening a fine-tuned model directory as its task, for `evaluate` and
// `predict`: the library's `FineTunedTask` (task from `bert_swift_task`, labels
// from `id2label`), with its errors in this command's words.

import BERT
import Foundation

/// A fine-tuned model directory, opened as the task it was trained for.
struct FineTunedModel {
  let directory: URL
  let displayPath: String
  let task: TaskName
  let head: any FineTunedApplication
  /// Whether the task came from the head in `architectures` (no
  /// `bert_swift_task`, no `--task`), so that a text task's input says
  /// whether it holds pairs.
  let pairsFromInput: Bool
  /// Where the task came from, for messages.
  let taskSource: String

  /// Opens `directory`; `requested` is `--task`, needed only for a model whose
  /// directory does not say (no `bert_swift_task`, and a base `BertModel` head).
  init(directory: URL, displayPath: String, requested: TaskName?) throws {
    self.directory = directory
    self.displayPath = displayPath
    do {
      head = try FineTunedTask.openApplication(directory: directory, task: requested?.rawValue)
      let saved = try TaskSettings.read(directory: directory) != nil
      pairsFromInput = requested == nil && !saved
      taskSource =
        saved
        ? "bert_swift_task in config.json"
        : requested != nil ? "--task" : "architectures in config.json"
    } catch let error as FineTunedTaskError {
      switch error {
      case .notFineTuned(_, let architecture):
        throw CLIError(
          "\(displayPath) has no fine-tuned task (no bert_swift_task in config.json, and its "
            + "architecture \(architecture) has no task head): it is a base checkpoint. "
            + "Fine-tune it first with 'bert finetune', or pass --task for a model whose head "
            + "it does not name")
      case .taskContradicts(_, let requested, let architecture, let holds):
        throw CLIError(
          "--task \(requested) contradicts the model directory, a \(architecture) (\(holds))")
      default:
        throw CLIError(
          error.description.replacingOccurrences(of: directory.path, with: displayPath))
      }
    }
    task = head.taskKind
  }

  private init(_ other: FineTunedModel, head: any FineTunedApplication) {
    directory = other.directory
    displayPath = other.displayPath
    self.head = head
    task = head.taskKind
    pairsFromInput = false
    taskSource = other.taskSource
  }

  /// The model reading pairs or single texts, when its input decides
  /// (``pairsFromInput``); else the model unchanged.
  func readingPairs(_ pairs: Bool) -> FineTunedModel {
    guard pairsFromInput else { return self }
    return FineTunedModel(self, head: head.reading(pairs: pairs))
  }

  /// Scores labelled examples.
  func score(_ examples: TaskExamples, source: String, batchSize: Int, maxBatchTokens: Int?)
    throws -> EvaluationReport
  {
    try head.score(
      examples, source: source, batchSize: batchSize, maxBatchTokens: maxBatchTokens)
  }
}
