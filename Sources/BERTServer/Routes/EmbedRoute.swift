import BERT
import Foundation

extension InferenceServer {
  /// `POST /embed`, as Text Embeddings Inference's: `inputs` a string or an
  /// array of strings, pooled as the model directory says; `normalize`
  /// (default true) scales each vector to unit length, false gives the pooling
  /// as it is; `truncate` (default false) cuts texts over the max length.
  /// Answers one array of floats per input.
  @Sendable func embed(_ request: JSONRequest) async throws -> OrderedJSON {
    guard case .embedding(let pipeline) = model.kind else {
      throw model.mismatch("/embed", needs: "an embedding model (no fine-tuned head)")
    }
    let texts = try request.strings("inputs")
    try checkCount(texts.count, field: "inputs")
    try checkNotEmpty(texts, field: "inputs")
    let normalize = try request.bool("normalize") ?? true
    let truncate = try request.bool("truncate") ?? false
    let encodings = try embeddingEncodings(pipeline, texts, field: "inputs", truncate: truncate)
    let pooled = try await forward(encodings)
    return .array(pooled.map { .floats(normalize ? BertPipeline.normalized($0) : $0) })
  }
}
