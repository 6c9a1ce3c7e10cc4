import BERTAssets
import Foundation
import Testing

@testable import BERT

/// `tokenizer.json` against transformers' fast tokenizer loaded from the same
/// file (`scripts/fixtures/make_fast_tokenizer_fixtures.py`): ids, token
/// types, offsets, and the masks where padded, over the whole tokenizer corpus
/// in five configurations of MiniLM's file, a Chinese vocabulary, and five
/// other pipelines.
struct FastTokenizerParityTests {
  /// One record of `fast-cases.jsonl` or `variants-cases.jsonl`.
  struct Record: Decodable {
    struct Window: Decodable {
      var inputIds: [Int]
      var tokenTypeIds: [Int]
      var sequenceIds: [Int?]
      var offsets: [[Int]]
    }
    var kind: String
    var configs: [String]?
    var text: String?
    var pair: String?
    var maxLength: Int?
    var truncation: String?
    var padding: String?
    var inputIds: [Int]?
    var tokenTypeIds: [Int]?
    var offsets: [[Int]]?
    var attentionMask: [Int]?
    var specialTokensMask: [Int]?
    var error: String?
    var question: String?
    var context: String?
    var stride: Int?
    var windows: [Window]?
  }

  static func records(_ name: String) throws -> [Record] {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    let text = try String(contentsOf: ModelFixtures.url("tokenizer/\(name)"), encoding: .utf8)
    // The first line is the header.
    return try text.split(separator: "\n").dropFirst().map {
      try decoder.decode(Record.self, from: Data($0.utf8))
    }
  }

  /// A tokenizer read from `json` alone, as the fixture loaded it.
  static func tokenizer(json: Data) throws -> BertTokenizer {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "fast-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("tokenizer.json")
    try json.write(to: file)
    return try BertTokenizer(tokenizerFile: file)
  }

  /// MiniLM's `tokenizer.json` with the normalizer edited as the fixture's header says.
  static func miniLM(lowercase: Bool, stripAccents: Bool?, chinese: Bool) throws -> BertTokenizer {
    let url = AssetCache.defaultModelDirectory.appendingPathComponent("tokenizer.json")
    var root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    var normalizer = root["normalizer"] as! [String: Any]
    normalizer["lowercase"] = lowercase
    normalizer["strip_accents"] = stripAccents.map { $0 as Any } ?? NSNull()
    normalizer["handle_chinese_chars"] = chinese
    root["normalizer"] = normalizer
    return try tokenizer(json: JSONSerialization.data(withJSONObject: root))
  }

  /// Checks every record of `configuration`; returns how many were compared.
  @discardableResult
  static func check(
    _ records: [Record], configuration: String, tokenizer: BertTokenizer,
    sourceLocation: SourceLocation = #_sourceLocation
  ) -> Int {
    var compared = 0
    for record in records where record.configs?.contains(configuration) == true {
      if record.kind == "windows" {
        let windows = try? tokenizer.encodeWithWindows(
          question: record.question!, context: record.context!, maxLength: record.maxLength!,
          stride: record.stride!)
        #expect(
          windows?.map(\.inputIDs) == record.windows!.map(\.inputIds),
          "\(configuration): windows of \(record.question!)", sourceLocation: sourceLocation)
        #expect(
          windows?.map { $0.offsets.map { [$0.lowerBound, $0.upperBound] } }
            == record.windows!.map(\.offsets), "\(configuration): window offsets",
          sourceLocation: sourceLocation)
        #expect(
          windows?.map(\.sequenceIDs) == record.windows!.map(\.sequenceIds),
          sourceLocation: sourceLocation)
        compared += 1
        continue
      }
      // Not compared: where transformers raises (this package truncates as far
      // as it can instead), and a pair whose second text is empty, which
      // transformers' single-text call drops (its batch call keeps it).
      guard record.error == nil, record.pair != "" else { continue }
      let truncation: Truncation
      switch record.truncation {
      case "longest_first": truncation = .longestFirst
      case "only_first": truncation = .onlyFirst
      case "only_second": truncation = .onlySecond
      default: truncation = .doNotTruncate
      }
      let encoding = tokenizer.encode(
        record.text!, pair: record.pair, maxLength: record.maxLength, truncation: truncation,
        padding: record.padding == "max_length" ? .maxLength : .doNotPad)
      let label =
        "\(configuration): \(String(reflecting: record.text!)) / \(String(reflecting: record.pair))"
      #expect(encoding.inputIDs == record.inputIds!, "\(label) ids", sourceLocation: sourceLocation)
      #expect(
        encoding.tokenTypeIDs == record.tokenTypeIds!, "\(label) types",
        sourceLocation: sourceLocation)
      #expect(
        encoding.offsets.map { [$0.lowerBound, $0.upperBound] } == record.offsets!,
        "\(label) offsets", sourceLocation: sourceLocation)
      if let mask = record.attentionMask {
        #expect(
          encoding.attentionMask == mask, "\(label) attention", sourceLocation: sourceLocation)
      }
      if let mask = record.specialTokensMask {
        #expect(
          encoding.specialTokensMask == mask, "\(label) special tokens",
          sourceLocation: sourceLocation)
      }
      compared += 1
    }
    return compared
  }

  @Test(
    .enabled(if: TokenizerFixtures.hasRealVocabulary, "Skipped: MiniLM is not in the asset cache"),
    arguments: [
      ("uncased", true, Bool?.none, true), ("uncased_keep_accents", true, false, true),
      ("cased", false, nil, true), ("cased_strip_accents", false, true, true),
      ("no_chinese_split", true, nil, false),
    ])
  func miniLMConfigurationsMatchTheFastTokenizer(
    _ configuration: String, _ lowercase: Bool, _ strip: Bool?, _ chinese: Bool
  ) throws {
    let tokenizer = try Self.miniLM(lowercase: lowercase, stripAccents: strip, chinese: chinese)
    let compared = Self.check(
      try Self.records("fast-cases.jsonl"), configuration: configuration, tokenizer: tokenizer)
    #expect(compared > 500, "only \(compared) cases")
  }

  @Test func chineseVocabularyMatchesTheFastTokenizer() throws {
    let tokenizer = try Self.tokenizer(
      json: Data(contentsOf: ModelFixtures.url("tokenizer/cjk/tokenizer.json")))
    let compared = Self.check(
      try Self.records("fast-cases.jsonl"), configuration: "cjk", tokenizer: tokenizer)
    #expect(compared > 100, "only \(compared) cases")
  }

  @Test(arguments: [
    "nfd-lowercase-strip", "nfc-replace-punctuation", "nfkc-whitespace", "bert-processing",
    "added-tokens",
  ])
  func pipelinesMatchTheFastTokenizer(_ variant: String) throws {
    let tokenizer = try Self.tokenizer(
      json: Data(contentsOf: ModelFixtures.url("tokenizer/variants/\(variant)/tokenizer.json")))
    let compared = Self.check(
      try Self.records("variants-cases.jsonl"), configuration: variant, tokenizer: tokenizer)
    #expect(compared > 100, "only \(compared) cases")
  }
}
