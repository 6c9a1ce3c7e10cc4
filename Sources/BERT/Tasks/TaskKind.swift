import Foundation

/// The fine-tuning tasks this package knows: the one list that the `bert`
/// command, ``FineTunedTask/open(directory:task:)`` and the tests take them
/// from. A case's raw value is its command-line name and the `task` that
/// `bert_swift_task` records in `config.json`.
///
/// Adding a task is one case here and its line in ``definition``; everything
/// else about it lives in its ``TaskDefinition``.
public enum TaskKind: String, CaseIterable, Codable, Sendable {
  case classification
  case pairClassification = "pair-classification"
  case regression
  case pairRegression = "pair-regression"
  case tagging
  case qa
  case retrieval

  /// Everything about the task: its head, data, metrics, settings and output.
  public var definition: any TaskDefinition {
    switch self {
    case .classification: TextClassificationTask.Definition(kind: .classification)
    case .pairClassification: TextClassificationTask.Definition(kind: .pairClassification)
    case .regression: TextClassificationTask.Definition(kind: .regression)
    case .pairRegression: TextClassificationTask.Definition(kind: .pairRegression)
    case .tagging: TaggingTask.Definition()
    case .qa: QuestionAnsweringTask.Definition()
    case .retrieval: RetrievalTask.Definition()
    }
  }

  /// The task named `name`.
  ///
  /// - Throws: ``FineTunedTaskError/unknownTask(_:)`` for a name no task has.
  public init(named name: String) throws {
    guard let kind = TaskKind(rawValue: name) else { throw FineTunedTaskError.unknownTask(name) }
    self = kind
  }

  /// Every task's name, in registry order.
  public static var names: [String] { allCases.map(\.rawValue) }
}

/// What one fine-tuning application is: its names, head, data, metrics,
/// settings and defaults, and how to train, open and run it. Each task's file
/// in `Tasks/` holds its definition; ``TaskKind/definition`` lists them.
public protocol TaskDefinition: Sendable {
  /// The task, whose raw value is its command-line and saved name.
  var kind: TaskKind { get }
  /// The transformers class that holds the task's head, as `architectures`
  /// in `config.json` names it.
  var architecture: String { get }
  /// Whether the head's outputs are named labels (`id2label`); false for
  /// regression and question answering.
  var hasLabels: Bool { get }
  /// What evaluation counts a label on: `example` or `token`, for messages.
  var labelledItem: String { get }
  /// Whether `--classifier-head` (``SequenceClassifierHead``) applies.
  var takesClassifierHead: Bool { get }
  /// Whether windows with a doc stride apply.
  var usesDocStride: Bool { get }
  /// The task of the same head reading text pairs, for a directory whose
  /// head does not say whether its inputs are pairs; nil when none.
  var pairKind: TaskKind? { get }

  /// The data formats the task reads, for messages.
  var formats: String { get }
  /// Whether a data file with this (lower-cased) extension can hold the task's data.
  func accepts(fileExtension: String) -> Bool
  /// Reads a data file of the task.
  func read(_ url: URL, requireLabels: Bool, tsvQuoting: TSVQuoting) throws -> (
    TaskExamples, ReadReport
  )

  /// Every metric that evaluation reports.
  var metrics: [String] { get }
  /// The metric that selects the best epoch (see ``EvaluationReport/primaryMetric``).
  var selectionMetric: String { get }

  /// The default `--max-length`.
  var defaultMaxLength: Int { get }
  /// The least max length that leaves room for text beside the special tokens.
  var minimumLength: Int { get }
  /// What one input holds, for messages about the max length.
  var inputDescription: String { get }

  /// Whether this task is the one a head of ``architecture`` does, from
  /// `num_labels` and `problem_type` (a pair task never is: the input says).
  ///
  /// - Throws: ``FineTunedTaskError/unsupportedProblemType(path:problemType:)``.
  func isHead(of config: BertConfig, path: String) throws -> Bool

  /// The settings for a directory without `bert_swift_task`, whose inputs may
  /// be up to `limit` tokens.
  func defaultSettings(limit: Int) -> TaskSettings

  /// A new head on the model in `directory`, for training.
  func makeTask(
    directory: URL, train: TaskExamples, evaluation: TaskExamples?, setup: FineTuningSetup
  ) throws -> any FineTuningTask

  /// A fine-tuned directory opened with its saved (or default) settings.
  func open(directory: URL, settings: TaskSettings, config: BertConfig, path: String) throws
    -> any FineTunedApplication
}

extension TaskDefinition {
  public var labelledItem: String { "example" }
  public var takesClassifierHead: Bool { false }
  public var usesDocStride: Bool { false }
  public var pairKind: TaskKind? { nil }
  public var inputDescription: String { "a single text" }
  public var minimumLength: Int { 3 }
  public var defaultMaxLength: Int { TaskDefaults.maxLength }
  public func defaultSettings(limit: Int) -> TaskSettings {
    TaskSettings(task: kind.rawValue, maxLength: limit)
  }
}

/// What ``TaskDefinition/makeTask(directory:train:evaluation:setup:)`` needs
/// besides the data: the settings that apply to the task (the others are ignored).
public struct FineTuningSetup: Sendable {
  public var maxLength: Int
  public var docStride: Int
  public var maxAnswerLength: Int
  public var labelAllTokens: Bool
  public var classifierHead: SequenceClassifierHead?
  /// A fixed label set (a fine-tuned model's `id2label`); nil takes the training data's.
  public var labels: LabelSet?
  public var seed: UInt64
  /// Retrieval: add the positive→query direction to the ranking loss.
  public var symmetricLoss: Bool
  /// The training and evaluation files, for messages.
  public var trainSource: String
  public var evaluationSource: String

  public init(
    maxLength: Int = TaskDefaults.maxLength, docStride: Int = TaskDefaults.docStride,
    maxAnswerLength: Int = TaskDefaults.maxAnswerLength, labelAllTokens: Bool = false,
    classifierHead: SequenceClassifierHead? = nil, labels: LabelSet? = nil, seed: UInt64 = 42,
    symmetricLoss: Bool = false, trainSource: String = "train",
    evaluationSource: String = "evaluation"
  ) {
    self.symmetricLoss = symmetricLoss
    self.maxLength = maxLength
    self.docStride = docStride
    self.maxAnswerLength = maxAnswerLength
    self.labelAllTokens = labelAllTokens
    self.classifierHead = classifierHead
    self.labels = labels
    self.seed = seed
    self.trainSource = trainSource
    self.evaluationSource = evaluationSource
  }
}

/// A fine-tuned model opened as its task: it scores labelled data and writes
/// predictions. ``TextClassificationTask``, ``TaggingTask`` and
/// ``QuestionAnsweringTask`` are applications.
public protocol FineTunedApplication: AnyObject {
  /// The task the model does.
  var taskKind: TaskKind { get }
  /// The model as a case of ``FineTunedTask``, for the tasks that have one.
  var fineTunedTask: FineTunedTask? { get }
  /// The same model reading text pairs or single texts, where the task can
  /// read either (see ``TextClassificationTask/readingPairs(_:)``); else itself.
  func reading(pairs: Bool) -> any FineTunedApplication
  /// Scores labelled examples read by the task's definition, in length-sorted
  /// batches of at most `batchSize` sequences and `maxBatchTokens` padded
  /// tokens (nil: no token budget; see ``Batching``).
  ///
  /// - Throws: ``FineTunedTaskError/dataMismatch(task:)`` for another task's data.
  func score(_ examples: TaskExamples, source: String, batchSize: Int, maxBatchTokens: Int?)
    throws -> EvaluationReport
  /// Reads `input`'s inputs and writes one JSON object per input through `input.write`.
  func predict(_ input: PredictionInput) throws
  /// The model's projections run at `precision` from now on (see
  /// ``Precision``); an int8 model is for inference only.
  func convert(to precision: Precision) throws
  /// The precision the model's projections run at now.
  var precision: Precision { get }
}

extension FineTunedApplication {
  /// Runs the model at `requested` from now on, or as stored when nil (see
  /// ``Precision/resolving(_:stored:path:)``).
  ///
  /// - Parameter path: the model directory, for the error.
  /// - Throws: ``QuantizationError/storedAsInt8(path:)`` for fp32 asked of an
  ///   int8 directory.
  public func convert(toRequested requested: Precision?, path: String) throws {
    let target = try Precision.resolving(requested, stored: precision, path: path)
    // A directory runs as stored (an int8 one keeps the projections it stores in float).
    if target != precision { try convert(to: target) }
  }

  public var fineTunedTask: FineTunedTask? { nil }
  public func reading(pairs: Bool) -> any FineTunedApplication { self }
}

/// The examples of one task, as its definition reads them.
public enum TaskExamples {
  case text([TextExample])
  case tagged([TaggedSentence])
  case questions([QAExample])
  /// The examples of a task whose data has no case of its own.
  case other([any Sendable])

  public var count: Int {
    switch self {
    case .text(let examples): examples.count
    case .tagged(let sentences): sentences.count
    case .questions(let examples): examples.count
    case .other(let examples): examples.count
    }
  }

  /// The text examples; empty for other data.
  public var texts: [TextExample] {
    if case .text(let examples) = self { return examples }
    return []
  }

  /// The tagged sentences; empty for other data.
  public var sentences: [TaggedSentence] {
    if case .tagged(let sentences) = self { return sentences }
    return []
  }

  /// The questions; empty for other data.
  public var questions: [QAExample] {
    if case .questions(let examples) = self { return examples }
    return []
  }
}
