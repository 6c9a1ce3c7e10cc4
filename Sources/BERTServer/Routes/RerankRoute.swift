import BERT
import Foundation

extension InferenceServer {
  /// `POST /rerank`, as Text Embeddings Inference's: scores every
  /// `(query, texts[i])` pair with a pair model and answers
  /// `[{"index": i, "score": s}]` sorted by score, best first (`"text"` too
  /// with `return_text`). The score is a regression model's value, or a
  /// classification model's probability of `label` (default `entailment` when
  /// the model has it, else its last label).
  @Sendable func rerank(_ request: JSONRequest) async throws -> OrderedJSON {
    guard case .text(let task) = model.kind, model.readsPairs else {
      throw model.mismatch("/rerank", needs: "a pair-classification or pair-regression model")
    }
    let query = try request.requiredString("query")
    guard !query.isEmpty else { throw APIError.unprocessable("\"query\" is an empty string") }
    let texts = try request.strings("texts")
    try checkCount(texts.count, field: "texts")
    try checkNotEmpty(texts, field: "texts")
    let returnText = try request.bool("return_text") ?? false
    let labels = model.labels
    let label =
      try request.string("label") ?? (labels.contains("entailment") ? "entailment" : labels.last)
    if let label, !labels.isEmpty, !labels.contains(label) {
      throw APIError.unprocessable(
        "\"label\" is \"\(label)\"; the model's labels are \(labels.joined(separator: ", "))")
    }
    let reader = task.readingPairs(true)
    let examples = texts.map { TextExample(text: query, pair: $0) }
    let encodings = try textEncodings(
      reader, examples, field: "texts", truncate: try request.bool("truncate") ?? false)
    let logits = try await forward(encodings)
    let scores = logits.map { row -> Double in
      let prediction = reader.prediction(logits: row)
      if let score = prediction.score { return Double(score) }
      return prediction.probabilities?[label ?? ""] ?? 0
    }
    let order = scores.indices.sorted {
      scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1)
    }
    return .array(
      order.map { index in
        var fields: [(String, OrderedJSON)] = [
          ("index", .int(index)), ("score", .double(scores[index])),
        ]
        if returnText { fields.append(("text", .string(texts[index]))) }
        return .object(fields)
      })
  }
}
