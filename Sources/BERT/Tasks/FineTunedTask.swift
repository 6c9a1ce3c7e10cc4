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

  /// Opens a directory written by ``Trainer`` (or the `bert` command), or one
  /// fine-tuned with transformers when `task` names its task.
  ///
  /// - Parameters:
  ///   - task: needed only for a directory without `bert_swift_task`; when
  ///     given for one with it, the two must agree.
  /// - Throws: ``FineTunedTaskError`` when the directory holds no fine-tuned
  ///   head, another task's head, or a broken label map; ``CheckpointError``
  ///   when it is not a model directory.
  public static func open(directory: URL, task: String? = nil) throws -> FineTunedTask {
    let path = directory.path
    let config = try BertConfig(contentsOf: directory.appendingPathComponent("config.json"))
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
      guard let task else {
        throw FineTunedTaskError.notFineTuned(path: path, architecture: architecture ?? "BertModel")
      }
      let defaultLength = task == "qa" ? 384 : 128
      settings = TaskSettings(
        task: task, maxLength: min(defaultLength, config.maxPositionEmbeddings),
        docStride: task == "qa" ? 128 : nil, maxAnswerLength: task == "qa" ? 30 : nil)
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
          docStride: settings.docStride ?? min(128, settings.maxLength / 2),
          maxAnswerLength: settings.maxAnswerLength ?? 30))
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
    }
  }
}
