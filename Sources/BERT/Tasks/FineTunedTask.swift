import Foundation

/// A fine-tuned model directory opened as the task it was trained for, ready
/// to predict and to score: the label set comes from `id2label` in
/// `config.json`, the settings from `bert_swift_task`.
///
/// ```swift
/// let task = try FineTunedTask.open(directory: URL(fileURLWithPath: "runs/sst"))
/// if case .text(let classifier) = task {
///   let prediction = classifier.predict([TextExample(text: "a gorgeous, witty movie")])[0]
///   print(prediction.label!, prediction.probabilities!)
/// }
/// ```
public enum FineTunedTask {
  /// Single-text or pair classification or regression.
  case text(TextClassificationTask)
  /// Token tagging.
  case tagging(TaggingTask)
  /// Extractive question answering.
  case questionAnswering(QuestionAnsweringTask)

  /// The task names `bert_swift_task` records: a ``TextTaskKind`` raw value,
  /// `tagging` or `qa`.
  public static let taskNames = TextTaskKind.allCases.map(\.rawValue) + ["tagging", "qa"]

  /// The transformers class that holds a task's head.
  public static func architecture(forTask task: String) -> String {
    switch task {
    case "tagging": "BertForTokenClassification"
    case "qa": "BertForQuestionAnswering"
    default: "BertForSequenceClassification"
    }
  }

  /// The task a directory's head does, from `config.json`'s `architectures`,
  /// `num_labels` and `problem_type` as transformers reads them:
  /// `BertForTokenClassification` is tagging, `BertForQuestionAnswering` qa,
  /// and `BertForSequenceClassification` classification, or regression with
  /// one label or `problem_type` `regression`. Nil for any other class (a
  /// base `BertModel`), whose task only the caller can name.
  ///
  /// The name is of the single-text kind: whether inputs are pairs is up to
  /// the input (see ``TextClassificationTask/readingPairs(_:)``).
  public static func task(fromArchitectureOf config: BertConfig, path: String) throws -> String? {
    switch config.architectures?.first {
    case "BertForTokenClassification": return "tagging"
    case "BertForQuestionAnswering": return "qa"
    case "BertForSequenceClassification":
      switch config.problemType {
      case "regression": return "regression"
      case nil, "single_label_classification":
        return config.headLabelCount == 1 ? "regression" : "classification"
      case let other?:
        throw FineTunedTaskError.unsupportedProblemType(path: path, problemType: other)
      }
    default: return nil
    }
  }

  /// Whether the task `requested` is the task `inferred` from a directory's
  /// head, taking pairs as the input's choice.
  static func fits(_ requested: String, _ inferred: String) -> Bool {
    requested == inferred
      || (inferred == "classification" && requested == "pair-classification")
      || (inferred == "regression" && requested == "pair-regression")
  }

  /// Opens a directory written by ``Trainer`` (or the `bert` command), or one
  /// fine-tuned elsewhere (transformers' `save_pretrained`), whose task comes
  /// from its head (see ``task(fromArchitectureOf:path:)``).
  ///
  /// Without `bert_swift_task`, the settings are transformers' defaults: inputs
  /// up to the tokenizer's `model_max_length` within `max_position_embeddings`
  /// (qa: at most ``TaskDefaults/qaMaxLength``, with a stride of
  /// ``TaskDefaults/docStride``), and a text task reads single texts until
  /// ``TextClassificationTask/readingPairs(_:)`` says otherwise.
  ///
  /// - Parameters:
  ///   - task: needed only for a directory whose head does not say (a base
  ///     `BertModel`); when given for one that says, the two must agree.
  /// - Throws: ``FineTunedTaskError`` when the directory holds no fine-tuned
  ///   head, another task's head, or a broken label map; ``CheckpointError``
  ///   when it is not a model directory.
  public static func open(directory: URL, task: String? = nil) throws -> FineTunedTask {
    let path = directory.path
    let files = try ModelDirectoryLayout.transformerDirectory(of: directory)
    let config = try BertConfig(contentsOf: files.appendingPathComponent("config.json"))
    let architecture = config.architectures?.first
    if let task, !taskNames.contains(task) {
      throw FineTunedTaskError.unknownTask(task)
    }
    let saved: TaskSettings?
    do {
      saved = try TaskSettings.read(directory: directory)
    } catch {
      throw FineTunedTaskError.unreadableSettings(path: path, reason: "\(error)")
    }
    let settings: TaskSettings
    if let saved {
      guard taskNames.contains(saved.task) else { throw FineTunedTaskError.unknownTask(saved.task) }
      if let task, task != saved.task {
        throw FineTunedTaskError.taskMismatch(path: path, holds: saved.task, requested: task)
      }
      settings = saved
    } else {
      let inferred = try Self.task(fromArchitectureOf: config, path: path)
      if let task, let inferred, !fits(task, inferred) {
        throw FineTunedTaskError.taskContradicts(
          path: path, requested: task, architecture: architecture!, holds: inferred)
      }
      guard let name = task ?? inferred else {
        throw FineTunedTaskError.notFineTuned(path: path, architecture: architecture ?? "BertModel")
      }
      settings = TaskDefaults.settings(
        task: name, config: config, modelMaxLength: TaskDefaults.modelMaxLength(in: files))
    }
    let expected = Self.architecture(forTask: settings.task)
    if let architecture, architecture != expected {
      throw FineTunedTaskError.headMismatch(
        path: path, architecture: architecture, task: settings.task, needed: expected)
    }

    switch settings.task {
    case "qa":
      return .questionAnswering(
        try QuestionAnsweringTask(
          directory: directory, train: [], maxLength: settings.maxLength,
          docStride: settings.docStride ?? min(TaskDefaults.docStride, settings.maxLength / 2),
          maxAnswerLength: settings.maxAnswerLength ?? TaskDefaults.maxAnswerLength))
    case "tagging":
      return .tagging(
        try TaggingTask(
          directory: directory, train: [], maxLength: settings.maxLength,
          labelAllTokens: settings.labelAllTokens ?? false,
          labels: try labelSet(config, path: path)))
    default:
      let kind = TextTaskKind(rawValue: settings.task)!
      return .text(
        try TextClassificationTask(
          kind: kind, directory: directory, train: [], maxLength: settings.maxLength,
          labels: kind.isRegression ? nil : try labelSet(config, path: path)))
    }
  }

  /// The labels of `id2label` in id order (`LABEL_i` without a map).
  ///
  /// - Parameters:
  ///   - path: the model directory, for messages.
  /// - Throws: ``FineTunedTaskError/badLabelMap(path:reason:)`` when the keys
  ///   are not the ids 0..<n or a label appears twice.
  public static func labelSet(_ config: BertConfig, path: String) throws -> LabelSet {
    let labels: [String]
    if let map = config.idToLabel {
      let ids = map.keys.compactMap { Int($0) }.sorted()
      guard ids.count == map.count, ids == Array(0..<ids.count) else {
        throw FineTunedTaskError.badLabelMap(
          path: path, reason: "its keys must be the ids 0..<\(map.count)")
      }
      labels = ids.map { map[String($0)]! }
    } else {
      labels = (0..<(config.headLabelCount ?? 2)).map { "LABEL_\($0)" }
    }
    guard !labels.isEmpty, Set(labels).count == labels.count else {
      throw FineTunedTaskError.badLabelMap(path: path, reason: "it must name each label once")
    }
    return LabelSet(ordered: labels)
  }

  /// The directory's task name, as `bert_swift_task` records it.
  public var taskName: String {
    switch self {
    case .text(let task): task.kind.rawValue
    case .tagging: "tagging"
    case .questionAnswering: "qa"
    }
  }
}

/// A model directory that cannot be opened as a fine-tuned task.
public enum FineTunedTaskError: Error, Equatable, CustomStringConvertible {
  /// A task name this package does not know.
  case unknownTask(String)
  /// A base checkpoint, with no fine-tuned head.
  case notFineTuned(path: String, architecture: String)
  /// `bert_swift_task` in `config.json` cannot be decoded.
  case unreadableSettings(path: String, reason: String)
  /// `bert_swift_task` names another task than the one requested.
  case taskMismatch(path: String, holds: String, requested: String)
  /// The head in `architectures` cannot do the task.
  case headMismatch(path: String, architecture: String, task: String, needed: String)
  /// `id2label` cannot be read as a label set.
  case badLabelMap(path: String, reason: String)
  /// The task requested is not the one the head in `architectures` does.
  case taskContradicts(path: String, requested: String, architecture: String, holds: String)
  /// `problem_type` names a problem this package has no task for.
  case unsupportedProblemType(path: String, problemType: String)

  public var description: String {
    switch self {
    case .unknownTask(let task):
      "unknown task '\(task)'; known: \(FineTunedTask.taskNames.joined(separator: ", "))"
    case .notFineTuned(let path, let architecture):
      "\(path) has no fine-tuned task (no bert_swift_task in config.json; architecture "
        + "\(architecture)). Fine-tune it first, or name the task of a model fine-tuned with transformers"
    case .unreadableSettings(let path, let reason):
      "\(path)/config.json has an unreadable bert_swift_task: \(reason)"
    case .taskMismatch(let path, let holds, let requested):
      "\(path) holds a \(holds) model (bert_swift_task in config.json), not a \(requested) one"
    case .headMismatch(let path, let architecture, let task, let needed):
      "\(path) holds a \(architecture) model, which cannot do \(task) (that needs a \(needed))"
    case .badLabelMap(let path, let reason):
      "\(path)/config.json: id2label cannot be used: \(reason)"
    case .taskContradicts(let path, let requested, let architecture, let holds):
      "the task \(requested) contradicts the model directory \(path), a \(architecture) (\(holds))"
    case .unsupportedProblemType(let path, let problemType):
      "\(path)/config.json has problem_type \(problemType), which no task of this package does "
        + "(it has single_label_classification and regression)"
    }
  }
}

/// The settings a task gets when neither the caller nor `bert_swift_task`
/// names them: the one place for these numbers.
public enum TaskDefaults {
  /// Tokens per input when fine-tuning a text or tagging task.
  public static let maxLength = 128
  /// Tokens per window for question answering (transformers' `run_qa.py`
  /// and question-answering pipeline: 384).
  public static let qaMaxLength = 384
  /// Question answering: context tokens shared by consecutive windows.
  public static let docStride = 128
  /// Question answering: the longest answer in tokens.
  public static let maxAnswerLength = 30

  /// `model_max_length` of `tokenizer_config.json` in `directory`, when it
  /// is set to a real length (transformers writes a huge number for "none").
  static func modelMaxLength(in directory: URL) -> Int? {
    let url = directory.appendingPathComponent("tokenizer_config.json")
    guard let data = try? Data(contentsOf: url),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let value = (object["model_max_length"] as? NSNumber)?.doubleValue,
      value >= 1, value < 1e9
    else { return nil }
    return Int(value)
  }

  /// The settings of `task` for a directory without `bert_swift_task`, as
  /// transformers would run it: inputs truncated to the tokenizer's
  /// `model_max_length` within `max_position_embeddings`; question answering
  /// at most ``qaMaxLength`` tokens with a stride of ``docStride``.
  static func settings(task: String, config: BertConfig, modelMaxLength: Int?) -> TaskSettings {
    let limit = min(modelMaxLength ?? config.maxPositionEmbeddings, config.maxPositionEmbeddings)
    guard task == "qa" else { return TaskSettings(task: task, maxLength: limit) }
    let length = min(qaMaxLength, limit)
    return TaskSettings(
      task: task, maxLength: length, docStride: min(docStride, length / 2),
      maxAnswerLength: maxAnswerLength)
  }
}
