import Foundation

// B windows, T tokens.

/// Extractive question answering (SQuAD v1.1): the question and passage are
/// packed as `[CLS] question [SEP] passage [SEP]`; one fully connected layer
/// scores every token as a start (sᵢ) and, independently, as an end (eⱼ)
/// (``BertForQuestionAnswering``). Training maximises the log-likelihood of
/// the true start and end; prediction returns the passage span with the
/// highest sᵢ + eⱼ with i ≤ j.
///
/// Passages longer than a window are cut into windows that share `docStride`
/// tokens. A training window that does not hold the whole answer is left out
/// (its positions would be ignored by the loss anyway) and counted.
public final class QuestionAnsweringTask: FineTuningTask {
  public private(set) var model: BertForQuestionAnswering
  public let tokenizer: BertTokenizer
  public let maxLength: Int
  public let docStride: Int
  public let maxAnswerLength: Int
  let sourceDirectory: URL
  private var train: [(encoding: Encoding, start: Int, end: Int)] = []
  private let trainExampleCount: Int
  private let evaluation: [QAExample]
  /// Training windows left out because they do not hold the whole answer.
  public private(set) var windowsWithoutAnswer = 0
  /// Training examples with no window that holds the whole answer.
  public private(set) var examplesWithoutWindow = 0

  public init(
    directory: URL, train: [QAExample], evaluation: [QAExample] = [],
    maxLength: Int = TaskDefaults.qaMaxLength, docStride: Int = TaskDefaults.docStride,
    maxAnswerLength: Int = TaskDefaults.maxAnswerLength, seed: UInt64 = 42
  ) throws {
    let files = try ModelDirectoryLayout.transformerDirectory(of: directory)
    tokenizer = try BertTokenizer(directory: files)
    sourceDirectory = directory
    model = try BertForQuestionAnswering.load(directory: files, seed: seed).model
    self.maxLength = try checkedMaxLength(
      maxLength, model.bert.config, minimum: Definition().minimumLength)
    guard docStride > 0, docStride < maxLength else {
      throw TrainingError.invalidSetting(
        "doc stride \(docStride) must be positive and below the max length \(maxLength)")
    }
    self.docStride = docStride
    self.maxAnswerLength = maxAnswerLength
    trainExampleCount = train.count
    self.evaluation = evaluation
    for example in train {
      guard let answer = example.answers.first else { continue }
      var found = false
      for encoding in try windows(example) {
        let window = try QAWindow(
          exampleIndex: 0, sequenceIDs: encoding.sequenceIDs, offsets: encoding.offsets)
        guard let span = window.answerTokens(for: answer) else {
          windowsWithoutAnswer += 1
          continue
        }
        found = true
        self.train.append((encoding, span.start, span.end))
      }
      if !found { examplesWithoutWindow += 1 }
    }
  }

  public var namedParameters: [(key: String, parameter: Parameter)] { model.namedParameters }
  public var trainingFeatureCount: Int { train.count }
  public var trainingExampleCount: Int { trainExampleCount }
  public var trainingFeatureLengths: [Int] { train.map(\.encoding.inputIDs.count) }

  public func loss(features: [Int], context: inout ForwardContext) -> Tensor {
    let batch = TextBatch(
      encodings: features.map { train[$0].encoding }, paddingID: tokenizer.paddingTokenID)
    let (start, end) = model(batch, context: &context)  // [B, T] each
    return questionAnsweringLoss(
      startLogits: start, endLogits: end, startPositions: features.map { train[$0].start },
      endPositions: features.map { train[$0].end })
  }

  /// The n-best answers of each example, best first (an empty answer when no
  /// span qualifies).
  public func predict(
    _ examples: [QAExample], batchSize: Int = 32, maxBatchTokens: Int? = nil,
    nBest: Int = SpanDecoder.defaultNBest
  ) throws -> [[QAAnswer]] {
    var windows: [QAWindow] = []
    var encodings: [Encoding] = []
    for (index, example) in examples.enumerated() {
      for encoding in try self.windows(example) {
        windows.append(
          try QAWindow(
            exampleIndex: index, sequenceIDs: encoding.sequenceIDs, offsets: encoding.offsets))
        encodings.append(encoding)
      }
    }
    // Every window's start and end logits over its real tokens, in window order.
    let batching = Batching(maxSequences: batchSize, maxTokens: maxBatchTokens)
    let logits = batching.map(encodings, paddingID: tokenizer.paddingTokenID) { batch, _ in
      spanLogits(batch)
    }
    let startLogits = logits.map(\.start)
    let endLogits = logits.map(\.end)
    return try SpanDecoder.decodeAll(
      passages: examples.map(\.context), windows: windows, startLogits: startLogits,
      endLogits: endLogits, nBest: nBest, maxAnswerLength: maxAnswerLength)
  }

  public func evaluate(batchSize: Int) throws -> EvaluationReport? {
    guard !evaluation.isEmpty else { return nil }
    return try score(evaluation, batchSize: batchSize)
  }

  /// The start and end logits of every real token, per row of `batch`, without
  /// dropout or autograd: B pairs of Tᵢ values each (Tᵢ the row's real tokens).
  public func spanLogits(_ batch: TextBatch) -> [(start: [Float], end: [Float])] {
    var context = ForwardContext.inference
    let (start, end) = withoutGradients { model(batch, context: &context) }  // [B, T] each
    let (starts, ends) = (start.scalars, end.scalars)  // copied once per batch
    let t = batch.sequenceLength
    return batch.lengths.enumerated().map { row, n in
      (Array(starts[(row * t)..<(row * t + n)]), Array(ends[(row * t)..<(row * t + n)]))
    }
  }

  /// One question's windows over its passage (``maxLength`` tokens each,
  /// sharing ``docStride`` passage tokens), with their encodings, for
  /// ``answers(context:windows:logits:topK:)``.
  ///
  /// - Throws: `TokenizerError.windowTooSmall` when the question leaves no
  ///   room for more than ``docStride`` passage tokens in a window.
  public func windows(question: String, context: String) throws -> [(
    window: QAWindow, encoding: Encoding
  )] {
    let example = QAExample(id: "", title: "", question: question, context: context, answers: [])
    return try windows(example).map { encoding in
      (
        try QAWindow(exampleIndex: 0, sequenceIDs: encoding.sequenceIDs, offsets: encoding.offsets),
        encoding
      )
    }
  }

  /// The `topK` best answers of one question from its windows' logits (rows of
  /// ``spanLogits(_:)``), best first, scored over an n-best list of at least
  /// ``SpanDecoder/defaultNBest`` as ``predict(_:batchSize:maxBatchTokens:nBest:)`` scores.
  public func answers(
    context: String, windows: [QAWindow], logits: [(start: [Float], end: [Float])], topK: Int
  ) throws -> [QAAnswer] {
    let nBest = try SpanDecoder.decode(
      passage: context, windows: windows, startLogits: logits.map(\.start),
      endLogits: logits.map(\.end), nBest: max(topK, SpanDecoder.defaultNBest),
      maxAnswerLength: maxAnswerLength)
    return Array(nBest.prefix(topK))
  }

  /// SQuAD v1.1 exact match and F1 (0–100), with the official normalisation.
  public func score(
    _ examples: [QAExample], batchSize: Int = 32, maxBatchTokens: Int? = nil
  ) throws -> EvaluationReport {
    let answers = try predict(
      examples, batchSize: batchSize, maxBatchTokens: maxBatchTokens,
      nBest: SpanDecoder.defaultNBest)
    var predictions: [String: String] = [:]
    for (example, best) in zip(examples, answers) {
      predictions[example.id] = best.first?.text ?? ""
    }
    let scores = Metrics.squad(predictions: predictions, examples: examples)
    return EvaluationReport(
      primaryMetric: Definition().selectionMetric,
      metrics: ["exact_match": scores.exactMatch, "f1": scores.f1],
      exampleCount: examples.count)
  }

  public func save(to directory: URL) throws {
    try ModelDirectoryWriter.write(
      config: model.bert.config, architecture: Definition.architecture, labels: nil,
      problemType: nil,
      settings: TaskSettings(
        task: TaskKind.qa.rawValue, maxLength: maxLength, docStride: docStride,
        maxAnswerLength: maxAnswerLength),
      parameters: model.namedParameters, tokenizerSource: sourceDirectory, to: directory)
  }

  private func windows(_ example: QAExample) throws -> [Encoding] {
    try tokenizer.encodeWithWindows(
      question: example.question, context: example.context, maxLength: maxLength, stride: docStride)
  }
}

extension QuestionAnsweringTask {
  /// Extractive question answering (SQuAD v1.1) with ``BertForQuestionAnswering``.
  public struct Definition: TaskDefinition {
    public init() {}

    static let architecture = "BertForQuestionAnswering"

    public var kind: TaskKind { .qa }
    public var architecture: String { Self.architecture }
    public var hasLabels: Bool { false }
    public var usesDocStride: Bool { true }
    public var formats: String { "SQuAD v1.1 JSON (.json)" }
    public var metrics: [String] { ["exact_match", "f1"] }
    public var selectionMetric: String { "f1" }
    public var defaultMaxLength: Int { TaskDefaults.qaMaxLength }
    public var minimumLength: Int { 5 }
    public var inputDescription: String { "a question with its passage" }

    public func accepts(fileExtension: String) -> Bool { fileExtension == "json" }

    public func read(_ url: URL, requireLabels: Bool, tsvQuoting: TSVQuoting) throws -> (
      TaskExamples, ReadReport
    ) {
      let result = try SQuADReader.read(contentsOf: url)
      return (.questions(result.examples), result.report)
    }

    public func isHead(of config: BertConfig, path: String) throws -> Bool { true }

    /// At most ``TaskDefaults/qaMaxLength`` tokens with a stride of ``TaskDefaults/docStride``.
    public func defaultSettings(limit: Int) -> TaskSettings {
      let length = min(TaskDefaults.qaMaxLength, limit)
      return TaskSettings(
        task: kind.rawValue, maxLength: length,
        docStride: TaskDefaults.docStride(maxLength: length),
        maxAnswerLength: TaskDefaults.maxAnswerLength)
    }

    public func makeTask(
      directory: URL, train: TaskExamples, evaluation: TaskExamples?, setup: FineTuningSetup
    ) throws -> any FineTuningTask {
      try QuestionAnsweringTask(
        directory: directory, train: train.questions, evaluation: evaluation?.questions ?? [],
        maxLength: setup.maxLength, docStride: setup.docStride,
        maxAnswerLength: setup.maxAnswerLength, seed: setup.seed)
    }

    public func open(directory: URL, settings: TaskSettings, config: BertConfig, path: String)
      throws -> any FineTunedApplication
    {
      (try QuestionAnsweringTask(
        directory: directory, train: [], maxLength: settings.maxLength,
        docStride: settings.docStride ?? TaskDefaults.docStride(maxLength: settings.maxLength),
        maxAnswerLength: settings.maxAnswerLength ?? TaskDefaults.maxAnswerLength))
    }
  }
}

extension QuestionAnsweringTask: FineTunedApplication {
  public func convert(to precision: Precision) throws {
    try model.convert(to: precision)
  }

  public var precision: Precision { model.projectionPrecision }

  public var fineTunedTask: FineTunedTask? { .questionAnswering(self) }
  public var taskKind: TaskKind { .qa }

  public func score(
    _ examples: TaskExamples, source: String, batchSize: Int, maxBatchTokens: Int?
  ) throws -> EvaluationReport {
    guard case .questions(let examples) = examples else {
      throw FineTunedTaskError.dataMismatch(task: taskKind.rawValue)
    }
    return try score(examples, batchSize: batchSize, maxBatchTokens: maxBatchTokens)
  }

  /// Reads JSON Lines `{"id","question","context"}` (id optional) or a SQuAD
  /// v1.1 file; writes `{"id","answer","start","end","score"}`.
  public func predict(_ input: PredictionInput) throws {
    var examples: [QAExample]
    if input.path != nil, input.fileExtension == "json" {
      examples = try SQuADReader.read(contentsOf: try input.existingFile()).examples
    } else {
      let lines = try input.lines(
        "echo '{\"question\":\"Who?\",\"context\":\"Ann did.\"}' | bert predict")
      examples = []
      for (index, line) in lines.lines.enumerated() where !line.allSatisfy(\.isWhitespace) {
        let place = "\(lines.source), line \(index + 1)"
        guard let data = line.data(using: .utf8),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
          throw InputError(
            "\(place): expected a JSON object {\"question\": ..., \"context\": ...}")
        }
        guard let question = object["question"] as? String,
          let context = object["context"] as? String
        else {
          throw InputError(
            "\(place): the object needs the string fields \"question\" and \"context\"")
        }
        let id =
          (object["id"] as? String) ?? (object["id"] as? Int).map(String.init) ?? "\(index + 1)"
        examples.append(
          QAExample(id: id, title: "", question: question, context: context, answers: []))
      }
      guard !examples.isEmpty else { throw InputError("\(lines.source) holds no questions") }
    }
    for range in PredictionInput.chunks(examples.count, 256) {
      let slice = Array(examples[range])
      let answers = try predict(
        slice, batchSize: input.batchSize, maxBatchTokens: input.maxBatchTokens,
        nBest: SpanDecoder.defaultNBest)
      input.write(
        zip(slice, answers).map { example, nBest in
          let best = nBest.first ?? .empty
          return OrderedJSON.object([
            ("id", .string(example.id)),
            ("answer", .string(best.text)),
            ("start", best.scalarRange.map { .int($0.lowerBound) } ?? .null),
            ("end", best.scalarRange.map { .int($0.upperBound) } ?? .null),
            ("score", .double(PredictionInput.round(Double(best.probability)))),
          ]).compact
        })
    }
  }
}
