import Foundation

/// The parts of a Hugging Face `tokenizer.json` (the `tokenizers` library's
/// serialisation) that a BERT tokenizer is made of.
///
/// Read: the `WordPiece` model (`vocab`, `unk_token`,
/// `continuing_subword_prefix`, `max_input_chars_per_word`), the normalizer
/// (`BertNormalizer`, `NFD`, `NFKD`, `NFC`, `NFKC`, `Lowercase`,
/// `StripAccents`, `Replace` with a string pattern, `Strip`, `Prepend`, and a
/// `Sequence` of them), the pre-tokenizer (`BertPreTokenizer`, `Whitespace`,
/// `WhitespaceSplit`, `Punctuation`, `Digits`, and a `Sequence`), the
/// post-processor (`TemplateProcessing`, `BertProcessing`, or none), and
/// `added_tokens`. The file's `truncation` and `padding` are ignored, as
/// transformers ignores them when a call does not ask for them; the decoder is
/// not used. Anything else is refused with an error that names it.
struct TokenizerFile: Sendable {
  /// The token of each id: the model's vocabulary and the added tokens.
  var vocabulary: [String]
  /// The model's own vocabulary, token to id (without added tokens outside it).
  var modelVocabulary: [VocabularyKey: Int]
  var unknownToken: String
  var continuingSubwordPrefix: String
  var maxInputCharactersPerWord: Int
  var normalizer: Normalizer?
  var preTokenizer: PreTokenizer?
  var postProcessor: PostProcessor
  var addedTokens: [AddedToken]

  /// Reads and checks a `tokenizer.json`.
  ///
  /// The file is read with the package's strict JSON parser, which compares
  /// keys byte for byte as the library does: Swift's `String` equality would
  /// merge vocabulary entries such as "Å" (U+212B) and "Å" (U+00C5).
  /// - Throws: ``TokenizerError`` naming the file and the key at fault.
  init(contentsOf url: URL) throws(TokenizerError) {
    let file = url.path
    guard let data = try? Data(contentsOf: url) else { throw .missingVocabulary(file: file) }
    guard String(validating: data, as: UTF8.self) != nil else {
      throw .malformedTokenizerFile(file: file, key: nil, reason: "it is not UTF-8 text")
    }
    let parsed = data.withUnsafeBytes { bytes in
      var parser = JSONParser(bytes: bytes)
      return Result { () throws(JSONParser.Failure) in try parser.parseValue() }
    }
    let root: StrictJSON
    switch parsed {
    case .success(let value): root = value
    case .failure(.syntax(let message)):
      throw .malformedTokenizerFile(file: file, key: nil, reason: "it is not JSON (\(message))")
    case .failure(.duplicateKey(let key)):
      throw .malformedTokenizerFile(
        file: file, key: nil, reason: "the key \"\(key)\" appears twice in one object")
    }
    let reader = Reader(file: file)
    try self.init(root: try reader.object(root, key: ""), reader: reader)
  }

  private init(root: [String: StrictJSON], reader: Reader) throws(TokenizerError) {
    let model = try reader.object(root["model"], key: "model")
    let type = try reader.optionalString(model["type"], key: "model.type")
    // Older files leave out the type: a WordPiece vocabulary is an object and has no merges.
    let vocabularyIsArray: Bool
    if case .array? = model["vocab"] { vocabularyIsArray = true } else { vocabularyIsArray = false }
    switch type {
    case "WordPiece": break
    case nil where !vocabularyIsArray && model["merges"] == nil: break
    case nil:
      throw .unsupportedTokenizerModel(
        type: vocabularyIsArray ? "Unigram" : "BPE", file: reader.file)
    case let other?: throw .unsupportedTokenizerModel(type: other, file: reader.file)
    }
    guard case .object(let entries)? = model["vocab"] else {
      throw reader.fail(
        "model.vocab", model["vocab"] == nil ? "it is missing" : "it is not an object")
    }
    var tokens: [Int: String] = [:]
    tokens.reserveCapacity(entries.count)
    var modelVocabulary: [VocabularyKey: Int] = [:]
    modelVocabulary.reserveCapacity(entries.count)
    for (token, value) in entries {
      let id = try reader.integer(value, key: "model.vocab.\(token)")
      guard id >= 0 else {
        throw reader.fail("model.vocab.\(token)", "the id \(id) is negative")
      }
      if let other = tokens.updateValue(token, forKey: id) {
        throw reader.fail(
          "model.vocab", "the tokens \"\(other)\" and \"\(token)\" have the same id \(id)")
      }
      modelVocabulary[VocabularyKey(token)] = id
    }
    guard !tokens.isEmpty else { throw .emptyVocabulary(file: reader.file) }
    self.modelVocabulary = modelVocabulary
    unknownToken = try reader.optionalString(model["unk_token"], key: "model.unk_token") ?? "[UNK]"
    continuingSubwordPrefix =
      try reader.optionalString(
        model["continuing_subword_prefix"], key: "model.continuing_subword_prefix") ?? "##"
    maxInputCharactersPerWord =
      try reader.optionalInteger(
        model["max_input_chars_per_word"], key: "model.max_input_chars_per_word") ?? 100

    addedTokens = []
    let added = root["added_tokens"].flatMap { $0.isNull ? nil : $0 }
    for (index, value) in try reader.array(added ?? .array([]), key: "added_tokens").enumerated() {
      let key = "added_tokens[\(index)]"
      let object = try reader.object(value, key: key)
      let token = AddedToken(
        content: Array(try reader.string(object["content"], key: key + ".content").unicodeScalars),
        id: try reader.integer(object["id"], key: key + ".id"),
        special: try reader.optionalBool(object["special"], key: key + ".special") ?? false,
        normalized: try reader.optionalBool(object["normalized"], key: key + ".normalized")
          ?? true,
        singleWord: try reader.optionalBool(object["single_word"], key: key + ".single_word")
          ?? false,
        leftStrip: try reader.optionalBool(object["lstrip"], key: key + ".lstrip") ?? false,
        rightStrip: try reader.optionalBool(object["rstrip"], key: key + ".rstrip") ?? false)
      guard !token.content.isEmpty, token.id >= 0 else {
        throw reader.fail(key, "an added token needs a non-empty content and an id")
      }
      let content = String(String.UnicodeScalarView(token.content))
      if let existing = tokens[token.id], !existing.unicodeScalars.elementsEqual(token.content) {
        throw reader.fail(
          key, "the id \(token.id) of \"\(content)\" is the id of \"\(existing)\" in model.vocab")
      }
      tokens[token.id] = content
      addedTokens.append(token)
    }

    let count = (tokens.keys.max() ?? -1) + 1
    guard count == tokens.count else {
      let missing = (0..<count).first { tokens[$0] == nil }!
      throw reader.fail(
        "model.vocab", "the ids are not contiguous: no token has the id \(missing) of 0..<\(count)")
    }
    vocabulary = (0..<count).map { tokens[$0]! }

    normalizer = try root["normalizer"].flatMap { value throws(TokenizerError) in
      value.isNull ? nil : try reader.normalizer(value, key: "normalizer")
    }
    preTokenizer = try root["pre_tokenizer"].flatMap { value throws(TokenizerError) in
      value.isNull ? nil : try reader.preTokenizer(value, key: "pre_tokenizer")
    }
    if let value = root["post_processor"], !value.isNull {
      var tokenIDs: [VocabularyKey: Int] = [:]
      for (id, token) in vocabulary.enumerated() { tokenIDs[VocabularyKey(token)] = id }
      postProcessor = try reader.postProcessor(value, key: "post_processor", ids: tokenIDs)
    } else {
      postProcessor = .none
    }
  }

  /// Typed access to the JSON values, with errors that name the key.
  private struct Reader {
    let file: String

    func fail(_ key: String, _ reason: String) -> TokenizerError {
      .malformedTokenizerFile(file: file, key: key.isEmpty ? nil : key, reason: reason)
    }

    /// An object's members by key (for the small objects around the vocabulary).
    func object(_ value: StrictJSON?, key: String) throws(TokenizerError) -> [String: StrictJSON] {
      guard let value, !value.isNull else { throw fail(key, "it is missing") }
      guard case .object(let members) = value else {
        throw fail(key, "expected an object, found \(value.typeName)")
      }
      return Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    func array(_ value: StrictJSON?, key: String) throws(TokenizerError) -> [StrictJSON] {
      guard let value, !value.isNull else { throw fail(key, "it is missing") }
      guard case .array(let array) = value else {
        throw fail(key, "expected an array, found \(value.typeName)")
      }
      return array
    }

    func string(_ value: StrictJSON?, key: String) throws(TokenizerError) -> String {
      guard let value, !value.isNull else { throw fail(key, "it is missing") }
      guard case .string(let string) = value else {
        throw fail(key, "expected a string, found \(value.typeName)")
      }
      return string
    }

    func optionalString(_ value: StrictJSON?, key: String) throws(TokenizerError) -> String? {
      guard let value, !value.isNull else { return nil }
      return try string(value, key: key)
    }

    func integer(_ value: StrictJSON?, key: String) throws(TokenizerError) -> Int {
      guard let value, !value.isNull else { throw fail(key, "it is missing") }
      guard case .number(let text) = value, let integer = Int(text) else {
        throw fail(key, "expected an integer, found \(value.typeName)")
      }
      return integer
    }

    func optionalInteger(_ value: StrictJSON?, key: String) throws(TokenizerError) -> Int? {
      guard let value, !value.isNull else { return nil }
      return try integer(value, key: key)
    }

    func optionalBool(_ value: StrictJSON?, key: String) throws(TokenizerError) -> Bool? {
      guard let value, !value.isNull else { return nil }
      guard case .bool(let bool) = value else {
        throw fail(key, "expected true or false, found \(value.typeName)")
      }
      return bool
    }

    func type(_ object: [String: StrictJSON], key: String) throws(TokenizerError) -> String {
      try string(object["type"], key: key + ".type")
    }

    func normalizer(_ value: StrictJSON, key: String) throws(TokenizerError) -> Normalizer {
      let object = try self.object(value, key: key)
      let type = try type(object, key: key)
      switch type {
      case "BertNormalizer":
        return .bert(
          cleanText: try optionalBool(object["clean_text"], key: key + ".clean_text") ?? true,
          handleChineseCharacters: try optionalBool(
            object["handle_chinese_chars"], key: key + ".handle_chinese_chars") ?? true,
          stripAccents: try optionalBool(object["strip_accents"], key: key + ".strip_accents"),
          lowercase: try optionalBool(object["lowercase"], key: key + ".lowercase") ?? true)
      case "NFD": return .nfd
      case "NFKD": return .nfkd
      case "NFC": return .nfc
      case "NFKC": return .nfkc
      case "Lowercase": return .lowercase
      case "StripAccents": return .stripAccents
      case "Replace":
        let pattern = try self.object(object["pattern"], key: key + ".pattern")
        guard case .string(let literal)? = pattern["String"] else {
          throw TokenizerError.unsupportedTokenizerComponent(
            key: key + ".pattern", type: "Regex", file: file)
        }
        let content = try string(object["content"], key: key + ".content")
        return .replace(
          pattern: Array(literal.unicodeScalars), content: Array(content.unicodeScalars))
      case "Strip":
        return .strip(
          left: try optionalBool(object["strip_left"], key: key + ".strip_left") ?? true,
          right: try optionalBool(object["strip_right"], key: key + ".strip_right") ?? true)
      case "Prepend":
        return .prepend(Array(try string(object["prepend"], key: key + ".prepend").unicodeScalars))
      case "Sequence":
        let steps = try array(object["normalizers"], key: key + ".normalizers")
        var normalizers: [Normalizer] = []
        for (index, step) in steps.enumerated() {
          normalizers.append(try normalizer(step, key: key + ".normalizers[\(index)]"))
        }
        return .sequence(normalizers)
      default:
        throw .unsupportedTokenizerComponent(key: key, type: type, file: file)
      }
    }

    func preTokenizer(_ value: StrictJSON, key: String) throws(TokenizerError) -> PreTokenizer {
      let object = try self.object(value, key: key)
      let type = try type(object, key: key)
      switch type {
      case "BertPreTokenizer": return .bert
      case "Whitespace": return .whitespace
      case "WhitespaceSplit": return .whitespaceSplit
      case "Punctuation":
        let name = try optionalString(object["behavior"], key: key + ".behavior") ?? "Isolated"
        guard let behavior = SplitBehavior(rawValue: name) else {
          throw fail(key + ".behavior", "\"\(name)\" is not a split behaviour")
        }
        return .punctuation(behavior)
      case "Digits":
        return .digits(
          individual: try optionalBool(object["individual_digits"], key: key + ".individual_digits")
            ?? false)
      case "Sequence":
        let steps = try array(object["pretokenizers"], key: key + ".pretokenizers")
        var preTokenizers: [PreTokenizer] = []
        for (index, step) in steps.enumerated() {
          preTokenizers.append(try preTokenizer(step, key: key + ".pretokenizers[\(index)]"))
        }
        return .sequence(preTokenizers)
      default:
        throw .unsupportedTokenizerComponent(key: key, type: type, file: file)
      }
    }

    func postProcessor(
      _ value: StrictJSON, key: String, ids: [VocabularyKey: Int]
    ) throws(TokenizerError) -> PostProcessor {
      let object = try self.object(value, key: key)
      let type = try type(object, key: key)
      switch type {
      case "BertProcessing":
        func special(_ name: String) throws(TokenizerError) -> Int {
          let pair = try array(object[name], key: key + "." + name)
          guard pair.count == 2, case .string = pair[0] else {
            throw fail(key + "." + name, "expected [token, id]")
          }
          return try integer(pair[1], key: key + "." + name + "[1]")
        }
        return .bert(classification: try special("cls"), separator: try special("sep"))
      case "TemplateProcessing":
        let specials = try self.object(
          object["special_tokens"] ?? .object([]), key: key + ".special_tokens")
        var specialIDs: [String: [Int]] = [:]
        for (name, entry) in specials {
          let entryKey = key + ".special_tokens[\"\(name)\"]"
          let ids = try array(try self.object(entry, key: entryKey)["ids"], key: entryKey + ".ids")
          var values: [Int] = []
          for (index, id) in ids.enumerated() {
            values.append(try integer(id, key: entryKey + ".ids[\(index)]"))
          }
          specialIDs[name] = values
        }
        func template(_ name: String) throws(TokenizerError) -> [PostProcessor.Piece] {
          var pieces: [PostProcessor.Piece] = []
          for (index, element) in try array(object[name], key: key + "." + name)
            .enumerated()
          {
            let pieceKey = key + ".\(name)[\(index)]"
            let piece = try self.object(element, key: pieceKey)
            if let sequence = piece["Sequence"] {
              let body = try self.object(sequence, key: pieceKey + ".Sequence")
              let which = try string(body["id"], key: pieceKey + ".Sequence.id")
              guard which == "A" || which == "B" else {
                throw fail(pieceKey + ".Sequence.id", "expected \"A\" or \"B\", found \"\(which)\"")
              }
              let typeID = try optionalInteger(body["type_id"], key: pieceKey + ".type_id") ?? 0
              pieces.append(.sequence(which == "A" ? 0 : 1, typeID: typeID))
            } else if let special = piece["SpecialToken"] {
              let body = try self.object(special, key: pieceKey + ".SpecialToken")
              let name = try string(body["id"], key: pieceKey + ".SpecialToken.id")
              let typeID = try optionalInteger(body["type_id"], key: pieceKey + ".type_id") ?? 0
              guard let tokenIDs = specialIDs[name] ?? ids[VocabularyKey(name)].map({ [$0] }) else {
                throw fail(
                  pieceKey,
                  "the special token \"\(name)\" is not in special_tokens nor the vocabulary")
              }
              pieces.append(.special(tokenIDs, typeID: typeID))
            } else {
              throw fail(pieceKey, "expected a Sequence or a SpecialToken")
            }
          }
          return pieces
        }
        return PostProcessor(single: try template("single"), pair: try template("pair"))
      default:
        throw .unsupportedTokenizerComponent(key: key, type: type, file: file)
      }
    }
  }
}
