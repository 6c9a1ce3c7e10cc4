import Foundation

// B batch, T tokens, C labels.

/// Single-text or text-pair classification or regression: `[CLS] a [SEP]` or
/// `[CLS] a [SEP] b [SEP]` with segment ids, the pooled `[CLS]` state, and one
/// fully connected layer (``BertForSequenceClassification``). Classification
/// trains with cross-entropy; regression (one output, e.g. a 0–5 similarity)
/// with mean squared error.
public final class TextClassificationTask: FineTuningTask {
  public let kind: TextTaskKind
  public let model: BertForSequenceClassification
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
    maxLength: Int = 128, labels: LabelSet? = nil, head: SequenceClassifierHead? = nil,
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
      maxLength, model.bert.config, minimum: kind.isPair ? 4 : 3)
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

  /// Logits for examples, without dropout or autograd: [N, C] as rows.
  public func logits(_ examples: [TextExample], batchSize: Int = 64) -> [[Float]] {
    batchRanges(examples.count, batchSize).flatMap { range -> [[Float]] in
      let slice = Array(examples[range])
      let encodings = tokenizer.encodeBatch(
        slice.map(\.text), pairs: kind.isPair ? slice.map { $0.pair ?? "" } : nil,
        maxLength: maxLength)
      let batch = TextBatch(encodings: encodings, paddingID: tokenizer.paddingTokenID)
      var context = ForwardContext.inference
      let logits = withoutGradients { model(batch, context: &context) }  // [B, C]
      let c = logits.shape[1]
      return logits.withUnsafeBufferPointer { v in
        (0..<slice.count).map { Array(v[($0 * c)..<(($0 + 1) * c)]) }
      }
    }
  }

  /// Predictions: for classification the label and every label's probability;
  /// for regression the score.
  public func predict(_ examples: [TextExample], batchSize: Int = 64) -> [TextPrediction] {
    logits(examples, batchSize: batchSize).map { row in
      guard let labels else { return TextPrediction(label: nil, probabilities: nil, score: row[0]) }
      let peak = row.max() ?? 0
      let exps = row.map { Foundation.exp(Double($0 - peak)) }
      let total = exps.reduce(0, +)
      let best = row.indices.max { row[$0] < row[$1] } ?? 0
      var probabilities: [String: Double] = [:]
      for (id, value) in exps.enumerated() { probabilities[labels.label(for: id)] = value / total }
      return TextPrediction(
        label: labels.label(for: best), probabilities: probabilities, score: nil)
    }
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
  public func score(_ examples: [TextExample], source: String, batchSize: Int = 64) throws
    -> EvaluationReport
  {
    if let labels {
      let gold = try examples.map { example -> String in
        guard let label = example.label else {
          throw DatasetError.missingValue(file: source, line: example.line, field: "label")
        }
        return label
      }
      let predicted = predict(examples, batchSize: batchSize).map { $0.label! }
      return EvaluationReport(
        primaryMetric: "accuracy",
        metrics: [
          "accuracy": Metrics.accuracy(predictions: predicted, labels: gold),
          "macro_f1": Metrics.macroF1(predictions: predicted, labels: gold),
          "mcc": Metrics.matthewsCorrelation(predictions: predicted, labels: gold),
        ], exampleCount: examples.count, unseenLabels: labels.unknownLabelCounts(in: examples))
    }
    let predictions = predict(examples, batchSize: batchSize)
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
      primaryMetric: "pearson",
      metrics: [
        "pearson": Metrics.pearson(scores, gold), "spearman": Metrics.spearman(scores, gold),
        "mse": mse,
      ], exampleCount: examples.count)
  }

  public func save(to directory: URL) throws {
    try ModelDirectoryWriter.write(
      config: model.bert.config, architecture: "BertForSequenceClassification",
      labels: labels?.labels ?? ["LABEL_0"],
      problemType: labels == nil ? "regression" : "single_label_classification",
      settings: TaskSettings(
        task: kind.rawValue, maxLength: maxLength,
        classifierHead: model.head == .pooler ? nil : model.head.rawValue),
      parameters: model.namedParameters, tokenizerSource: sourceDirectory, to: directory)
  }
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
