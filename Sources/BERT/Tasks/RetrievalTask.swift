import Foundation

// B batch, N hard negatives in a batch, H hidden, Q evaluation queries,
// D evaluation corpus (the distinct positives).

/// Dense retrieval: a bi-encoder (one shared ``BertModel`` with the model's
/// own pooling, then L2 normalisation) trained with the multiple-negatives
/// ranking loss over in-batch and hard negatives
/// (``multipleNegativesRankingLoss(queries:candidates:scale:symmetric:)``),
/// as sentence-transformers trains one. It saves a sentence-transformers
/// directory: the transformer at the root, `modules.json` (Transformer,
/// Pooling, Normalize), `1_Pooling/config.json`, `2_Normalize/` and
/// `sentence_bert_config.json`.
public final class RetrievalTask: FineTuningTask {
  public private(set) var model: BertModel
  public let tokenizer: BertTokenizer
  /// The pooling of the model's sentence-transformers files; mean without them.
  public let pooling: Pooling
  public let maxLength: Int
  /// Whether the loss adds the positive→query direction.
  public let symmetric: Bool
  /// The inverse temperature of the loss (sentence-transformers' 20).
  public static let scale: Float = 20
  public var scale: Float { Self.scale }
  /// Whether texts are lower-cased before tokenizing (`do_lower_case`).
  let lowercasesInput: Bool
  let sourceDirectory: URL
  private let train: [RetrievalExample]
  private let queries: [Encoding]
  private let positives: [Encoding]
  private let negatives: [[Encoding]]
  private let evaluation: [RetrievalExample]

  /// A bi-encoder on the model in `directory` (a base checkpoint, a
  /// sentence-transformers directory, or a retrieval model to train further).
  ///
  /// - Parameters:
  ///   - train: query–positive pairs, with optional hard negatives.
  ///   - evaluation: held-out pairs scored after each epoch (see ``score(_:batchSize:)``).
  ///   - maxLength: tokens per text, special tokens included.
  ///   - symmetric: add the positive→query direction to the loss.
  /// - Throws: `TrainingError.invalidSetting` for a pooling that does not
  ///   train (max, several modes) or a max length the model cannot take.
  public init(
    directory: URL, train: [RetrievalExample], evaluation: [RetrievalExample] = [],
    maxLength: Int = TaskDefaults.maxLength, symmetric: Bool = false
  ) throws {
    let pipeline = try BertPipeline(directory: directory, precision: .fp32)
    let modes = pipeline.embedding.pooling
    guard modes.count == 1, [.mean, .cls, .meanSqrtLength].contains(modes[0]) else {
      throw TrainingError.invalidSetting(
        "\(directory.path) pools with \(modes.map(\.rawValue).joined(separator: " + ")); "
          + "retrieval trains with one of mean, cls or mean-sqrt-len pooling")
    }
    model = pipeline.model
    tokenizer = pipeline.tokenizer
    pooling = modes[0]
    lowercasesInput = pipeline.embedding.lowercasesInput && !pipeline.tokenizer.doLowerCase
    sourceDirectory = directory
    self.maxLength = try checkedMaxLength(
      maxLength, model.config, minimum: TaskKind.retrieval.definition.minimumLength)
    self.symmetric = symmetric
    self.train = train
    self.evaluation = evaluation
    let limit = self.maxLength
    let lower = lowercasesInput
    let encode = { [tokenizer] (texts: [String]) in
      tokenizer.encodeBatch(lower ? texts.map { $0.lowercased() } : texts, maxLength: limit)
    }
    queries = encode(train.map(\.query))
    positives = encode(train.map(\.positive))
    let flat = encode(train.flatMap(\.negatives))
    var start = 0
    negatives = train.map { example in
      defer { start += example.negatives.count }
      return Array(flat[start..<(start + example.negatives.count)])
    }
  }

  public var namedParameters: [(key: String, parameter: Parameter)] { model.namedParameters }
  public var trainingFeatureCount: Int { train.count }
  public var trainingExampleCount: Int { train.count }
  public var trainingFeatureLengths: [Int] {
    zip(queries, positives).map { $0.inputIDs.count + $1.inputIDs.count }
  }

  /// The examples cut into batches in `order`, none holding a text twice: an
  /// example joins the current batch only when none of its texts (query,
  /// positive, negatives) is already in it, else it waits for a later batch,
  /// as sentence-transformers' `NoDuplicatesBatchSampler`. A duplicate positive
  /// would be a false negative. Deterministic in `order`.
  public func batches(_ order: [Int], batchSize: Int) -> [[Int]] {
    Self.batchesWithoutDuplicates(
      order, batchSize: batchSize,
      texts: { [train] in [train[$0].query, train[$0].positive] + train[$0].negatives })
  }

  /// ``batches(_:batchSize:)`` for examples whose texts `texts` gives.
  static func batchesWithoutDuplicates(
    _ order: [Int], batchSize: Int, texts: (Int) -> [String]
  ) -> [[Int]] {
    var remaining = order
    var batches: [[Int]] = []
    while !remaining.isEmpty {
      var batch: [Int] = []
      var seen = Set<String>()
      var deferred: [Int] = []
      var next = 0
      while next < remaining.count && batch.count < batchSize {
        let index = remaining[next]
        next += 1
        let own = Set(texts(index))
        if seen.isDisjoint(with: own) {
          batch.append(index)
          seen.formUnion(own)
        } else {
          deferred.append(index)
        }
      }
      batches.append(batch)
      remaining = deferred + remaining[next...]
    }
    return batches
  }

  public func loss(features: [Int], context: inout ForwardContext) -> Tensor {
    let q = embed(features.map { queries[$0] }, context: &context)  // [B, H]
    let candidates =
      features.map { positives[$0] } + features.flatMap { negatives[$0] }
    let c = embed(candidates, context: &context)  // [B + N, H]
    return multipleNegativesRankingLoss(
      queries: q, candidates: c, scale: scale, symmetric: symmetric)
  }

  /// Pooled embeddings of encoded texts, recorded for backward (not normalised).
  private func embed(_ encodings: [Encoding], context: inout ForwardContext) -> Tensor {
    let batch = TextBatch(encodings: encodings, paddingID: tokenizer.paddingTokenID)
    let output = model(batch, context: &context)  // hidden [B, T, H]
    return pooledEmbeddings(output, batch: batch, pooling: pooling)  // [B, H]
  }

  /// The model as an inference pipeline that embeds as the saved directory does.
  public var pipeline: BertPipeline {
    BertPipeline(
      model: model, tokenizer: tokenizer,
      embedding: EmbeddingSettings(
        pooling: [pooling], normalize: true, maxLength: maxLength,
        lowercasesInput: lowercasesInput))
  }

  public func evaluate(batchSize: Int) throws -> EvaluationReport? {
    guard !evaluation.isEmpty else { return nil }
    return try score(evaluation, batchSize: batchSize)
  }

  /// Ranks the distinct positives of `examples` for each query, exactly
  /// (``DenseIndex`` over the normalised embeddings), and reports MRR@10 (the
  /// selection metric), Recall@1 and Recall@10 (``RetrievalMetrics``): each
  /// query's one relevant document is its own positive.
  public func score(_ examples: [RetrievalExample], batchSize: Int = 64) throws -> EvaluationReport
  {
    var corpusIndex: [String: Int] = [:]
    var corpus: [String] = []
    let relevant = examples.map { example -> Set<String> in
      if let index = corpusIndex[example.positive] { return [String(index)] }
      corpusIndex[example.positive] = corpus.count
      corpus.append(example.positive)
      return [String(corpus.count - 1)]
    }
    let pipeline = pipeline
    let queries = pipeline.embed(examples.map(\.query), batchSize: batchSize)  // [Q][H]
    let documents = pipeline.embed(corpus, batchSize: batchSize)  // [D][H]
    let index = try DenseIndex(
      vectors: documents, ids: corpus.indices.map(String.init),
      model: .inMemory(pooling: "\(pooling)", normalized: true, dimension: model.config.hiddenSize))
    let rankings = try index.search(queries: queries, topK: 10).map { $0.map(\.id) }
    let metrics = RetrievalMetrics(rankings: rankings, relevant: relevant).named
    return EvaluationReport(
      primaryMetric: Definition.metricNames[0],
      metrics: Dictionary(uniqueKeysWithValues: Definition.metricNames.map { ($0, metrics[$0]!) }),
      exampleCount: examples.count, notes: ["corpus documents": corpus.count])
  }

  public func save(to directory: URL) throws {
    try ModelDirectoryWriter.write(
      config: model.config, architecture: Definition.architecture, labels: nil,
      problemType: nil,
      settings: TaskSettings(task: TaskKind.retrieval.rawValue, maxLength: maxLength),
      parameters: model.namedParameters, tokenizerSource: sourceDirectory, to: directory)
    try writeSentenceTransformersFiles(to: directory)
  }

  /// `modules.json` (Transformer at the root, `1_Pooling`, `2_Normalize`),
  /// the pooling config, the empty Normalize folder and
  /// `sentence_bert_config.json`, each file written atomically.
  func writeSentenceTransformersFiles(to directory: URL) throws {
    let manager = FileManager.default
    func write(_ object: Any, _ path: String) throws {
      let data = try JSONSerialization.data(
        withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
      try data.write(to: directory.appendingPathComponent(path), options: .atomic)
    }
    for folder in ["1_Pooling", "2_Normalize"] {
      try manager.createDirectory(
        at: directory.appendingPathComponent(folder), withIntermediateDirectories: true)
    }
    try write(
      [
        "word_embedding_dimension": model.config.hiddenSize,
        "pooling_mode_cls_token": pooling == .cls,
        "pooling_mode_mean_tokens": pooling == .mean,
        "pooling_mode_max_tokens": false,
        "pooling_mode_mean_sqrt_len_tokens": pooling == .meanSqrtLength,
        "pooling_mode_weightedmean_tokens": false,
        "pooling_mode_lasttoken": false,
        "include_prompt": true,
      ], "1_Pooling/config.json")
    try write(
      ["max_seq_length": maxLength, "do_lower_case": lowercasesInput], "sentence_bert_config.json")
    let modules: [[String: Any]] = [
      ["idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"],
      ["idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"],
      [
        "idx": 2, "name": "2", "path": "2_Normalize",
        "type": "sentence_transformers.models.Normalize",
      ],
    ]
    try write(modules, "modules.json")
  }
}

extension RetrievalTask {
  /// The retrieval task: a bi-encoder, saved as a sentence-transformers directory.
  public struct Definition: TaskDefinition {
    public init() {}
    static let architecture = "BertModel"
    static let metricNames = ["mrr@10", "recall@1", "recall@10"]

    public var kind: TaskKind { .retrieval }
    public var architecture: String { Self.architecture }
    public var hasLabels: Bool { false }
    public var inputDescription: String { "a query or a passage" }
    public var formats: String {
      "TSV, CSV or JSON Lines (.tsv, .csv, .jsonl) with the fields query (or anchor, text_a) "
        + "and positive (or text_b), and optional hard negatives (negative, negative_2, … "
        + "columns; a negatives array in JSON Lines)"
    }
    public var metrics: [String] { Self.metricNames }
    public var selectionMetric: String { Self.metricNames[0] }

    public func accepts(fileExtension: String) -> Bool {
      RetrievalExampleReader.extensions[fileExtension] != nil
    }

    public func read(_ url: URL, requireLabels: Bool, tsvQuoting: TSVQuoting) throws -> (
      TaskExamples, ReadReport
    ) {
      let result = try RetrievalExampleReader.read(contentsOf: url, tsvQuoting: tsvQuoting)
      return (.other(result.examples), result.report)
    }

    /// A base `BertModel` may be for any task: only `bert_swift_task` says retrieval.
    public func isHead(of config: BertConfig, path: String) throws -> Bool { false }

    public func makeTask(
      directory: URL, train: TaskExamples, evaluation: TaskExamples?, setup: FineTuningSetup
    ) throws -> any FineTuningTask {
      try RetrievalTask(
        directory: directory, train: try Self.examples(train),
        evaluation: try evaluation.map(Self.examples) ?? [], maxLength: setup.maxLength,
        symmetric: setup.symmetricLoss)
    }

    public func open(directory: URL, settings: TaskSettings, config: BertConfig, path: String)
      throws -> any FineTunedApplication
    {
      try RetrievalTask(directory: directory, train: [], maxLength: settings.maxLength)
    }

    static func examples(_ examples: TaskExamples) throws -> [RetrievalExample] {
      guard case .other(let items) = examples,
        let pairs = items as? [RetrievalExample] ?? (items.isEmpty ? [] : nil)
      else { throw FineTunedTaskError.dataMismatch(task: TaskKind.retrieval.rawValue) }
      return pairs
    }
  }
}

extension RetrievalTask: FineTunedApplication {
  public var taskKind: TaskKind { .retrieval }
  public var precision: Precision { model.projectionPrecision }
  public func convert(to precision: Precision) throws { try model.convert(to: precision) }

  public func score(
    _ examples: TaskExamples, source: String, batchSize: Int, maxBatchTokens: Int?
  ) throws -> EvaluationReport {
    try score(try Definition.examples(examples), batchSize: batchSize)
  }

  /// Reads one text per line and writes its normalised embedding, `{"embedding":[…]}`.
  public func predict(_ input: PredictionInput) throws {
    let lines = try input.lines("echo 'a query' | bert predict")
    let pipeline = pipeline
    for range in PredictionInput.chunks(lines.lines.count, 1024) {
      let vectors = pipeline.embed(
        Array(lines.lines[range]), batchSize: input.batchSize,
        maxBatchTokens: input.maxBatchTokens)
      input.write(
        vectors.map { OrderedJSON.object([("embedding", .array($0.map { .float($0) }))]).compact })
    }
  }
}
