import Foundation

/// One fine-tuning application: a head on BERT, its training features, its
/// loss, and how to evaluate and save it. The four applications
/// (``TextClassificationTask``, ``TaggingTask``, ``QuestionAnsweringTask``)
/// implement it; ``Trainer`` runs any of them.
public protocol FineTuningTask: AnyObject {
  /// The model's parameters by checkpoint key: every BERT parameter and the head's.
  var namedParameters: [(key: String, parameter: Parameter)] { get }

  /// The precision of the model's projections; only ``Precision/fp32`` trains.
  var precision: Precision { get }

  /// The number of training features (sequences or QA windows).
  var trainingFeatureCount: Int { get }

  /// The token count of each training feature, for length bucketing.
  var trainingFeatureLengths: [Int] { get }

  /// The number of examples behind the training features (for throughput).
  var trainingExampleCount: Int { get }

  /// The mean loss over the given training features (rank 0, recorded for backward).
  func loss(features: [Int], context: inout ForwardContext) -> Tensor

  /// The number of terms that ``loss(features:context:)`` averages over for
  /// these features: one per feature by default, one per labelled token for
  /// tagging. Data-parallel training weights each rank's share by it.
  func lossTermCount(features: [Int]) -> Int

  /// Scores the evaluation set, or nil when there is none.
  func evaluate(batchSize: Int) throws -> EvaluationReport?

  /// The evaluation set's gold labels that the model's label set lacks, each
  /// with the number of items (tokens for tagging, examples otherwise) that
  /// carry it; they will be scored as errors. Known before training starts, so
  /// a caller can warn early. Empty by default.
  var evaluationUnseenLabels: [String: Int] { get }

  /// The micro-batches of an epoch from its shuffled feature order, at most
  /// `batchSize` features each. By default `order` cut in turn; a task whose
  /// batches must not hold some features together (retrieval: a duplicate
  /// positive) arranges them itself, deterministically in `order`.
  func batches(_ order: [Int], batchSize: Int) -> [[Int]]

  /// Writes a Hugging Face model directory: `config.json`, `model.safetensors`,
  /// `vocab.txt` and `tokenizer_config.json`.
  func save(to directory: URL) throws
}

extension FineTuningTask {
  public var evaluationUnseenLabels: [String: Int] { [:] }
  public var precision: Precision { .fp32 }
  public func lossTermCount(features: [Int]) -> Int { features.count }
  public func batches(_ order: [Int], batchSize: Int) -> [[Int]] {
    stride(from: 0, to: order.count, by: batchSize).map {
      Array(order[$0..<min(order.count, $0 + batchSize)])
    }
  }
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
  /// Gold labels that are not in the model's label set, each with the number
  /// of items that carry it: tokens (words) for tagging, examples for
  /// classification. The model cannot predict such a label, so every such item
  /// is scored as an error, as transformers' evaluation scores it; a gold entity
  /// of such a type is a false negative. Empty when every gold label is known.
  public var unseenLabels: [String: Int]
  /// The epoch (1-based) after which the trainer evaluated, if it did.
  public var epoch: Int?

  public init(
    primaryMetric: String, metrics: [String: Double], exampleCount: Int, notes: [String: Int] = [:],
    unseenLabels: [String: Int] = [:]
  ) {
    self.primaryMetric = primaryMetric
    self.metrics = metrics
    self.exampleCount = exampleCount
    self.notes = notes
    self.unseenLabels = unseenLabels
  }

  /// The value of the primary metric.
  public var primaryScore: Double { metrics[primaryMetric] ?? -.infinity }

  /// The number of items whose gold label the model lacks (the sum of ``unseenLabels``).
  public var unseenLabelItemCount: Int { unseenLabels.values.reduce(0, +) }

  private enum CodingKeys: String, CodingKey {
    case primaryMetric, metrics, exampleCount, notes, unseenLabels, epoch
  }

  /// Decodes a report; `unseenLabels` may be absent (reports saved before it
  /// existed, such as an older checkpoint's trainer state), and then is empty.
  public init(from decoder: Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    primaryMetric = try container.decode(String.self, forKey: .primaryMetric)
    metrics = try container.decode([String: Double].self, forKey: .metrics)
    exampleCount = try container.decode(Int.self, forKey: .exampleCount)
    notes = try container.decode([String: Int].self, forKey: .notes)
    unseenLabels = try container.decodeIfPresent([String: Int].self, forKey: .unseenLabels) ?? [:]
    epoch = try container.decodeIfPresent(Int.self, forKey: .epoch)
  }
}
