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

  /// The task names `bert_swift_task` records: those of ``TaskKind``.
  public static var taskNames: [String] { TaskKind.names }

  /// The transformers class that holds a task's head.
  public static func architecture(forTask task: TaskKind) -> String {
    task.definition.architecture
  }

  /// The task a directory's head does, from `config.json`'s `architectures`,
  /// `num_labels` and `problem_type` as transformers reads them:
  /// `BertForTokenClassification` is tagging, `BertForQuestionAnswering` qa,
  /// and `BertForSequenceClassification` classification, or regression with
  /// one label or `problem_type` `regression` (each definition's
  /// ``TaskDefinition/isHead(of:path:)``). Nil for any other class (a base
  /// `BertModel`), whose task only the caller can name.
  ///
  /// The name is of the single-text kind: whether inputs are pairs is up to
  /// the input (see ``TextClassificationTask/readingPairs(_:)``).
  public static func task(fromArchitectureOf config: BertConfig, path: String) throws -> String? {
    try inferredKind(config, path: path)?.rawValue
  }

  static func inferredKind(_ config: BertConfig, path: String) throws -> TaskKind? {
    guard let architecture = config.architectures?.first else { return nil }
    for kind in TaskKind.allCases where kind.definition.architecture == architecture {
      if try kind.definition.isHead(of: config, path: path) { return kind }
    }
    return nil
  }

  /// Whether the task `requested` is the task `inferred` from a directory's
  /// head, taking pairs as the input's choice.
  static func fits(_ requested: TaskKind, _ inferred: TaskKind) -> Bool {
    requested == inferred || inferred.definition.pairKind == requested
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
  ///   - precision: ``Precision/int8`` quantizes every projection as it
  ///     loads; nil runs the directory as stored (int8 for a directory
  ///     `bert quantize` wrote).
  /// - Throws: ``FineTunedTaskError`` when the directory holds no fine-tuned
  ///   head, another task's head, or a broken label map; ``CheckpointError``
  ///   when it is not a model directory.
  public static func open(directory: URL, task: String? = nil, precision: Precision? = nil)
    throws -> FineTunedTask
  {
    let application = try openApplication(directory: directory, task: task, precision: precision)
    guard let opened = application.fineTunedTask else {
      throw FineTunedTaskError.noCase(task: application.taskKind.rawValue)
    }
    return opened
  }

  /// Opens a directory as ``open(directory:task:precision:)`` does, as the
  /// application of any task of ``TaskKind`` (those without a case of this type too).
  public static func openApplication(
    directory: URL, task: String? = nil, precision: Precision? = nil
  ) throws -> any FineTunedApplication {
    let path = directory.path
    let files = try ModelDirectoryLayout.transformerDirectory(of: directory)
    let config = try BertConfig(contentsOf: files.appendingPathComponent("config.json"))
    let architecture = config.architectures?.first
    let requested = try task.map(TaskKind.init(named:))
    let saved: TaskSettings?
    do {
      saved = try TaskSettings.read(directory: directory)
    } catch {
      throw FineTunedTaskError.unreadableSettings(path: path, reason: "\(error)")
    }
    let settings: TaskSettings
    let kind: TaskKind
    if let saved {
      kind = try saved.kind()
      if let requested, requested != kind {
        throw FineTunedTaskError.taskMismatch(
          path: path, holds: saved.task, requested: requested.rawValue)
      }
      settings = saved
    } else {
      let inferred = try inferredKind(config, path: path)
      if let requested, let inferred, let architecture, !fits(requested, inferred) {
        throw FineTunedTaskError.taskContradicts(
          path: path, requested: requested.rawValue, architecture: architecture,
          holds: inferred.rawValue)
      }
      guard let chosen = requested ?? inferred else {
        throw FineTunedTaskError.notFineTuned(path: path, architecture: architecture ?? "BertModel")
      }
      kind = chosen
      settings = TaskDefaults.settings(
        task: kind, config: config, modelMaxLength: TaskDefaults.modelMaxLength(in: files))
    }
    let expected = kind.definition.architecture
    if let architecture, architecture != expected {
      throw FineTunedTaskError.headMismatch(
        path: path, architecture: architecture, task: settings.task, needed: expected)
    }
    let application = try kind.definition.open(
      directory: directory, settings: settings, config: config, path: path)
    try application.convert(toRequested: precision, path: path)
    return application
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
  public var taskName: String { application.taskKind.rawValue }

  /// The opened model, as its task's application.
  public var application: any FineTunedApplication {
    switch self {
    case .text(let task): task
    case .tagging(let task): task
    case .questionAnswering(let task): task
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
  /// Data read for another task than the model's.
  case dataMismatch(task: String)
  /// A task without a case of ``FineTunedTask``: open it with
  /// ``FineTunedTask/openApplication(directory:task:)``.
  case noCase(task: String)

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
    case .dataMismatch(let task):
      "the data does not fit the \(task) model"
    case .noCase(let task):
      "the \(task) task has no case of FineTunedTask; open it with openApplication(directory:task:)"
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

  /// Question answering: the stride for windows of `maxLength` tokens when
  /// none is given, ``docStride`` or at most half a window.
  public static func docStride(maxLength: Int) -> Int { min(docStride, maxLength / 2) }

  /// The settings of `task` for a directory without `bert_swift_task`, as
  /// transformers would run it: inputs truncated to the tokenizer's
  /// `model_max_length` within `max_position_embeddings`, then as the task's
  /// ``TaskDefinition/defaultSettings(limit:)`` says (question answering:
  /// at most ``qaMaxLength`` tokens with a stride of ``docStride``).
  static func settings(task: TaskKind, config: BertConfig, modelMaxLength: Int?) -> TaskSettings {
    let limit = min(modelMaxLength ?? config.maxPositionEmbeddings, config.maxPositionEmbeddings)
    return task.definition.defaultSettings(limit: limit)
  }
}
