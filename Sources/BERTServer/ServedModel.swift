import BERT
import Foundation

/// The one model a server runs, opened as what its directory holds: a
/// fine-tuned task (text classification or regression, tagging, question
/// answering) or, without a fine-tuned head, an encoder for embeddings.
final class ServedModel: @unchecked Sendable {
  /// What the model does.
  enum Kind {
    case embedding(BertPipeline)
    case text(TextClassificationTask)
    case tagging(TaggingTask)
    case questionAnswering(QuestionAnsweringTask)
  }

  let kind: Kind
  /// The task name `/info` and the errors give: `embedding`, or a ``TaskKind`` name.
  let taskName: String
  /// Whether a text task may read pairs (a pair task, or a head saved by
  /// transformers, whose config does not say).
  let readsPairs: Bool
  /// Whether a text task must read pairs.
  let needsPairs: Bool
  let precision: Precision

  /// - Throws: the library's errors for a directory that cannot be opened.
  init(directory: URL, precision: Precision?) throws {
    let application: any FineTunedApplication
    do {
      application = try FineTunedTask.openApplication(directory: directory, precision: precision)
    } catch FineTunedTaskError.notFineTuned {
      let pipeline = try BertPipeline(directory: directory, precision: precision)
      kind = .embedding(pipeline)
      self.precision = pipeline.precision
      taskName = "embedding"
      (needsPairs, readsPairs) = (false, false)
      return
    }
    self.precision = application.precision
    taskName = application.taskKind.rawValue
    switch application.fineTunedTask {
    case .text(let task)?:
      kind = .text(task)
      needsPairs = task.kind.isPair
      let saved = try TaskSettings.read(directory: directory)
      readsPairs = task.kind.isPair || saved == nil
    case .tagging(let task)?:
      kind = .tagging(task)
      (needsPairs, readsPairs) = (false, false)
    case .questionAnswering(let task)?:
      kind = .questionAnswering(task)
      (needsPairs, readsPairs) = (false, false)
    case nil:
      throw FineTunedTaskError.noCase(task: application.taskKind.rawValue)
    }
  }

  var tokenizer: BertTokenizer {
    switch kind {
    case .embedding(let pipeline): pipeline.tokenizer
    case .text(let task): task.tokenizer
    case .tagging(let task): task.tokenizer
    case .questionAnswering(let task): task.tokenizer
    }
  }

  var config: BertConfig {
    switch kind {
    case .embedding(let pipeline): pipeline.model.config
    case .text(let task): task.model.bert.config
    case .tagging(let task): task.model.bert.config
    case .questionAnswering(let task): task.model.bert.config
    }
  }

  /// The longest input in tokens (special tokens included); longer inputs are
  /// refused unless the request asks to truncate them.
  var maxLength: Int {
    switch kind {
    case .embedding(let pipeline): pipeline.defaultMaxLength
    case .text(let task): task.maxLength
    case .tagging(let task): task.maxLength
    case .questionAnswering(let task): task.maxLength
    }
  }

  /// The labels in id order; empty for embeddings, regression and QA.
  var labels: [String] {
    switch kind {
    case .text(let task): task.labels?.labels ?? []
    case .tagging(let task): task.labels.labels
    case .embedding, .questionAnswering: []
    }
  }

  /// The pooling modes of an embedding model, and whether it normalises.
  var embeddingSettings: EmbeddingSettings? {
    if case .embedding(let pipeline) = kind { return pipeline.embedding }
    return nil
  }

  /// One forward pass, on the compute thread only: each row's output as floats.
  /// Embeddings: the pooled vector (not normalised); text tasks: the C logits;
  /// tagging: Tᵢ × C logits; QA: Tᵢ start logits then Tᵢ end logits.
  func forward(_ batch: TextBatch) -> [[Float]] {
    switch kind {
    case .embedding(let pipeline):
      let output = pipeline.model(batch)
      return BertPipeline.pool(output, batch: batch, modes: pipeline.embedding.pooling)
    case .text(let task): return task.logits(batch)
    case .tagging(let task): return task.tokenLogits(batch)
    case .questionAnswering(let task): return task.spanLogits(batch).map { $0.start + $0.end }
    }
  }

  /// 400 for an endpoint that does not fit the model: names both.
  func mismatch(_ endpoint: String, needs: String) -> APIError {
    let article = taskName.first.map { "aeiou".contains($0) } == true ? "an" : "a"
    return APIError.badRequest(
      "\(endpoint) needs \(needs); this server runs \(article) \(taskName) model")
  }
}
