import Foundation

/// What can go wrong when a ``BertTokenizer`` reads a model directory or encodes text.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The vocabulary file does not exist or cannot be read.
  case missingVocabulary(file: String)
  /// The vocabulary file holds no token.
  case emptyVocabulary(file: String)
  /// A token appears twice in the vocabulary (lines are 1-based). Hugging Face
  /// keeps the last id; pass `allowDuplicateTokens: true` to do the same.
  case duplicateToken(token: String, file: String, line: Int, firstLine: Int)
  /// A special token that BERT needs ([CLS], [SEP], [PAD] or [UNK]) is not in the vocabulary.
  case missingSpecialToken(token: String, file: String)
  /// `tokenizer_config.json` is not valid JSON, or a key has the wrong type.
  /// `line` is the 1-based line of the offending key, when it is known.
  case malformedConfiguration(file: String, line: Int?, reason: String)
  /// The question leaves no room for a window of context longer than the stride.
  case windowTooSmall(maxLength: Int, questionTokens: Int, stride: Int)

  public var description: String {
    switch self {
    case .missingVocabulary(let file):
      return "The vocabulary file \(file) does not exist or cannot be read."
    case .emptyVocabulary(let file):
      return "The vocabulary file \(file) holds no token."
    case .duplicateToken(let token, let file, let line, let firstLine):
      return
        "The token \"\(token)\" appears twice in \(file): at line \(firstLine) and again at line \(line)."
    case .missingSpecialToken(let token, let file):
      return "The special token \(token) is not in the vocabulary \(file)."
    case .malformedConfiguration(let file, let line, let reason):
      let place = line.map { "\(file), line \($0)" } ?? file
      return "The tokenizer configuration \(place) is malformed: \(reason)."
    case .windowTooSmall(let maxLength, let questionTokens, let stride):
      return
        "A window of \(maxLength) tokens leaves \(maxLength - questionTokens - 3) for the context after "
        + "a question of \(questionTokens) tokens and 3 special tokens, which must be more than the "
        + "stride of \(stride)."
    }
  }
}
