import Foundation

// Loading the four heads from a model directory: either a fine-tuned head
// written by this package or transformers, or a base checkpoint on which a new
// head starts from scratch.

extension BertForSequenceClassification {
  /// Loads a sequence-classification (or regression) model directory.
  ///
  /// - Parameters:
  ///   - labelCount: the number of outputs for a new head on a base checkpoint;
  ///     nil takes `num_labels` from `config.json`.
  ///   - head: the layers before `classifier`; nil takes the head the
  ///     checkpoint holds (`cls-mlp` when it has `pre_classifier.*`), else the
  ///     pooler. A fine-tuned checkpoint of the other kind is refused.
  /// - Returns: the model and what loading found; a new head is reported as
  ///   newly initialised, not as missing.
  public static func load(
    directory: URL, labelCount: Int? = nil, head: SequenceClassifierHead? = nil,
    seed: UInt64 = 0, allowingProblems: Bool = false
  ) throws -> (model: BertForSequenceClassification, report: CheckpointLoadReport) {
    try loadHead(
      directory, allowingProblems: allowingProblems,
      expectedNew: ["classifier.", "pre_classifier."]
    ) { config, file, path in
      let holdsMLP = file.names.contains { $0.hasSuffix("pre_classifier.weight") }
      let holdsClassifier = file.names.contains {
        $0 == "classifier.weight" || $0.hasSuffix(".classifier.weight")
      }
      let held: SequenceClassifierHead? =
        holdsMLP ? .clsMLP : holdsClassifier ? .pooler : nil
      if let head, let held, head != held {
        throw CheckpointError.headMismatch(
          file: path, holds: held.rawValue, requested: head.rawValue)
      }
      let chosen = head ?? held ?? .pooler
      return BertForSequenceClassification(
        bert: BertModel(config: config, hasPooler: chosen == .pooler, seed: seed),
        labelCount: labelCount ?? config.headLabelCount ?? 2, head: chosen, seed: seed &+ 1)
    }
  }
}

extension BertForTokenClassification {
  /// Loads a token-classification model directory (see
  /// ``BertForSequenceClassification/load(directory:labelCount:seed:allowingProblems:)``).
  public static func load(
    directory: URL, labelCount: Int? = nil, seed: UInt64 = 0, allowingProblems: Bool = false
  ) throws -> (model: BertForTokenClassification, report: CheckpointLoadReport) {
    try loadHead(directory, allowingProblems: allowingProblems, expectedNew: ["classifier."]) {
      config, _, _ in
      BertForTokenClassification(
        bert: BertModel(config: config, hasPooler: false, seed: seed),
        labelCount: labelCount ?? config.headLabelCount ?? 2, seed: seed &+ 1)
    }
  }
}

extension BertForQuestionAnswering {
  /// Loads a question-answering model directory (see
  /// ``BertForSequenceClassification/load(directory:labelCount:seed:allowingProblems:)``).
  public static func load(
    directory: URL, seed: UInt64 = 0, allowingProblems: Bool = false
  ) throws -> (model: BertForQuestionAnswering, report: CheckpointLoadReport) {
    try loadHead(directory, allowingProblems: allowingProblems, expectedNew: ["qa_outputs."]) {
      config, _, _ in
      BertForQuestionAnswering(
        bert: BertModel(config: config, hasPooler: false, seed: seed), seed: seed &+ 1)
    }
  }
}

/// Opens a model directory, builds a head with `make`, and fills it.
func loadHead<Head: Layer>(
  _ directory: URL, allowingProblems: Bool, expectedNew: [String],
  make: (BertConfig, SafeTensorsCheckpoint, String) throws -> Head
) throws -> (model: Head, report: CheckpointLoadReport) {
  let (config, file, path) = try openModelDirectory(directory)
  return try loadWeights(config: config, file: file, path: path) {
    try make(config, file, path)
  } load: { head, alreadyRead in
    try CheckpointLoader.load(
      head, from: file, path: path, expectedNew: expectedNew,
      allowingProblems: allowingProblems, alreadyRead: alreadyRead)
  }
}
