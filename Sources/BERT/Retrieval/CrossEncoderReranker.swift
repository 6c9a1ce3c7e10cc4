// CrossEncoderReranker: a pair model that rescores a search's first candidates.

import Foundation

/// A pair-classification or pair-regression model used as a cross-encoder:
/// each (query, document) pair is scored by the model, and the candidates are
/// reordered by that score.
///
/// The score of a pair is the logit of a one-output model (regression, as the
/// MS MARCO cross-encoders are), else the softmax probability of the last
/// label (the "relevant" class of a binary pair classifier).
public struct CrossEncoderReranker {
  /// The pair task.
  public let task: TextClassificationTask

  /// Opens the pair model in `directory`.
  /// - Throws: ``FineTunedTaskError`` when the directory is no fine-tuned model, and
  ///   ``RerankerError/notAPairModel(path:task:)`` naming the task it holds otherwise.
  public init(directory: URL, precision: Precision? = nil) throws {
    let opened = try FineTunedTask.open(directory: directory, precision: precision)
    guard case .text(let task) = opened else {
      throw RerankerError.notAPairModel(path: directory.path, task: Self.taskName(opened))
    }
    if task.kind.isPair {
      self.task = task
    } else if Self.recordsItsTask(directory) {
      // Saved by this package as a single-text task: not a cross-encoder.
      throw RerankerError.notAPairModel(path: directory.path, task: task.kind.rawValue)
    } else {
      // A transformers directory does not say whether it reads pairs.
      self.task = task.readingPairs(true)
    }
  }

  /// The candidates' ids reordered by the model's score of (query, text);
  /// ties keep the first-stage order.
  /// - Parameters:
  ///   - query: the query text.
  ///   - candidates: ids and their texts, in first-stage order.
  public func rerank(
    query: String, candidates: [(id: String, text: String)], batchSize: Int = 32,
    maxBatchTokens: Int? = nil
  ) -> [SearchHit] {
    guard !candidates.isEmpty else { return [] }
    let examples = candidates.map { TextExample(text: query, pair: $0.text) }
    let logits = task.logits(examples, batchSize: batchSize, maxBatchTokens: maxBatchTokens)
    let scores = logits.map(Self.score)
    let order = scores.indices.sorted {
      scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1
    }
    return order.map { SearchHit(id: candidates[$0].id, score: scores[$0]) }
  }

  /// A pair's score from its logits: see the type's discussion.
  static func score(_ logits: [Float]) -> Float {
    guard logits.count > 1 else { return logits.first ?? 0 }
    let largest = logits.max()!
    let exponentials = logits.map { Foundation.exp($0 - largest) }
    return exponentials.last! / exponentials.reduce(0, +)
  }

  private static func taskName(_ task: FineTunedTask) -> String {
    switch task {
    case .text(let text): return text.kind.rawValue
    case .tagging: return "tagging"
    case .questionAnswering: return "qa"
    }
  }

  private static func recordsItsTask(_ directory: URL) -> Bool {
    let config = (try? ModelDirectoryLayout.transformerDirectory(of: directory))?
      .appendingPathComponent("config.json")
    guard let config, let data = try? Data(contentsOf: config),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return false }
    return object["bert_swift_task"] != nil
  }
}

/// A model that cannot rerank.
public enum RerankerError: Error, Equatable, CustomStringConvertible {
  /// The directory holds a model of another task than pair classification or regression.
  case notAPairModel(path: String, task: String)

  public var description: String {
    switch self {
    case .notAPairModel(let path, let task):
      return
        "\(path) is a \(task) model; --rerank needs a pair-classification or pair-regression "
        + "model (a cross-encoder)"
    }
  }
}
