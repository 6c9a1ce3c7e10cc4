import BERT
import Foundation

extension InferenceServer {
  /// `POST /v1/embeddings`, as OpenAI's: `input` a string or an array of
  /// strings; `encoding_format` `float` (default) or `base64` (little-endian
  /// float32); `dimensions` keeps the first n values and scales them to unit
  /// length; `truncate` (an extension) cuts texts over the max length.
  @Sendable func embeddings(_ request: JSONRequest) async throws -> OrderedJSON {
    guard case .embedding(let pipeline) = model.kind else {
      throw model.mismatch("/v1/embeddings", needs: "an embedding model (no fine-tuned head)")
    }
    if case .array(let items)? = request.value("input"), case .array? = items.first {
      throw APIError.unprocessable(
        "\"input\" as token ids is not supported; send a string or an array of strings")
    }
    let texts = try request.strings("input")
    try checkCount(texts.count, field: "input")
    try checkNotEmpty(texts, field: "input")
    let format = try request.string("encoding_format") ?? "float"
    guard ["float", "base64"].contains(format) else {
      throw APIError.unprocessable(
        "\"encoding_format\" must be \"float\" or \"base64\", not \"\(format)\"")
    }
    let width = pipeline.embedding.pooling.count * pipeline.model.config.hiddenSize
    let dimensions = try request.int("dimensions", atLeast: 1)
    if let dimensions, dimensions > width {
      throw APIError.unprocessable(
        "\"dimensions\" is \(dimensions); the model's embeddings have \(width)")
    }
    let truncate = try request.bool("truncate") ?? false
    let encodings = try embeddingEncodings(pipeline, texts, field: "input", truncate: truncate)
    let pooled = try await forward(encodings)
    let tokens = encodings.reduce(0) { $0 + $1.count }
    let data = pooled.enumerated().map { index, vector -> OrderedJSON in
      var embedding = pipeline.embedding.normalize ? BertPipeline.normalized(vector) : vector
      if let dimensions { embedding = BertPipeline.normalized(Array(embedding.prefix(dimensions))) }
      return .object([
        ("object", .string("embedding")), ("index", .int(index)),
        ("embedding", format == "base64" ? .string(Self.base64(embedding)) : .floats(embedding)),
      ])
    }
    return .object([
      ("object", .string("list")), ("data", .array(data)),
      ("model", .string(configuration.modelName)),
      ("usage", .object([("prompt_tokens", .int(tokens)), ("total_tokens", .int(tokens))])),
    ])
  }

  /// Float32 values as little-endian bytes in base64, as OpenAI's `base64` format.
  static func base64(_ values: [Float]) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(values.count * 4)
    for value in values {
      let bits = value.bitPattern.littleEndian
      withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
    }
    return Data(bytes).base64EncodedString()
  }
}
