import BERT
import Foundation

extension InferenceServer {
  /// `POST /tokenize`: each text of `inputs` (a string or an array of strings)
  /// as the model's tokenizer encodes it, without truncation:
  /// `{"input_ids", "token_type_ids", "tokens", "offsets"}` per input, offsets
  /// `[start, end]` in Unicode scalars (`[0, 0]` for special tokens), as
  /// `bert tokenize` writes them.
  @Sendable func tokenize(_ request: JSONRequest) async throws -> OrderedJSON {
    let texts = try request.strings("inputs")
    try checkCount(texts.count, field: "inputs")
    let tokenizer = model.tokenizer
    return .array(
      texts.map { text in
        let encoding = tokenizer.encode(text, maxLength: .max, truncation: .doNotTruncate)
        return .object([
          ("input_ids", .ints(encoding.inputIDs)), ("token_type_ids", .ints(encoding.tokenTypeIDs)),
          ("tokens", .strings(encoding.inputIDs.map(tokenizer.token(for:)))),
          ("offsets", .array(encoding.offsets.map { .ints([$0.lowerBound, $0.upperBound]) })),
        ])
      })
  }
}
