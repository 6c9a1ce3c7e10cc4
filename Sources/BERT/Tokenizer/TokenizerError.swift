import Foundation

/// What can go wrong when a ``BertTokenizer`` reads a model directory or encodes text.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The directory has neither `tokenizer.json` nor `vocab.txt`.
  case missingTokenizer(directory: String)
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
  /// `tokenizer.json` is not valid JSON, or `key` (a path such as
  /// `normalizer.lowercase`) is missing, has the wrong type or is inconsistent.
  case malformedTokenizerFile(file: String, key: String?, reason: String)
  /// `tokenizer.json` holds a model other than WordPiece (BPE, Unigram, WordLevel).
  case unsupportedTokenizerModel(type: String, file: String)
  /// A normalizer, pre-tokenizer or post-processor of `tokenizer.json` that this
  /// package does not implement; `key` says where it is.
  case unsupportedTokenizerComponent(key: String, type: String, file: String)
  /// The question leaves no room for a window of context longer than the stride.
  case windowTooSmall(maxLength: Int, questionTokens: Int, stride: Int)

  public var description: String {
    switch self {
    case .missingTokenizer(let directory):
      return
        "The model directory \(directory) has no tokenizer: it holds neither tokenizer.json "
        + "nor vocab.txt."
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
    case .malformedTokenizerFile(let file, let key, let reason):
      let place = key.map { " at \"\($0)\"" } ?? ""
      return "The tokenizer file \(file) is malformed\(place): \(reason)."
    case .unsupportedTokenizerModel(let type, let file):
      return
        "The tokenizer file \(file) has a \(type) model; this package reads WordPiece "
        + "tokenizers (BERT's) only."
    case .unsupportedTokenizerComponent(let key, let type, let file):
      return
        "The tokenizer file \(file) uses \(type) as its \(key), which this package does not "
        + "implement."
    case .windowTooSmall(let maxLength, let questionTokens, let stride):
      return
        "A window of \(maxLength) tokens leaves \(maxLength - questionTokens - 3) for the context after "
        + "a question of \(questionTokens) tokens and 3 special tokens, which must be more than the "
        + "stride of \(stride)."
    }
  }
}
