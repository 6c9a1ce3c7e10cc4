import Foundation
import Testing

@testable import BERT

/// Reading `tokenizer.json`: what is refused, and with which error.
struct TokenizerFileTests {
  /// A small WordPiece `tokenizer.json` as the `tokenizers` library writes one,
  /// with parts replaceable by raw JSON.
  static func tokenizerJSON(
    model: String? = nil, normalizer: String = #"{"type":"BertNormalizer","lowercase":true}"#,
    preTokenizer: String = #"{"type":"BertPreTokenizer"}"#, postProcessor: String? = nil,
    addedTokens: String? = nil
  ) -> String {
    let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", "!"]
    let vocab = vocabulary.enumerated().map { "\"\($0.element)\":\($0.offset)" }.joined(
      separator: ",")
    let specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].enumerated().map {
      #"{"id":\#($0.offset),"content":"\#($0.element)","single_word":false,"lstrip":false,"#
        + #""rstrip":false,"normalized":false,"special":true}"#
    }.joined(separator: ",")
    let template =
      #"{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},"#
      + #"{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],"#
      + #""pair":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},"#
      + #"{"SpecialToken":{"id":"[SEP]","type_id":0}},{"Sequence":{"id":"B","type_id":1}},"#
      + #"{"SpecialToken":{"id":"[SEP]","type_id":1}}],"special_tokens":{"[CLS]":{"id":"[CLS]","#
      + #""ids":[2],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[3],"tokens":["[SEP]"]}}}"#
    let wordPiece =
      ###"{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","###
      + #""max_input_chars_per_word":100,"vocab":{\#(vocab)}}"#
    return
      #"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[\#(addedTokens ?? specials)],"#
      + #""normalizer":\#(normalizer),"pre_tokenizer":\#(preTokenizer),"#
      + #""post_processor":\#(postProcessor ?? template),"decoder":null,"model":\#(model ?? wordPiece)}"#
  }

  /// A directory holding `files` (name → contents). The caller removes it.
  static func directory(_ files: [String: String]) throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "tokenizer-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    for (name, contents) in files {
      try Data(contents.utf8).write(to: directory.appendingPathComponent(name))
    }
    return directory
  }

  /// The error `tokenizer.json` with `contents` gives, with the path it names.
  static func error(loading contents: String) throws -> (TokenizerError, path: String) {
    let directory = try directory(["tokenizer.json": contents])
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("tokenizer.json").path
    do {
      _ = try BertTokenizer(directory: directory)
    } catch {
      return (error, path)
    }
    Issue.record("the tokenizer loaded")
    return (.emptyVocabulary(file: ""), path)
  }

  @Test func readsTheSmallFile() throws {
    let directory = try Self.directory(["tokenizer.json": Self.tokenizerJSON()])
    defer { try? FileManager.default.removeItem(at: directory) }
    let tokenizer = try BertTokenizer(directory: directory)
    #expect(tokenizer.format == .tokenizerJSON)
    // Hand-derived: lower-cased, "!" split off, "worlds" = world ##s, [MASK] kept whole.
    let encoding = tokenizer.encode("Hello worlds![MASK]", pair: "HELLO")
    #expect(encoding.inputIDs == [2, 5, 6, 7, 8, 4, 3, 5, 3])
    #expect(encoding.tokenTypeIDs == [0, 0, 0, 0, 0, 0, 0, 1, 1])
    #expect(
      encoding.offsets == [0..<0, 0..<5, 6..<11, 11..<12, 12..<13, 13..<19, 0..<0, 0..<5, 0..<0])
    #expect(encoding.specialTokensMask == [1, 0, 0, 0, 0, 0, 1, 0, 1])
  }

  @Test func tokenizerJSONWinsOverVocabularyText() throws {
    // vocab.txt is uncased by default; tokenizer.json says cased: "Hello" is then unknown.
    let vocabulary = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n!\n"
    let cased = Self.tokenizerJSON(normalizer: #"{"type":"BertNormalizer","lowercase":false}"#)
    let directory = try Self.directory(["tokenizer.json": cased, "vocab.txt": vocabulary])
    defer { try? FileManager.default.removeItem(at: directory) }
    let tokenizer = try BertTokenizer(directory: directory)
    #expect(tokenizer.format == .tokenizerJSON)
    #expect(tokenizer.encode("Hello hello").inputIDs == [2, 1, 5, 3])
    try FileManager.default.removeItem(at: directory.appendingPathComponent("tokenizer.json"))
    let fromVocabulary = try BertTokenizer(directory: directory)
    #expect(fromVocabulary.format == .vocabularyText)
    #expect(fromVocabulary.encode("Hello hello").inputIDs == [2, 5, 5, 3])
  }

  @Test func refusesOtherModelsNamingThem() throws {
    let bpe = #"{"type":"BPE","vocab":{"a":0},"merges":[]}"#
    let unigram = #"{"type":"Unigram","unk_id":0,"vocab":[["a",0.0]]}"#
    let untypedBPE = #"{"vocab":{"a":0},"merges":["a b"]}"#
    let untypedUnigram = #"{"vocab":[["a",0.0]]}"#
    for (model, type) in [
      (bpe, "BPE"), (unigram, "Unigram"), (untypedBPE, "BPE"), (untypedUnigram, "Unigram"),
    ] {
      let (error, path) = try Self.error(loading: Self.tokenizerJSON(model: model))
      #expect(error == .unsupportedTokenizerModel(type: type, file: path))
      #expect(error.description.contains("\(type) model"), "\(error)")
      #expect(error.description.contains(path))
    }
  }

  @Test func refusesComponentsItDoesNotImplementNamingWhere() throws {
    let cases: [(json: String, key: String, type: String)] = [
      (
        Self.tokenizerJSON(normalizer: #"{"type":"Precompiled","precompiled_charsmap":""}"#),
        "normalizer", "Precompiled"
      ),
      (
        Self.tokenizerJSON(
          preTokenizer:
            #"{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},{"type":"ByteLevel"}]}"#
        ),
        "pre_tokenizer.pretokenizers[1]", "ByteLevel"
      ),
      (
        Self.tokenizerJSON(postProcessor: #"{"type":"RobertaProcessing"}"#), "post_processor",
        "RobertaProcessing"
      ),
      (
        Self.tokenizerJSON(
          normalizer: #"{"type":"Replace","pattern":{"Regex":"\\s+"},"content":" "}"#),
        "normalizer.pattern", "Regex"
      ),
    ]
    for (json, key, type) in cases {
      let (error, path) = try Self.error(loading: json)
      #expect(error == .unsupportedTokenizerComponent(key: key, type: type, file: path))
    }
  }

  @Test func malformedFilesNameTheKey() throws {
    let cases: [(json: String, key: String?, reason: String)] = [
      ("{ not json", nil, "not JSON"),
      (#"{"added_tokens":[]}"#, "model", "missing"),
      (
        Self.tokenizerJSON(model: #"{"type":"WordPiece","vocab":{"a":"zero"}}"#), "model.vocab.a",
        "expected an integer"
      ),
      (
        Self.tokenizerJSON(
          model: #"{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[UNK]":0,"a":2}}"#,
          addedTokens: ""), "model.vocab", "no token has the id 1"
      ),
      (
        Self.tokenizerJSON(
          model: #"{"type":"WordPiece","vocab":{"[UNK]":0,"a":0}}"#, addedTokens: ""),
        "model.vocab", "the same id 0"
      ),
      (
        Self.tokenizerJSON(normalizer: #"{"type":"BertNormalizer","lowercase":"yes"}"#),
        "normalizer.lowercase", "true or false"
      ),
      (Self.tokenizerJSON(normalizer: #"{"lowercase":true}"#), "normalizer.type", "missing"),
      (
        Self.tokenizerJSON(preTokenizer: #"{"type":"Punctuation","behavior":"Sideways"}"#),
        "pre_tokenizer.behavior", "Sideways"
      ),
      (
        Self.tokenizerJSON(addedTokens: #"{"id":7,"content":"[CLS]"}"#), "added_tokens[0]",
        "is the id of \"##s\""
      ),
    ]
    for (json, key, reason) in cases {
      let (error, path) = try Self.error(loading: json)
      guard case .malformedTokenizerFile(let file, let foundKey, let foundReason) = error else {
        Issue.record("expected a malformed-file error at \(key ?? "the top"), got \(error)")
        continue
      }
      #expect(file == path)
      #expect(foundKey == key, "\(error)")
      #expect(foundReason.contains(reason), "\(error)")
      #expect(error.description.contains(path))
    }
  }

  @Test func aMissingSpecialTokenIsNamed() throws {
    let model = #"{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[PAD]":0,"[UNK]":1,"[SEP]":2}}"#
    let (error, path) = try Self.error(
      loading: Self.tokenizerJSON(model: model, postProcessor: "null", addedTokens: ""))
    #expect(error == .missingSpecialToken(token: "[CLS]", file: path))
  }

  @Test func aDirectoryWithoutTokenizerIsNamed() throws {
    let directory = try Self.directory(["config.json": "{}"])
    defer { try? FileManager.default.removeItem(at: directory) }
    #expect(throws: TokenizerError.missingTokenizer(directory: directory.path)) {
      try BertTokenizer(directory: directory)
    }
  }
}

/// The `tokenizer.json` written for a `vocab.txt` directory against the one
/// transformers 5 saves for the same vocabulary and settings.
struct TokenizerJSONWriterTests {
  /// The fixture's file as a JSON object, and a directory holding its
  /// vocabulary as `vocab.txt` with its `tokenizer_config.json`.
  static func transformersFile(_ head: String) throws -> (expected: NSDictionary, directory: URL) {
    let fixture = ModelFixtures.url("directories/heads/\(head)")
    let data = try Data(contentsOf: fixture.appendingPathComponent("tokenizer.json"))
    let expected = try JSONSerialization.jsonObject(with: data) as! NSDictionary
    let vocabulary = ((expected["model"] as! NSDictionary)["vocab"] as! [String: Int])
      .sorted { $0.value < $1.value }.map(\.key)
    let directory = try TokenizerFileTests.directory([
      "vocab.txt": vocabulary.joined(separator: "\n") + "\n",
      "tokenizer_config.json": try String(
        contentsOf: fixture.appendingPathComponent("tokenizer_config.json"), encoding: .utf8),
    ])
    return (expected, directory)
  }

  @Test(arguments: ["sequence-classification-f32-uncased", "sequence-classification-f32-cased"])
  func writesWhatTransformersWrites(_ head: String) throws {
    let (expected, directory) = try Self.transformersFile(head)
    defer { try? FileManager.default.removeItem(at: directory) }
    let tokenizer = try BertTokenizer(directory: directory)
    #expect(tokenizer.format == .vocabularyText)
    let written = try JSONSerialization.jsonObject(with: tokenizer.vocabularyTokenizerJSON())
    #expect((written as! NSDictionary) == expected)
  }
}
