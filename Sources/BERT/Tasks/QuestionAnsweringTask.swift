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
  public let model: BertForQuestionAnswering
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
    directory: URL, train: [QAExample], evaluation: [QAExample] = [], maxLength: Int = 384,
    docStride: Int = 128, maxAnswerLength: Int = 30, seed: UInt64 = 42
  ) throws {
    let files = try ModelDirectoryLayout.transformerDirectory(of: directory)
    tokenizer = try BertTokenizer(directory: files)
    sourceDirectory = directory
    model = try BertForQuestionAnswering.load(directory: files, seed: seed).model
    self.maxLength = try checkedMaxLength(maxLength, model.bert.config, minimum: 5)
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
  public func predict(_ examples: [QAExample], batchSize: Int = 32, nBest: Int = 20) throws
    -> [[QAAnswer]]
  {
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
    var startLogits: [[Float]] = []
    var endLogits: [[Float]] = []
    for range in batchRanges(encodings.count, batchSize) {
      let slice = Array(encodings[range])
      let batch = TextBatch(encodings: slice, paddingID: tokenizer.paddingTokenID)
      var context = ForwardContext.inference
      let (start, end) = withoutGradients { model(batch, context: &context) }  // [B, T] each
      let t = batch.sequenceLength
      for (row, encoding) in slice.enumerated() {
        let n = encoding.inputIDs.count
        startLogits.append(Array(start.scalars[(row * t)..<(row * t + n)]))
        endLogits.append(Array(end.scalars[(row * t)..<(row * t + n)]))
      }
    }
    return try SpanDecoder.decodeAll(
      passages: examples.map(\.context), windows: windows, startLogits: startLogits,
      endLogits: endLogits, nBest: nBest, maxAnswerLength: maxAnswerLength)
  }

  public func evaluate(batchSize: Int) throws -> EvaluationReport? {
    guard !evaluation.isEmpty else { return nil }
    return try score(evaluation, batchSize: batchSize)
  }

  /// SQuAD v1.1 exact match and F1 (0–100), with the official normalisation.
  public func score(_ examples: [QAExample], batchSize: Int = 32) throws -> EvaluationReport {
    let answers = try predict(examples, batchSize: batchSize, nBest: 20)
    var predictions: [String: String] = [:]
    for (example, best) in zip(examples, answers) {
      predictions[example.id] = best.first?.text ?? ""
    }
    let scores = Metrics.squad(predictions: predictions, examples: examples)
    return EvaluationReport(
      primaryMetric: "f1", metrics: ["exact_match": scores.exactMatch, "f1": scores.f1],
      exampleCount: examples.count)
  }

  public func save(to directory: URL) throws {
    try ModelDirectoryWriter.write(
      config: model.bert.config, architecture: "BertForQuestionAnswering", labels: nil,
      problemType: nil,
      settings: TaskSettings(
        task: "qa", maxLength: maxLength, docStride: docStride, maxAnswerLength: maxAnswerLength),
      parameters: model.namedParameters, tokenizerSource: sourceDirectory, to: directory)
  }

  private func windows(_ example: QAExample) throws -> [Encoding] {
    try tokenizer.encodeWithWindows(
      question: example.question, context: example.context, maxLength: maxLength, stride: docStride)
  }
}
