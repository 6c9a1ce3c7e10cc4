import BERT
import Foundation

extension InferenceServer {
  /// `POST /tag`: the entities of each text of `inputs` (a string or an array
  /// of strings), grouped as transformers' token-classification pipeline does
  /// with `aggregation_strategy="simple"`: per input, a list of
  /// `{"entity_group", "score", "word", "start", "end"}` with `start`/`end`
  /// Unicode scalar offsets into the text. `truncate` cuts texts over the max length.
  @Sendable func tag(_ request: JSONRequest) async throws -> OrderedJSON {
    guard case .tagging(let task) = model.kind else {
      throw model.mismatch("/tag", needs: "a tagging (token classification) model")
    }
    let texts = try request.strings("inputs")
    try checkCount(texts.count, field: "inputs")
    try checkNotEmpty(texts, field: "inputs")
    let truncate = try request.bool("truncate") ?? false
    let encodings = texts.map(task.entityEncoding)
    if !truncate {
      for (index, encoding) in encodings.enumerated() where encoding.count >= task.maxLength {
        let tokens = task.tokenizer.encode(
          texts[index], maxLength: .max, truncation: .doNotTruncate
        ).count
        if tokens > task.maxLength { throw tooLong(field: "inputs", index: index, tokens: tokens) }
      }
    }
    let logits = try await forward(encodings)
    return .array(
      texts.indices.map { index in
        .array(
          task.entities(text: texts[index], encoding: encodings[index], logits: logits[index]).map {
            entity in
            .object([
              ("entity_group", .string(entity.group)), ("score", .double(entity.score)),
              ("word", .string(entity.word)), ("start", .int(entity.start)),
              ("end", .int(entity.end)),
            ])
          })
      })
  }
}
