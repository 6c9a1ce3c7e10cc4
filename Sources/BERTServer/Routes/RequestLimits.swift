import BERT
import Foundation

extension InferenceServer {
  /// 422 for no inputs, 413 for more than ``ServerConfiguration/maxInputs``.
  func checkCount(_ count: Int, field: String) throws {
    guard count > 0 else {
      throw APIError.unprocessable("\"\(field)\" is empty; send at least one input")
    }
    guard count <= configuration.maxInputs else {
      throw APIError.tooLarge(
        "\"\(field)\" has \(count) inputs; the limit is \(configuration.maxInputs)")
    }
  }

  /// 422 for an empty text.
  func checkNotEmpty(_ texts: [String], field: String) throws {
    if let index = texts.firstIndex(where: \.isEmpty) {
      throw APIError.unprocessable("\"\(field)\"[\(index)] is an empty string")
    }
  }

  /// 422 for an input of `tokens` tokens over the model's max length.
  func tooLong(field: String, index: Int, tokens: Int) -> APIError {
    APIError.unprocessable(
      "\"\(field)\"[\(index)] has \(tokens) tokens; the model's max length is "
        + "\(model.maxLength) (send \"truncate\": true to cut it)")
  }

  /// The encodings of embedding inputs, cut to the model's length; 422 for a
  /// longer text unless `truncate`.
  func embeddingEncodings(
    _ pipeline: BertPipeline, _ texts: [String], field: String, truncate: Bool
  ) throws -> [Encoding] {
    let limit = model.maxLength
    let encodings = pipeline.encode(texts, maxLength: limit)
    if !truncate {
      for (index, encoding) in encodings.enumerated() where encoding.count >= limit {
        let tokens = pipeline.tokenCount(texts[index])
        if tokens > limit { throw tooLong(field: field, index: index, tokens: tokens) }
      }
    }
    return encodings
  }

  /// The batcher's rows for `encodings`; 499 when the client went away.
  func forward(_ encodings: [Encoding]) async throws -> [[Float]] {
    try await batcher.submit(encodings)
  }
}
