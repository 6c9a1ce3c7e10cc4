import BERTAssets
import Foundation

@testable import BERT

/// The cases written by `scripts/fixtures/make_tokenizer_fixtures.py` into
/// `Fixtures/tokenizer/cases.jsonl`, and where to find the real vocabulary they need.
enum TokenizerFixtures {
  /// The model directory of all-MiniLM-L6-v2 in the asset cache.
  static var modelDirectory: URL { AssetCache.defaultModelDirectory }

  /// Whether the real vocabulary is there; the fixture tests are skipped otherwise.
  static var hasRealVocabulary: Bool {
    FileManager.default.fileExists(
      atPath: modelDirectory.appendingPathComponent("vocab.txt").path)
  }

  struct Header: Decodable {
    var transformers: String
    var tokenizers: String
    var configs: [String: Config]
  }

  struct Config: Decodable {
    var doLowerCase: Bool
    var stripAccents: Bool?
    var tokenizeChineseChars: Bool

    enum CodingKeys: String, CodingKey {
      case doLowerCase = "do_lower_case"
      case stripAccents = "strip_accents"
      case tokenizeChineseChars = "tokenize_chinese_chars"
    }
  }

  /// One `encode` case: a text or a pair, with HF's ids and the fast tokenizer's offsets.
  struct EncodeCase: Decodable {
    var group: String
    var config: String
    var text: String
    var pair: String?
    var maxLength: Int?
    var truncation: String?
    var padding: String?
    var inputIds: [Int]
    var tokenTypeIds: [Int]
    var attentionMask: [Int]?
    var specialTokensMask: [Int]?
    var tokens: [String]
    var offsets: [[Int]]?
    var slowFastAgree: Bool
    var fastInputIds: [Int]?
  }

  /// One question-answering case: the windows of a question and a long context.
  struct WindowsCase: Decodable {
    struct Window: Decodable {
      var inputIds: [Int]
      var tokenTypeIds: [Int]
      var sequenceIds: [Int?]
      var offsets: [[Int]]
    }
    var config: String
    var question: String
    var context: String
    var maxLength: Int
    var stride: Int
    var windows: [Window]
  }

  struct All {
    var header: Header
    var encode: [EncodeCase]
    var windows: [WindowsCase]
  }

  private struct Kind: Decodable {
    var kind: String
  }

  /// Reads every case of the fixture file.
  static func load() throws -> All {
    guard
      let url = Bundle.module.url(
        forResource: "cases", withExtension: "jsonl", subdirectory: "Fixtures/tokenizer")
    else { throw CocoaError(.fileNoSuchFile) }
    let text = try String(contentsOf: url, encoding: .utf8)
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    var header: Header?
    var encode: [EncodeCase] = []
    var windows: [WindowsCase] = []
    for line in text.split(separator: "\n") where !line.isEmpty {
      let data = Data(line.utf8)
      switch try decoder.decode(Kind.self, from: data).kind {
      case "header": header = try JSONDecoder().decode(Header.self, from: data)
      case "encode": encode.append(try decoder.decode(EncodeCase.self, from: data))
      case "windows": windows.append(try decoder.decode(WindowsCase.self, from: data))
      default: continue
      }
    }
    guard let header else { throw CocoaError(.fileReadCorruptFile) }
    return All(header: header, encode: encode, windows: windows)
  }

  /// A tokenizer with the real vocabulary and the settings of a named configuration.
  static func tokenizer(_ config: Config) throws -> BertTokenizer {
    let vocabulary = try BertTokenizer.readVocabulary(
      modelDirectory.appendingPathComponent("vocab.txt"))
    return try BertTokenizer(
      vocabulary: vocabulary,
      doLowerCase: config.doLowerCase, stripAccents: config.stripAccents,
      tokenizeChineseCharacters: config.tokenizeChineseChars, modelMaxLength: 512)
  }
}
