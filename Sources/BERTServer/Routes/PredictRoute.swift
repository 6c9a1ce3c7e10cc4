import BERT
import Foundation

extension InferenceServer {
  /// `POST /predict`: classification or regression of texts or pairs.
  /// `inputs` is a string, or an array whose items are strings (single texts)
  /// or two-string arrays (pairs; all items of one kind). Answers, per input,
  /// `{"label":..., "probabilities":{label: p, ...}}` (classification) or
  /// `{"score": x}` (regression), as `bert predict` writes them.
  @Sendable func predict(_ request: JSONRequest) async throws -> OrderedJSON {
    guard case .text(let task) = model.kind else {
      throw model.mismatch("/predict", needs: "a classification or regression model")
    }
    let examples = try textExamples(request, field: "inputs")
    let pairs = examples[0].pair != nil
    if pairs && !model.readsPairs {
      throw APIError.unprocessable(
        "\"inputs\" holds pairs; this \(model.taskName) model reads single texts")
    }
    if !pairs && model.needsPairs {
      throw APIError.unprocessable(
        "\"inputs\" holds single texts; this \(model.taskName) model reads pairs [a, b]")
    }
    let reader = task.readingPairs(pairs)
    let encodings = try textEncodings(
      reader, examples, field: "inputs", truncate: try request.bool("truncate") ?? false)
    let logits = try await forward(encodings)
    return .array(logits.map { Self.json(reader.prediction(logits: $0), labels: model.labels) })
  }

  /// A prediction as `bert predict` writes it, the probabilities in label order.
  static func json(_ prediction: TextPrediction, labels: [String]) -> OrderedJSON {
    guard let label = prediction.label, let probabilities = prediction.probabilities else {
      return .object([("score", .float(prediction.score ?? .nan))])
    }
    return .object([
      ("label", .string(label)),
      ("probabilities", .object(labels.map { ($0, .double(probabilities[$0] ?? 0)) })),
    ])
  }

  /// The texts or pairs of `field`, checked: at least one, at most the limit,
  /// none empty, all of one kind.
  func textExamples(_ request: JSONRequest, field: String) throws -> [TextExample] {
    guard let value = request.value(field) else {
      throw request.missing(field, "a string or an array of strings or [a, b] pairs")
    }
    let items: [JSONValue]
    switch value {
    case .string: items = [value]
    case .array(let array): items = array
    default:
      throw request.wrongType(field, value, "a string or an array of strings or [a, b] pairs")
    }
    try checkCount(items.count, field: field)
    let examples = try items.enumerated().map { index, item -> TextExample in
      switch item {
      case .string(let text) where !text.isEmpty: return TextExample(text: text)
      case .array(let parts) where parts.count == 2:
        guard case .string(let a) = parts[0], case .string(let b) = parts[1], !a.isEmpty,
          !b.isEmpty
        else {
          throw APIError.unprocessable("\"\(field)\"[\(index)] must be a pair of non-empty strings")
        }
        return TextExample(text: a, pair: b)
      case .string: throw APIError.unprocessable("\"\(field)\"[\(index)] is an empty string")
      default:
        throw APIError.unprocessable(
          "\"\(field)\"[\(index)] must be a string or a pair [a, b], not \(item.typeName)")
      }
    }
    if let mixed = examples.firstIndex(where: { ($0.pair != nil) != (examples[0].pair != nil) }) {
      throw APIError.unprocessable(
        "\"\(field)\"[\(mixed)] mixes single texts and pairs; send one kind per request")
    }
    return examples
  }

  /// The encodings of text-task inputs; 422 for one over the max length unless `truncate`.
  func textEncodings(
    _ task: TextClassificationTask, _ examples: [TextExample], field: String, truncate: Bool
  ) throws -> [Encoding] {
    let encodings = task.encode(examples)
    if !truncate {
      for (index, encoding) in encodings.enumerated() where encoding.count >= task.maxLength {
        let tokens = task.tokenizer.encode(
          examples[index].text, pair: examples[index].pair, maxLength: .max,
          truncation: .doNotTruncate
        ).count
        if tokens > task.maxLength { throw tooLong(field: field, index: index, tokens: tokens) }
      }
    }
    return encodings
  }
}
