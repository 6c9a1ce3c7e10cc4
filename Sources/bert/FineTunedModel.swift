// Opening a fine-tuned model directory as its task, for `evaluate` and
// `predict`: the library's `FineTunedTask` (task from `bert_swift_task`, labels
// from `id2label`), with its errors in this command's words.

import BERT
import Foundation

/// A fine-tuned model directory, opened as the task it was trained for.
struct FineTunedModel {
  let directory: URL
  let task: TaskName
  let head: FineTunedTask

  /// Opens `directory`; `requested` is `--task`, needed only for a model that
  /// was fine-tuned elsewhere and lacks `bert_swift_task`.
  init(directory: URL, displayPath: String, requested: TaskName?) throws {
    self.directory = directory
    do {
      head = try FineTunedTask.open(directory: directory, task: requested?.rawValue)
    } catch let error as FineTunedTaskError {
      if case .notFineTuned(_, let architecture) = error {
        throw CLIError(
          "\(displayPath) has no fine-tuned task (no bert_swift_task in config.json; "
            + "architecture \(architecture)): it is a base checkpoint. Fine-tune it first with "
            + "'bert finetune', or pass --task for a model fine-tuned with transformers")
      }
      throw CLIError(error.description.replacingOccurrences(of: directory.path, with: displayPath))
    }
    guard let task = TaskName(rawValue: head.taskName) else {
      throw CLIError(
        "\(displayPath) holds a \(head.taskName) model, a task this command does not know")
    }
    self.task = task
  }

  /// Scores labelled examples.
  func score(_ examples: TaskExamples, source: String, batchSize: Int) throws -> EvaluationReport {
    switch (head, examples) {
    case (.text(let task), .text(let examples)):
      return try task.score(examples, source: source, batchSize: batchSize)
    case (.tagging(let task), .tagged(let sentences)):
      return try task.score(sentences, source: source, batchSize: batchSize)
    case (.questionAnswering(let task), .questions(let examples)):
      return try task.score(examples, batchSize: batchSize)
    default:
      throw CLIError("the data does not fit the \(task.rawValue) model")
    }
  }
}
