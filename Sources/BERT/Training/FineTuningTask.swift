import Foundation

/// One fine-tuning application: a head on BERT, its training features, its
/// loss, and how to evaluate and save it. The four applications
/// (``TextClassificationTask``, ``TaggingTask``, ``QuestionAnsweringTask``)
/// implement it; ``Trainer`` runs any of them.
public protocol FineTuningTask: AnyObject {
  /// The model's parameters by checkpoint key: every BERT parameter and the head's.
  var namedParameters: [(key: String, parameter: Parameter)] { get }

  /// The number of training features (sequences or QA windows).
  var trainingFeatureCount: Int { get }

  /// The token count of each training feature, for length bucketing.
  var trainingFeatureLengths: [Int] { get }

  /// The number of examples behind the training features (for throughput).
  var trainingExampleCount: Int { get }

  /// The mean loss over the given training features (rank 0, recorded for backward).
  func loss(features: [Int], context: inout ForwardContext) -> Tensor

  /// Scores the evaluation set, or nil when there is none.
  func evaluate(batchSize: Int) throws -> EvaluationReport?

  /// Writes a Hugging Face model directory: `config.json`, `model.safetensors`,
  /// `vocab.txt` and `tokenizer_config.json`.
  func save(to directory: URL) throws
}

/// Scores of one evaluation.
public struct EvaluationReport: Codable, Sendable, Equatable {
  /// The metric that selects the best checkpoint, e.g. `accuracy` or `f1`.
  public var primaryMetric: String
  /// Every metric by name, in [0, 1] or [-1, 1], except SQuAD's EM and F1 in [0, 100].
  public var metrics: [String: Double]
  /// The number of evaluation examples.
  public var exampleCount: Int
  /// Counts of what evaluation had to skip or repair, by reason.
  public var notes: [String: Int]
  /// The epoch (1-based) after which the trainer evaluated, if it did.
  public var epoch: Int?

  public init(
    primaryMetric: String, metrics: [String: Double], exampleCount: Int, notes: [String: Int] = [:]
  ) {
    self.primaryMetric = primaryMetric
    self.metrics = metrics
    self.exampleCount = exampleCount
    self.notes = notes
  }

  /// The value of the primary metric.
  public var primaryScore: Double { metrics[primaryMetric] ?? -.infinity }
}
