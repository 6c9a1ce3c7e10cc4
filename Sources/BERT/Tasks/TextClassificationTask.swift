import Foundation

// B batch, T tokens, C labels.

/// Single-text or text-pair classification or regression: `[CLS] a [SEP]` or
/// `[CLS] a [SEP] b [SEP]` with segment ids, the pooled `[CLS]` state, and one
/// fully connected layer (``BertForSequenceClassification``). Classification
/// trains with cross-entropy; regression (one output, e.g. a 0–5 similarity)
/// with mean squared error.
public final class TextClassificationTask: FineTuningTask {
  public let kind: TextTaskKind
  public private(set) var model: BertForSequenceClassification
  public let tokenizer: BertTokenizer
  /// The label names in id order; nil for regression.
  public let labels: LabelSet?
  public let maxLength: Int
  let sourceDirectory: URL
  private let train: [Encoding]
  private let trainLabels: [Int]
  private let trainTargets: [Float]
  private let evaluation: [TextExample]
  private let evaluationSource: String
  /// The evaluation examples' labels that ``labels`` lacks, each with the
  /// number of examples that carry it; those examples are scored as errors.
  /// Empty for regression.
  public let evaluationUnseenLabels: [String: Int]

  /// A new head on the model in `directory` (a base checkpoint or a fine-tuned one).
  ///
  /// - Parameters:
  ///   - train: labelled examples; their labels fix the label set (sorted)
  ///     unless `labels` is given.
  ///   - evaluation: held-out examples scored after each epoch; may be empty.
  ///     It may hold labels that the label set lacks: those examples are
  ///     scored as errors and counted in ``evaluationUnseenLabels``.
  ///   - maxLength: tokens per sequence, special tokens included.
  ///   - labels: the label names in output order (a fine-tuned model's
  ///     `id2label`); nil takes the sorted labels of `train`.
  ///   - head: the pooler head (Hugging Face's) or the MLP on `[CLS]` (d2l's);
  ///     nil keeps a fine-tuned directory's head and takes the pooler on a base
  ///     checkpoint.
  /// - Throws: `DatasetError.unknownLabel` naming `trainSource`, the line and
  ///   the label when `labels` is given and a training label is not in it.
  public init(
    kind: TextTaskKind, directory: URL, train: [TextExample], evaluation: [TextExample] = [],
    maxLength: Int = TaskDefaults.maxLength, labels: LabelSet? = nil,
    head: SequenceClassifierHead? = nil,
    seed: UInt64 = 42,
    trainSource: String = "train", evaluationSource: String = "evaluation"
  ) throws {
    self.kind = kind
    let files = try ModelDirectoryLayout.transformerDirectory(of: directory)
    tokenizer = try BertTokenizer(directory: files)
    sourceDirectory = directory
    let labelSet = kind.isRegression ? nil : labels ?? LabelSet(examples: train)
    self.labels = labelSet
    model = try BertForSequenceClassification.load(
      directory: files, labelCount: labelSet?.count ?? 1, head: head, seed: seed
    ).model
    self.maxLength = try checkedMaxLength(
      maxLength, model.bert.config, minimum: kind.taskKind.definition.minimumLength)
    self.train = tokenizer.encodeBatch(
      train.map(\.text), pairs: kind.isPair ? train.map { $0.pair ?? "" } : nil,
      maxLength: self.maxLength)
    if let labelSet {
      trainLabels = try labelSet.ids(for: train, file: trainSource)
      trainTargets = []
    } else {
      trainLabels = []
      trainTargets = try train.map { example in
        guard let target = example.target else {
          throw DatasetError.missingValue(file: trainSource, line: example.line, field: "score")
        }
        return target
      }
    }
    self.evaluation = evaluation
    self.evaluationSource = evaluationSource
    evaluationUnseenLabels = labelSet?.unknownLabelCounts(in: evaluation) ?? [:]
  }

  private init(copying other: TextClassificationTask, kind: TextTaskKind) {
    self.kind = kind
    model = other.model
    tokenizer = other.tokenizer
    labels = other.labels
    maxLength = other.maxLength
    sourceDirectory = other.sourceDirectory
    train = other.train
    trainLabels = other.trainLabels
    trainTargets = other.trainTargets
    evaluation = other.evaluation
    evaluationSource = other.evaluationSource
    evaluationUnseenLabels = other.evaluationUnseenLabels
  }

  /// The same model reading text pairs (`pairs` true) or single texts: for a
  /// directory saved by transformers, whose config says classification or
  /// regression but not whether its inputs are pairs.
  ///
  /// - Returns: this task when its kind already fits; else a task of the
  ///   pair (or single-text) kind that shares the model and tokenizer.
  public func readingPairs(_ pairs: Bool) -> TextClassificationTask {
    guard kind.isPair != pairs else { return self }
    let kind: TextTaskKind =
      switch (kind.isRegression, pairs) {
      case (true, true): .pairRegression
      case (true, false): .regression
      case (false, true): .pairClassification
      case (false, false): .classification
      }
    return TextClassificationTask(copying: self, kind: kind)
  }

  public var namedParameters: [(key: String, parameter: Parameter)] { model.namedParameters }
  public var trainingFeatureCount: Int { train.count }
  public var trainingExampleCount: Int { train.count }
  public var trainingFeatureLengths: [Int] { train.map(\.inputIDs.count) }

  public func loss(features: [Int], context: inout ForwardContext) -> Tensor {
    let batch = TextBatch(
      encodings: features.map { train[$0] }, paddingID: tokenizer.paddingTokenID)
    let logits = model(batch, context: &context)  // [B, C]
    return labels == nil
      ? sequenceClassificationLoss(logits: logits, targets: features.map { trainTargets[$0] })
      : sequenceClassificationLoss(logits: logits, labels: features.map { trainLabels[$0] })
  }

  /// Logits for examples, without dropout or autograd: [N, C] as rows, in
  /// input order. The examples run in length-sorted batches of at most
  /// `batchSize` sequences and `maxBatchTokens` padded tokens (see ``Batching``).
  public func logits(_ examples: [TextExample], batchSize: Int = 64, maxBatchTokens: Int? = nil)
    -> [[Float]]
  {
    let batching = Batching(maxSequences: batchSize, maxTokens: maxBatchTokens)
    return batching.map(encode(examples), paddingID: tokenizer.paddingTokenID) { batch, _ in
      logits(batch)
    }
  }

  /// Logits for a batch already encoded (as ``encode(_:)`` encodes), without
  /// dropout or autograd: B rows of C values, in the batch's row order.
  public func logits(_ batch: TextBatch) -> [[Float]] {
    var context = ForwardContext.inference
    let logits = withoutGradients { model(batch, context: &context) }  // [B, C]
    let c = logits.shape[1]
    return logits.withUnsafeBufferPointer { v in
      (0..<batch.batchSize).map { Array(v[($0 * c)..<(($0 + 1) * c)]) }
    }
  }

  /// Examples encoded as ``logits(_:batchSize:maxBatchTokens:)`` encodes them:
  /// pairs when the task reads pairs, cut to ``maxLength`` tokens.
  public func encode(_ examples: [TextExample]) -> [Encoding] {
    tokenizer.encodeBatch(
      examples.map(\.text), pairs: kind.isPair ? examples.map { $0.pair ?? "" } : nil,
      maxLength: maxLength)
  }

  /// Predictions: for classification the label and every label's probability;
  /// for regression the score.
  public func predict(
    _ examples: [TextExample], batchSize: Int = 64, maxBatchTokens: Int? = nil
  ) -> [TextPrediction] {
    logits(examples, batchSize: batchSize, maxBatchTokens: maxBatchTokens).map(prediction)
  }

  /// The prediction of one row of C logits: for classification the most probable
  /// label and the softmax over the labels; for regression the single value.
  public func prediction(logits row: [Float]) -> TextPrediction {
    guard let labels else { return TextPrediction(label: nil, probabilities: nil, score: row[0]) }
    let peak = row.max() ?? 0
    let exps = row.map { Foundation.exp(Double($0 - peak)) }
    let total = exps.reduce(0, +)
    let best = row.indices.max { row[$0] < row[$1] } ?? 0
    var probabilities: [String: Double] = [:]
    for (id, value) in exps.enumerated() { probabilities[labels.label(for: id)] = value / total }
    return TextPrediction(label: labels.label(for: best), probabilities: probabilities, score: nil)
  }

  public func evaluate(batchSize: Int) throws -> EvaluationReport? {
    guard !evaluation.isEmpty else { return nil }
    return try score(evaluation, source: evaluationSource, batchSize: batchSize)
  }

  /// Scores labelled examples: accuracy, macro-F1 and Matthews correlation for
  /// classification; Pearson, Spearman and MSE for regression.
  ///
  /// A gold label that ``labels`` lacks cannot be predicted: its examples count
  /// as wrong, and it is one more class in macro-F1 (with F1 0) and in the
  /// Matthews correlation, as scikit-learn counts the classes present in the
  /// gold labels or the predictions. The report's
  /// ``EvaluationReport/unseenLabels`` says which labels and how many examples.
  ///
  /// - Throws: `DatasetError.missingValue` naming `source` and the line of an
  ///   example without a label (classification) or score (regression).
  public func score(
    _ examples: [TextExample], source: String, batchSize: Int = 64, maxBatchTokens: Int? = nil
  ) throws -> EvaluationReport {
    if let labels {
      let gold = try examples.map { example -> String in
        guard let label = example.label else {
          throw DatasetError.missingValue(file: source, line: example.line, field: "label")
        }
        return label
      }
      let predicted = predict(examples, batchSize: batchSize, maxBatchTokens: maxBatchTokens).map {
        $0.label!
      }
      return EvaluationReport(
        primaryMetric: Definition.classificationMetrics[0],
        metrics: [
          "accuracy": Metrics.accuracy(predictions: predicted, labels: gold),
          "macro_f1": Metrics.macroF1(predictions: predicted, labels: gold),
          "mcc": Metrics.matthewsCorrelation(predictions: predicted, labels: gold),
        ], exampleCount: examples.count, unseenLabels: labels.unknownLabelCounts(in: examples))
    }
    let predictions = predict(examples, batchSize: batchSize, maxBatchTokens: maxBatchTokens)
    let gold = try examples.map { example -> Float in
      guard let target = example.target else {
        throw DatasetError.missingValue(file: source, line: example.line, field: "score")
      }
      return target
    }
    let scores = predictions.map { $0.score! }
    let mse =
      zip(scores, gold).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
      / Double(max(gold.count, 1))
    return EvaluationReport(
      primaryMetric: Definition.regressionMetrics[0],
      metrics: [
        "pearson": Metrics.pearson(scores, gold), "spearman": Metrics.spearman(scores, gold),
        "mse": mse,
      ], exampleCount: examples.count)
  }

  public func save(to directory: URL) throws {
    try ModelDirectoryWriter.write(
      config: model.bert.config, architecture: Definition.architecture,
      labels: labels?.labels ?? ["LABEL_0"],
      problemType: labels == nil ? "regression" : "single_label_classification",
      settings: TaskSettings(
        task: kind.rawValue, maxLength: maxLength,
        classifierHead: model.head == .pooler ? nil : model.head.rawValue),
      parameters: model.namedParameters, tokenizerSource: sourceDirectory, to: directory)
  }
}

extension TextTaskKind {
  /// The task of this kind in the registry.
  public var taskKind: TaskKind {
    switch self {
    case .classification: .classification
    case .pairClassification: .pairClassification
    case .regression: .regression
    case .pairRegression: .pairRegression
    }
  }
}

extension TextClassificationTask {
  /// The four text tasks: classification or regression of a text or a pair,
  /// with ``BertForSequenceClassification``.
  public struct Definition: TaskDefinition {
    /// Which of the four.
    public let textKind: TextTaskKind
    public init(kind: TextTaskKind) { textKind = kind }

    static let architecture = "BertForSequenceClassification"
    static let classificationMetrics = ["accuracy", "macro_f1", "mcc"]
    static let regressionMetrics = ["pearson", "spearman", "mse"]

    public var kind: TaskKind { textKind.taskKind }
    public var architecture: String { Self.architecture }
    public var hasLabels: Bool { !textKind.isRegression }
    public var takesClassifierHead: Bool { true }
    public var pairKind: TaskKind? {
      switch textKind {
      case .classification: .pairClassification
      case .regression: .pairRegression
      case .pairClassification, .pairRegression: nil
      }
    }
    public var formats: String {
      "CSV, TSV or JSON Lines (.csv, .tsv, .jsonl) with the fields "
        + (textKind.isPair ? "text_a, text_b and label" : "text and label")
        + (textKind.isRegression ? " (a number)" : "")
    }
    public var metrics: [String] {
      textKind.isRegression ? Self.regressionMetrics : Self.classificationMetrics
    }
    public var selectionMetric: String { metrics[0] }
    public var minimumLength: Int { textKind.isPair ? 4 : 3 }
    public var inputDescription: String { textKind.isPair ? "a pair" : "a single text" }

    public func accepts(fileExtension: String) -> Bool {
      TextFileFormat.extensions[fileExtension] != nil
    }

    public func read(_ url: URL, requireLabels: Bool, tsvQuoting: TSVQuoting) throws -> (
      TaskExamples, ReadReport
    ) {
      let result = try Self.readTexts(
        url, kind: textKind, requireLabels: requireLabels, tsvQuoting: tsvQuoting)
      return (.text(result.examples), result.report)
    }

    /// Reads a CSV, TSV or JSON Lines file of a text task; a malformed quoted
    /// field of a TSV file read with `--tsv-quoting csv` gets a hint at `none`.
    static func readTexts(
      _ url: URL, kind: TextTaskKind, requireLabels: Bool, tsvQuoting: TSVQuoting
    ) throws -> ReadResult<TextExample> {
      do {
        return try TextExampleReader.read(
          contentsOf: url, task: kind, requireLabels: requireLabels, tsvQuoting: tsvQuoting)
      } catch DatasetError.malformedCSV(let file, let line, let reason)
        where tsvQuoting == .csv && url.pathExtension.lowercased() == "tsv"
      {
        throw InputError(
          "\(file), line \(line): \(reason) (read with --tsv-quoting csv; "
            + "--tsv-quoting none reads quotes as ordinary characters)")
      }
    }

    public func isHead(of config: BertConfig, path: String) throws -> Bool {
      guard !textKind.isPair else { return false }
      let regression: Bool
      switch config.problemType {
      case "regression": regression = true
      case nil, "single_label_classification": regression = config.headLabelCount == 1
      case let other?:
        throw FineTunedTaskError.unsupportedProblemType(path: path, problemType: other)
      }
      return regression == textKind.isRegression
    }

    public func makeTask(
      directory: URL, train: TaskExamples, evaluation: TaskExamples?, setup: FineTuningSetup
    ) throws -> any FineTuningTask {
      try TextClassificationTask(
        kind: textKind, directory: directory, train: train.texts,
        evaluation: evaluation?.texts ?? [], maxLength: setup.maxLength, labels: setup.labels,
        head: setup.classifierHead, seed: setup.seed, trainSource: setup.trainSource,
        evaluationSource: setup.evaluationSource)
    }

    public func open(directory: URL, settings: TaskSettings, config: BertConfig, path: String)
      throws -> any FineTunedApplication
    {
      (try TextClassificationTask(
        kind: textKind, directory: directory, train: [], maxLength: settings.maxLength,
        labels: textKind.isRegression ? nil : try FineTunedTask.labelSet(config, path: path)))
    }
  }
}

extension TextClassificationTask: FineTunedApplication {
  public func convert(to precision: Precision) throws {
    try model.convert(to: precision)
  }

  public var precision: Precision { model.projectionPrecision }

  public var fineTunedTask: FineTunedTask? { .text(self) }
  public var taskKind: TaskKind { kind.taskKind }

  public func reading(pairs: Bool) -> any FineTunedApplication { readingPairs(pairs) }

  public func score(
    _ examples: TaskExamples, source: String, batchSize: Int, maxBatchTokens: Int?
  ) throws -> EvaluationReport {
    guard case .text(let examples) = examples else {
      throw FineTunedTaskError.dataMismatch(task: kind.rawValue)
    }
    return try score(
      examples, source: source, batchSize: batchSize, maxBatchTokens: maxBatchTokens)
  }

  /// Reads one text (or pair) per line, JSON Lines `{"text"}` /
  /// `{"text_a","text_b"}`, or a CSV or TSV file; writes
  /// `{"label","probabilities"}` (classification) or `{"score"}` (regression).
  public func predict(_ input: PredictionInput) throws {
    // A directory saved by transformers says classification or regression, not
    // whether of pairs: the input decides (pair columns or keys, or a TAB in a line).
    let detect = input.pairsFromInput
    var pairs = kind.isPair
    let examples: [TextExample]
    /// Reads as pairs first when the input decides, then as single texts.
    func read(_ reader: (TextTaskKind) throws -> [TextExample]) throws -> [TextExample] {
      guard detect else { return try reader(kind) }
      do {
        let examples = try reader(readingPairs(true).kind)
        pairs = true
        return examples
      } catch  where lacksPairColumns(error) {
        return try reader(kind)
      }
    }
    if input.path != nil, TextFileFormat.extensions[input.fileExtension] != nil {
      let url = try input.existingFile()
      examples = try read { kind in
        let result = try Definition.readTexts(
          url, kind: kind, requireLabels: false, tsvQuoting: input.tsvQuoting)
        input.report(result.report)
        return result.examples
      }
    } else {
      let lines = try input.lines(
        kind.isPair
          ? "printf 'first\\tsecond\\n' | bert predict" : "echo 'some text' | bert predict")
      if lines.looksLikeJSONLines {
        examples = try read { kind in
          try TextExampleReader.read(
            bytes: lines.bytes, format: .jsonLines, source: lines.source, task: kind,
            requireLabels: false
          ).examples
        }
      } else {
        if detect { pairs = lines.lines.contains { $0.contains("\t") } }
        if pairs {
          let (first, second) = try lines.pairs()
          examples = zip(first, second).enumerated().map {
            TextExample(text: $1.0, pair: $1.1, line: $0 + 1)
          }
        } else {
          examples = lines.lines.enumerated().map { TextExample(text: $1, line: $0 + 1) }
        }
      }
    }
    let task = readingPairs(pairs)
    for range in PredictionInput.chunks(examples.count, 1024) {
      input.write(
        task.predict(
          Array(examples[range]), batchSize: input.batchSize,
          maxBatchTokens: input.maxBatchTokens
        ).map {
          Self.json($0).compact
        })
    }
  }

  /// `{"label":…,"probabilities":{…}}` (labels sorted), or `{"score":…}`.
  static func json(_ prediction: TextPrediction) -> OrderedJSON {
    if let label = prediction.label {
      let probabilities = (prediction.probabilities ?? [:])
        .map { ($0.key, $0.value) }
        .sorted { $0.0 < $1.0 }
      return .object([
        ("label", .string(label)),
        (
          "probabilities",
          .object(probabilities.map { ($0.0, .double(PredictionInput.round($0.1))) })
        ),
      ])
    }
    return .object([("score", .float(prediction.score ?? .nan))])
  }
}

/// Whether a reader's error says that the columns (or keys) of a text pair
/// are absent, so the data holds single texts.
public func lacksPairColumns(_ error: Error) -> Bool {
  guard case DatasetError.missingField(_, _, let role, _, _) = error else { return false }
  return role == "first text" || role == "second text"
}

/// A prediction for one text or pair.
public struct TextPrediction: Codable, Sendable, Equatable {
  /// The most probable label (classification).
  public var label: String?
  /// Every label's probability (classification).
  public var probabilities: [String: Double]?
  /// The predicted value (regression).
  public var score: Float?
}

/// Checks a requested maximum length against the model's position table and
/// the special tokens it must hold.
func checkedMaxLength(_ maxLength: Int, _ config: BertConfig, minimum: Int) throws -> Int {
  guard maxLength <= config.maxPositionEmbeddings else {
    throw TrainingError.invalidSetting(
      "max length \(maxLength) exceeds the model's \(config.maxPositionEmbeddings) positions (max_position_embeddings)"
    )
  }
  guard maxLength >= minimum else {
    throw TrainingError.invalidSetting(
      "max length \(maxLength) leaves no room for text beside the \(minimum - 1) special tokens")
  }
  return maxLength
}
