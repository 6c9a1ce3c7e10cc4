// Opening a fine-tuned model directory as its task, for `evaluate` and
// `predict`: the checks behind this command's messages, then the library's
// `FineTunedTask`, which takes the label set from the model's `id2label`.

import BERT
import Foundation

/// A fine-tuned model directory, opened as the task it was trained for.
struct FineTunedModel {
  let directory: URL
  let task: TaskName
  let settings: TaskSettings
  let head: FineTunedTask

  /// Opens `directory`; `requested` is `--task`, needed only for a model that
  /// was fine-tuned elsewhere and lacks `bert_swift_task`.
  init(directory: URL, displayPath: String, requested: TaskName?) throws {
    self.directory = directory
    let config = try BertConfig(contentsOf: directory.appendingPathComponent("config.json"))
    let architecture = config.architectures?.first ?? "BertModel"
    var saved: TaskSettings?
    do {
      saved = try TaskSettings.read(directory: directory)
    } catch {
      throw CLIError("\(displayPath)/config.json has an unreadable bert_swift_task: \(error)")
    }
    if let saved {
      guard let name = TaskName(rawValue: saved.task) else {
        throw CLIError(
          "\(displayPath) is fine-tuned for '\(saved.task)', a task this command does not know")
      }
      if let requested, requested != name {
        throw CLIError(
          "\(displayPath) holds a \(name.rawValue) model (bert_swift_task in config.json), "
            + "not a \(requested.rawValue) one")
      }
      task = name
    } else {
      guard let requested else {
        throw CLIError(
          "\(displayPath) has no fine-tuned task (no bert_swift_task in config.json; "
            + "architecture \(architecture)): it is a base checkpoint. Fine-tune it first with "
            + "'bert finetune', or pass --task for a model fine-tuned with transformers")
      }
      guard architecture == requested.architecture else {
        throw CLIError(
          "\(displayPath) holds a \(architecture), which cannot do \(requested.rawValue) "
            + "(that needs a \(requested.architecture))")
      }
      task = requested
      saved = TaskSettings(
        task: requested.rawValue,
        maxLength: min(requested.defaultMaxLength, ModelCheck.positionLimit(config, nil)),
        docStride: requested == .qa ? 128 : nil, maxAnswerLength: requested == .qa ? 30 : nil)
    }
    let settings = saved!
    self.settings = settings
    guard architecture == task.architecture || architecture == "BertModel" else {
      throw CLIError(
        "\(displayPath) says task \(task.rawValue) but holds a \(architecture) head; "
          + "a \(task.rawValue) model is a \(task.architecture)")
    }

    head = try FineTunedTask.open(directory: directory, task: task.rawValue)
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
