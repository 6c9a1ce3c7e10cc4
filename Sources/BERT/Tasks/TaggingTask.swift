import Foundation

// B batch, T tokens, C tags.

/// Token tagging (part-of-speech, named entities): every token's last hidden
/// state goes through the same fully connected layer
/// (``BertForTokenClassification``).
///
/// Words are split into WordPiece sub-tokens. The word's tag trains the first
/// sub-token; the others and the special tokens get ``ignoredLabel``, unless
/// `labelAllTokens` labels them too (a `B-X` tag becoming `I-X`). Predictions
/// are read from each word's first sub-token.
public final class TaggingTask: FineTuningTask {
  public private(set) var model: BertForTokenClassification
  public let tokenizer: BertTokenizer
  public let labels: LabelSet
  public let maxLength: Int
  public let labelAllTokens: Bool
  let sourceDirectory: URL
  private let train: [WordAlignedEncoding]
  private let trainLabels: [[Int]]  // [T] per feature
  private let trainSentenceCount: Int
  private let evaluation: [TaggedSentence]
  private let evaluationSource: String
  /// The evaluation sentences' tags that ``labels`` lacks, each with the number
  /// of tokens that carry it; those tokens are scored as errors.
  public let evaluationUnseenLabels: [String: Int]

  /// A new tagging head on the model in `directory` (a base checkpoint or a fine-tuned one).
  ///
  /// - Parameters:
  ///   - train: tagged sentences; their tags fix the tag set (sorted) unless
  ///     `labels` is given.
  ///   - evaluation: held-out sentences scored after each epoch; may be empty.
  ///     It may hold tags that the tag set lacks: their tokens are scored as
  ///     errors and counted in ``evaluationUnseenLabels``.
  ///   - maxLength: tokens per sequence, special tokens included.
  ///   - labels: the tags in output order (a fine-tuned model's `id2label`);
  ///     nil takes the sorted tags of `train`.
  /// - Throws: `DatasetError.unknownLabel` naming `trainSource`, the line and
  ///   the tag when `labels` is given and a training tag is not in it.
  public init(
    directory: URL, train: [TaggedSentence], evaluation: [TaggedSentence] = [],
    maxLength: Int = TaskDefaults.maxLength, labelAllTokens: Bool = false, labels: LabelSet? = nil,
    seed: UInt64 = 42, trainSource: String = "train", evaluationSource: String = "evaluation"
  ) throws {
    let files = try ModelDirectoryLayout.transformerDirectory(of: directory)
    let tokenizer = try BertTokenizer(directory: files)
    self.tokenizer = tokenizer
    sourceDirectory = directory
    let labels = labels ?? LabelSet(sentences: train)
    self.labels = labels
    model = try BertForTokenClassification.load(
      directory: files, labelCount: labels.count, seed: seed
    ).model
    self.maxLength = try checkedMaxLength(
      maxLength, model.bert.config, minimum: Definition().minimumLength)
    self.labelAllTokens = labelAllTokens
    let tagIDs = try labels.ids(for: train, file: trainSource)
    let encoded = train.map {
      WordAlignedEncoding(words: $0.tokens, tokenizer: tokenizer, maxLength: maxLength)
    }
    self.train = encoded
    trainLabels = zip(encoded, tagIDs).map { encoding, tags in
      encoding.wordIndices.enumerated().map { position, word -> Int in
        guard let word else { return ignoredLabel }
        let isFirst = position == 0 || encoding.wordIndices[position - 1] != word
        if isFirst { return tags[word] }
        guard labelAllTokens else { return ignoredLabel }
        let tag = labels.label(for: tags[word])
        if tag.hasPrefix("B-"), let inside = labels.id(for: "I-" + tag.dropFirst(2)) {
          return inside
        }
        return tags[word]
      }
    }
    trainSentenceCount = train.count
    self.evaluation = evaluation
    self.evaluationSource = evaluationSource
    evaluationUnseenLabels = labels.unknownLabelCounts(in: evaluation)
  }

  public var namedParameters: [(key: String, parameter: Parameter)] { model.namedParameters }
  public var trainingFeatureCount: Int { train.count }
  public var trainingExampleCount: Int { trainSentenceCount }
  public var trainingFeatureLengths: [Int] { train.map(\.inputIDs.count) }

  public func lossTermCount(features: [Int]) -> Int {
    features.reduce(0) { count, index in count + trainLabels[index].count { $0 != ignoredLabel } }
  }

  public func loss(features: [Int], context: inout ForwardContext) -> Tensor {
    let batch = makeBatch(features.map { train[$0] })
    let logits = model(batch, context: &context)  // [B, T, C]
    let t = batch.sequenceLength
    let targets = features.flatMap { index -> [Int] in
      trainLabels[index] + Array(repeating: ignoredLabel, count: t - trainLabels[index].count)
    }
    return tokenClassificationLoss(logits: logits, labels: targets)
  }

  /// The predicted tag of every word, and how many words got no prediction
  /// (cut by the maximum length, or empty after cleaning): those get the most
  /// common training tag `O` if it exists, else the first tag.
  public func predict(
    _ sentences: [[String]], batchSize: Int = 64, maxBatchTokens: Int? = nil
  ) -> (tags: [[String]], unpredicted: Int) {
    let fallback = labels.id(for: "O") ?? 0
    let encodings = sentences.map {
      WordAlignedEncoding(words: $0, tokenizer: tokenizer, maxLength: maxLength)
    }
    let batching = Batching(maxSequences: batchSize, maxTokens: maxBatchTokens)
    // Each sentence's tag ids, nil for words without a prediction.
    let predicted = batching.map(lengths: encodings.map(\.inputIDs.count)) { rows -> [[Int?]] in
      let batch = makeBatch(rows.map { encodings[$0] })
      var context = ForwardContext.inference
      let logits = withoutGradients { model(batch, context: &context) }  // [B, T, C]
      let (t, c) = (batch.sequenceLength, logits.shape[2])
      return logits.withUnsafeBufferPointer { values in
        rows.enumerated().map { row, index in
          var tags = [Int?](repeating: nil, count: sentences[index].count)
          for (position, word) in encodings[index].wordIndices.enumerated() {
            guard let word, tags[word] == nil else { continue }
            let scores = values[((row * t + position) * c)..<((row * t + position + 1) * c)]
            tags[word] = scores.indices.max { scores[$0] < scores[$1] }! - (row * t + position) * c
          }
          return tags
        }
      }
    }
    let unpredicted = predicted.reduce(0) { $0 + $1.filter { $0 == nil }.count }
    return (predicted.map { $0.map { labels.label(for: $0 ?? fallback) } }, unpredicted)
  }

  public func evaluate(batchSize: Int) throws -> EvaluationReport? {
    guard !evaluation.isEmpty else { return nil }
    return try score(evaluation, source: evaluationSource, batchSize: batchSize)
  }

  /// Token (word) accuracy, and entity precision, recall and F1 (seqeval
  /// strict, IOB2) when the tags are IOB2.
  ///
  /// A gold tag that ``labels`` lacks cannot be predicted: its tokens count
  /// as wrong, a gold entity of such a type is a false negative, and the report's
  /// ``EvaluationReport/unseenLabels`` says which tags and how many tokens.
  ///
  /// - Throws: `DatasetError.lengthMismatch` naming `source` and the line
  ///   when a sentence has more or fewer tags than tokens.
  public func score(
    _ sentences: [TaggedSentence], source: String, batchSize: Int = 64,
    maxBatchTokens: Int? = nil
  ) throws
    -> EvaluationReport
  {
    for sentence in sentences where sentence.tags.count != sentence.tokens.count {
      throw DatasetError.lengthMismatch(
        file: source, line: sentence.line, tokens: sentence.tokens.count,
        tags: sentence.tags.count)
    }
    let (predicted, unpredicted) = predict(
      sentences.map(\.tokens), batchSize: batchSize, maxBatchTokens: maxBatchTokens)
    let scores = Metrics.tagging(predictions: predicted, labels: sentences.map(\.tags))
    var metrics = ["token_accuracy": scores.tokenAccuracy]
    if let entities = scores.entities {
      metrics["precision"] = entities.precision
      metrics["recall"] = entities.recall
      metrics["f1"] = entities.f1
    }
    return EvaluationReport(
      primaryMetric: scores.entities == nil ? "token_accuracy" : "f1", metrics: metrics,
      exampleCount: sentences.count,
      notes: unpredicted > 0 ? ["words_without_prediction": unpredicted] : [:],
      unseenLabels: labels.unknownLabelCounts(in: sentences))
  }

  public func save(to directory: URL) throws {
    try ModelDirectoryWriter.write(
      config: model.bert.config, architecture: Definition.architecture,
      labels: labels.labels, problemType: nil,
      settings: TaskSettings(
        task: TaskKind.tagging.rawValue, maxLength: maxLength, labelAllTokens: labelAllTokens),
      parameters: model.namedParameters, tokenizerSource: sourceDirectory, to: directory)
  }

  private func makeBatch(_ encodings: [WordAlignedEncoding]) -> TextBatch {
    let t = encodings.map(\.inputIDs.count).max() ?? 0
    let pad = tokenizer.paddingTokenID
    return TextBatch(
      batchSize: encodings.count, sequenceLength: t,
      inputIDs: encodings.flatMap {
        $0.inputIDs + Array(repeating: pad, count: t - $0.inputIDs.count)
      },
      attentionMask: encodings.flatMap {
        Array(repeating: 1, count: $0.inputIDs.count)
          + Array(repeating: 0, count: t - $0.inputIDs.count)
      })
  }
}

extension TaggingTask {
  /// Token tagging with ``BertForTokenClassification``.
  public struct Definition: TaskDefinition {
    public init() {}

    static let architecture = "BertForTokenClassification"

    public var kind: TaskKind { .tagging }
    public var architecture: String { Self.architecture }
    public var hasLabels: Bool { true }
    public var labelledItem: String { "token" }
    public var formats: String {
      "CoNLL columns (token and tag, a blank line between sentences) or JSON Lines "
        + "{\"tokens\":[...],\"tags\":[...]}"
    }
    /// Entity F1 selects the best epoch when the tags are IOB2; else token accuracy.
    public var metrics: [String] { ["token_accuracy", "precision", "recall", "f1"] }
    public var selectionMetric: String { "f1" }

    public func accepts(fileExtension: String) -> Bool { !["csv", "tsv"].contains(fileExtension) }

    public func read(_ url: URL, requireLabels: Bool, tsvQuoting: TSVQuoting) throws -> (
      TaskExamples, ReadReport
    ) {
      let result = try TaggedSentenceReader.read(contentsOf: url, requireTags: requireLabels)
      return (.tagged(result.examples), result.report)
    }

    public func isHead(of config: BertConfig, path: String) throws -> Bool { true }

    public func makeTask(
      directory: URL, train: TaskExamples, evaluation: TaskExamples?, setup: FineTuningSetup
    ) throws -> any FineTuningTask {
      try TaggingTask(
        directory: directory, train: train.sentences, evaluation: evaluation?.sentences ?? [],
        maxLength: setup.maxLength, labelAllTokens: setup.labelAllTokens, labels: setup.labels,
        seed: setup.seed, trainSource: setup.trainSource,
        evaluationSource: setup.evaluationSource)
    }

    public func open(directory: URL, settings: TaskSettings, config: BertConfig, path: String)
      throws -> any FineTunedApplication
    {
      (try TaggingTask(
        directory: directory, train: [], maxLength: settings.maxLength,
        labelAllTokens: settings.labelAllTokens ?? false,
        labels: try FineTunedTask.labelSet(config, path: path)))
    }
  }
}

extension TaggingTask: FineTunedApplication {
  public func convert(to precision: Precision) throws {
    try model.convert(to: precision)
  }

  public var precision: Precision { model.projectionPrecision }

  public var fineTunedTask: FineTunedTask? { .tagging(self) }
  public var taskKind: TaskKind { .tagging }

  public func score(
    _ examples: TaskExamples, source: String, batchSize: Int, maxBatchTokens: Int?
  ) throws -> EvaluationReport {
    guard case .tagged(let sentences) = examples else {
      throw FineTunedTaskError.dataMismatch(task: taskKind.rawValue)
    }
    return try score(
      sentences, source: source, batchSize: batchSize, maxBatchTokens: maxBatchTokens)
  }

  /// Reads one sentence per line (tokens split by white space), JSON Lines
  /// `{"tokens":[...]}`, or a CoNLL file; writes `{"tokens","tags"}`.
  public func predict(_ input: PredictionInput) throws {
    let sentences: [[String]]
    if input.path != nil, !["txt", "text"].contains(input.fileExtension) {
      sentences = try TaggedSentenceReader.read(
        contentsOf: try input.existingFile(), requireTags: false
      ).examples.map(\.tokens)
    } else {
      let lines = try input.lines("echo 'The cat sat .' | bert predict")
      if lines.looksLikeJSONLines {
        sentences = try TaggedSentenceReader.readJSONLines(
          bytes: lines.bytes, source: lines.source, requireTags: false
        ).examples.map(\.tokens)
      } else {
        sentences = lines.lines.map { line in
          line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        }
      }
    }
    for range in PredictionInput.chunks(sentences.count, 1024) {
      let slice = Array(sentences[range])
      let (tags, _) = predict(
        slice, batchSize: input.batchSize, maxBatchTokens: input.maxBatchTokens)
      input.write(
        zip(slice, tags).map { tokens, tags in
          OrderedJSON.object([("tokens", .strings(tokens)), ("tags", .strings(tags))]).compact
        })
    }
  }
}

/// `[CLS] pieces of word 0, pieces of word 1, … [SEP]`, with the word each token
/// came from (nil for the special tokens), cut to `maxLength` tokens.
struct WordAlignedEncoding {
  var inputIDs: [Int]  // [T]
  var wordIndices: [Int?]  // [T]

  init(words: [String], tokenizer: BertTokenizer, maxLength: Int) {
    inputIDs = [tokenizer.classificationTokenID]
    wordIndices = [nil]
    let room = maxLength - 2
    words: for (index, word) in words.enumerated() {
      for piece in tokenizer.tokenize(word) {
        guard inputIDs.count - 1 < room else { break words }
        inputIDs.append(tokenizer.id(for: piece) ?? tokenizer.unknownTokenID)
        wordIndices.append(index)
      }
    }
    inputIDs.append(tokenizer.separatorTokenID)
    wordIndices.append(nil)
  }
}
