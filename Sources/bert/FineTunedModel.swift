// Opening a fine-tuned model directory as its task, for `evaluate` and
// `predict`. The library's tasks are built from training data (whose labels fix
// the label set); here the label set comes from the model's `id2label`.

import BERT
import Foundation

/// A fine-tuned model directory, opened as the task it was trained for.
struct FineTunedModel {
  enum Head {
    case text(TextClassificationTask)
    case tagging(TaggingTask)
    case qa(QuestionAnsweringTask)
  }

  let directory: URL
  let task: TaskName
  let settings: TaskSettings
  let head: Head
  /// The model's label names by output id (`id2label`); empty for regression and QA.
  let labels: [String]
  /// The library task's label for each of the model's labels, and back. They
  /// differ only for a model whose `id2label` is not in the sorted order this
  /// package trains with (one fine-tuned elsewhere).
  private let taskLabelOf: [String: String]
  private let modelLabelOf: [String: String]

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

    var labels: [String] = []
    if task != .qa && task != .regression && task != .pairRegression {
      if let map = config.idToLabel {
        labels = map.sorted { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }.map(\.value)
      } else {
        labels = (0..<(config.headLabelCount ?? 2)).map { "LABEL_\($0)" }
      }
      guard !labels.isEmpty, Set(labels).count == labels.count else {
        throw CLIError("\(displayPath)/config.json: id2label must name each label once")
      }
    }
    self.labels = labels
    let sorted = LabelSet.sorted(labels)
    taskLabelOf = Dictionary(uniqueKeysWithValues: zip(labels, sorted))
    modelLabelOf = Dictionary(uniqueKeysWithValues: zip(sorted, labels))

    switch task {
    case .qa:
      head = .qa(
        try QuestionAnsweringTask(
          directory: directory, train: [], maxLength: settings.maxLength,
          docStride: settings.docStride ?? min(128, settings.maxLength / 2),
          maxAnswerLength: settings.maxAnswerLength ?? 30))
    case .tagging:
      let sentence = TaggedSentence(
        tokens: Array(repeating: "x", count: sorted.count), tags: sorted)
      head = .tagging(
        try TaggingTask(
          directory: directory, train: [sentence], maxLength: settings.maxLength,
          labelAllTokens: settings.labelAllTokens ?? false))
    default:
      let kind = task.textKind!
      let examples = sorted.map {
        TextExample(text: "", pair: kind.isPair ? "" : nil, label: $0)
      }
      head = .text(
        try TextClassificationTask(
          kind: kind, directory: directory, train: kind.isRegression ? [] : examples,
          maxLength: settings.maxLength))
    }
  }

  /// Gold examples with their labels renamed to the library task's names.
  func mapped(_ examples: [TextExample]) -> [TextExample] {
    examples.map { example in
      var example = example
      if let label = example.label { example.label = taskLabelOf[label] ?? label }
      return example
    }
  }

  /// Gold sentences with their tags renamed to the library task's names.
  func mapped(_ sentences: [TaggedSentence]) -> [TaggedSentence] {
    sentences.map { sentence in
      var sentence = sentence
      sentence.tags = sentence.tags.map { taskLabelOf[$0] ?? $0 }
      return sentence
    }
  }

  /// A label of the library task, as the model names it.
  func modelLabel(_ label: String) -> String { modelLabelOf[label] ?? label }

  /// Scores labelled examples.
  func score(_ examples: TaskExamples, source: String, batchSize: Int) throws -> EvaluationReport {
    switch (head, examples) {
    case (.text(let task), .text(let examples)):
      return try task.score(mapped(examples), source: source, batchSize: batchSize)
    case (.tagging(let task), .tagged(let sentences)):
      return try task.score(mapped(sentences), source: source, batchSize: batchSize)
    case (.qa(let task), .questions(let examples)):
      return try task.score(examples, batchSize: batchSize)
    default:
      throw CLIError("the data does not fit the \(task.rawValue) model")
    }
  }
}
