import BERT
import Foundation

extension InferenceServer {
  /// `POST /answer`: extractive question answering. `question` and `context`
  /// are strings; a context longer than a window is read in windows that
  /// share the model's doc stride. Answers the `top_k` (default 1) best spans,
  /// best first: `[{"answer", "score", "start", "end"}]`, `score` the span's
  /// probability over the n-best list and `start`/`end` Unicode scalar offsets
  /// into the context (an empty answer with null offsets when no span qualifies).
  @Sendable func answer(_ request: JSONRequest) async throws -> OrderedJSON {
    guard case .questionAnswering(let task) = model.kind else {
      throw model.mismatch("/answer", needs: "a question-answering model")
    }
    let question = try request.requiredString("question")
    let context = try request.requiredString("context")
    guard !question.isEmpty else { throw APIError.unprocessable("\"question\" is an empty string") }
    guard !context.isEmpty else { throw APIError.unprocessable("\"context\" is an empty string") }
    let topK = try request.int("top_k", atLeast: 1) ?? 1
    guard topK <= 100 else { throw APIError.unprocessable("\"top_k\" is \(topK); at most 100") }
    let windows: [(window: QAWindow, encoding: Encoding)]
    do {
      windows = try task.windows(question: question, context: context)
    } catch let error as TokenizerError {
      throw APIError.unprocessable(
        "the question is too long for the model's max length of \(task.maxLength) tokens: \(error)")
    }
    guard windows.count <= configuration.maxInputs else {
      throw APIError.tooLarge(
        "the context needs \(windows.count) windows of \(task.maxLength) tokens; the limit is "
          + "\(configuration.maxInputs)")
    }
    let rows = try await forward(windows.map(\.encoding))
    let logits = zip(windows, rows).map { window, row in
      let n = window.encoding.count
      return (start: Array(row[0..<n]), end: Array(row[n..<(2 * n)]))
    }
    let answers = try task.answers(
      context: context, windows: windows.map(\.window), logits: logits, topK: topK)
    return .array(
      answers.map { answer in
        .object([
          ("answer", .string(answer.text)), ("score", .double(Double(answer.probability))),
          ("start", answer.scalarRange.map { .int($0.lowerBound) } ?? .null),
          ("end", answer.scalarRange.map { .int($0.upperBound) } ?? .null),
        ])
      })
  }
}
