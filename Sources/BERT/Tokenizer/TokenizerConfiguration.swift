import Foundation

/// The keys of `tokenizer_config.json` that BERT's tokenizer reads, with HF's defaults.
///
/// Special tokens may be written as strings or as HF's `AddedToken` objects
/// (`{"content": "[UNK]", ...}`). A `model_max_length` too large for `Int` (HF
/// writes `1e30` for "no limit") means no limit. Other keys are ignored.
struct TokenizerConfiguration: Decodable {
  var doLowerCase = true  // "do_lower_case"
  var stripAccents: Bool? = nil  // "strip_accents"
  var tokenizeChineseCharacters = true  // "tokenize_chinese_chars"
  var modelMaxLength: Int? = nil  // "model_max_length"
  var classificationToken = "[CLS]"  // "cls_token"
  var separatorToken = "[SEP]"  // "sep_token"
  var paddingToken = "[PAD]"  // "pad_token"
  var unknownToken = "[UNK]"  // "unk_token"
  var maskToken = "[MASK]"  // "mask_token"

  init() {}

  private enum CodingKeys: String, CodingKey {
    case doLowerCase = "do_lower_case"
    case stripAccents = "strip_accents"
    case tokenizeChineseCharacters = "tokenize_chinese_chars"
    case modelMaxLength = "model_max_length"
    case classificationToken = "cls_token"
    case separatorToken = "sep_token"
    case paddingToken = "pad_token"
    case unknownToken = "unk_token"
    case maskToken = "mask_token"
  }

  /// HF's `AddedToken` as serialised: only its text matters here.
  private struct AddedToken: Decodable {
    var content: String
  }

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    func token(_ key: CodingKeys) throws -> String? {
      guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
      if let string = try? container.decode(String.self, forKey: key) { return string }
      return try container.decode(AddedToken.self, forKey: key).content
    }
    doLowerCase = try container.decodeIfPresent(Bool.self, forKey: .doLowerCase) ?? true
    stripAccents = try container.decodeIfPresent(Bool.self, forKey: .stripAccents)
    tokenizeChineseCharacters =
      try container.decodeIfPresent(Bool.self, forKey: .tokenizeChineseCharacters) ?? true
    if let length = try? container.decodeIfPresent(Int.self, forKey: .modelMaxLength) {
      guard length > 0 else {
        throw DecodingError.dataCorruptedError(
          forKey: .modelMaxLength, in: container, debugDescription: "it must be positive")
      }
      modelMaxLength = length
    } else {
      // HF writes int(1e30) for "no limit", which does not fit an Int.
      let length = try container.decodeIfPresent(Double.self, forKey: .modelMaxLength)
      modelMaxLength = length.flatMap { $0 > 0 && $0 < 1e15 ? Int($0) : nil }
    }
    classificationToken = try token(.classificationToken) ?? "[CLS]"
    separatorToken = try token(.separatorToken) ?? "[SEP]"
    paddingToken = try token(.paddingToken) ?? "[PAD]"
    unknownToken = try token(.unknownToken) ?? "[UNK]"
    maskToken = try token(.maskToken) ?? "[MASK]"
  }

  /// Reads the file; a missing file gives the defaults.
  init(contentsOf url: URL) throws(TokenizerError) {
    guard FileManager.default.fileExists(atPath: url.path) else { return }
    let file = url.path
    guard let data = try? Data(contentsOf: url) else {
      throw .malformedConfiguration(file: file, line: nil, reason: "it cannot be read")
    }
    let text = String(decoding: data, as: UTF8.self)
    do {
      self = try JSONDecoder().decode(Self.self, from: data)
    } catch DecodingError.typeMismatch(_, let context) {
      let key = context.codingPath.first?.stringValue ?? ""
      throw .malformedConfiguration(
        file: file, line: Self.line(of: key, in: text),
        reason: "\"\(key)\" has the wrong type (\(context.debugDescription))")
    } catch DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty {
      let key = context.codingPath.first?.stringValue ?? ""
      throw .malformedConfiguration(
        file: file, line: Self.line(of: key, in: text),
        reason: "\"\(key)\" is invalid (\(context.debugDescription))")
    } catch {
      throw .malformedConfiguration(
        file: file, line: nil, reason: "it is not a valid JSON object (\(Self.explain(error)))")
    }
  }

  private static func explain(_ error: any Error) -> String {
    if case DecodingError.dataCorrupted(let context) = error {
      let underlying = context.underlyingError.map { " \($0)" } ?? ""
      return context.debugDescription + underlying
    }
    return "\(error)"
  }

  /// The 1-based line on which `"key"` first appears in the JSON text.
  private static func line(of key: String, in text: String) -> Int? {
    guard let range = text.range(of: "\"\(key)\"") else { return nil }
    return text[..<range.lowerBound].reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
  }
}
