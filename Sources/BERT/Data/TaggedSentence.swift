// Token-tagging data: CoNLL columns or JSON Lines `{"tokens": [...], "tags": [...]}`.

import Foundation

/// A sentence of tokens, each with its tag (tags empty at prediction time).
public struct TaggedSentence: Equatable, Sendable {
  public var tokens: [String]
  public var tags: [String]
  /// The 1-based line of the sentence's first token in a CoNLL file, or of
  /// its record in JSON Lines; 0 when not read from a file.
  public var line: Int

  public init(tokens: [String], tags: [String], line: Int = 0) {
    self.tokens = tokens
    self.tags = tags
    self.line = line
  }
}

/// Reads `TaggedSentence`s.
///
/// - CoNLL (any extension other than `.jsonl`/`.json`): one token a line,
///   columns separated by spaces or TABs, the token in the first column and
///   its tag in the last (middle columns, such as CoNLL-2003's POS and chunk
///   tags, are ignored); a blank line ends a sentence; `-DOCSTART-` lines are
///   skipped and counted.
/// - JSON Lines (`.jsonl`, `.json`): `{"tokens": [...], "tags": [...]}`, with
///   `ner_tags`, `pos_tags` or `labels` accepted for `tags`; integer tags are
///   written as decimal strings. Records with no tokens are skipped and counted.
public enum TaggedSentenceReader {
  /// Keys accepted for the tags of a JSON Lines record.
  public static let tagKeys = ["tags", "ner_tags", "pos_tags", "labels"]

  /// Reads a file; `requireTags` false accepts token-only input for prediction.
  public static func read(contentsOf url: URL, requireTags: Bool = true) throws -> ReadResult<
    TaggedSentence
  > {
    let bytes = try TextFile.bytes(of: url)
    let ext = url.pathExtension.lowercased()
    if ext == "jsonl" || ext == "json" || ext == "ndjson" {
      return try readJSONLines(bytes: bytes, source: url.path, requireTags: requireTags)
    }
    return try readCoNLL(bytes: bytes, source: url.path, requireTags: requireTags)
  }

  /// Reads CoNLL columns from the bytes of a file.
  public static func readCoNLL(bytes: [UInt8], source: String, requireTags: Bool = true) throws
    -> ReadResult<TaggedSentence>
  {
    let body = try TextFile.text(of: bytes, file: source)
    var report = ReadReport(source: source)
    var sentences: [TaggedSentence] = []
    var tokens: [String] = []
    var tags: [String?] = []
    var firstLine = 0
    func finish() throws {
      defer {
        tokens.removeAll()
        tags.removeAll()
      }
      guard !tokens.isEmpty else { return }
      let given = tags.compactMap { $0 }
      if !given.isEmpty && given.count != tokens.count {
        throw DatasetError.lengthMismatch(
          file: source, line: firstLine, tokens: tokens.count, tags: given.count)
      }
      sentences.append(TaggedSentence(tokens: tokens, tags: given, line: firstLine))
    }
    for line in TextFile.lines(body) {
      let columns = line.text.unicodeScalars.split(whereSeparator: { $0 == " " || $0 == "\t" })
        .map { String(String.UnicodeScalarView($0)) }
      if columns.isEmpty {
        try finish()
        continue
      }
      if columns[0] == "-DOCSTART-" {
        try finish()
        report.skip(ReadReport.docstartLine)
        continue
      }
      if columns.count < 2 && requireTags {
        throw DatasetError.wrongFieldCount(file: source, line: line.number, expected: 2, found: 1)
      }
      if tokens.isEmpty { firstLine = line.number }
      tokens.append(columns[0])
      tags.append(columns.count >= 2 ? columns[columns.count - 1] : nil)
    }
    try finish()
    guard !sentences.isEmpty else { throw DatasetError.emptyFile(file: source) }
    report.examples = sentences.count
    return ReadResult(examples: sentences, report: report)
  }

  /// Reads JSON Lines records from the bytes of a file.
  public static func readJSONLines(bytes: [UInt8], source: String, requireTags: Bool = true)
    throws -> ReadResult<TaggedSentence>
  {
    let body = try TextFile.text(of: bytes, file: source)
    var report = ReadReport(source: source)
    var sentences: [TaggedSentence] = []
    for line in TextFile.lines(body) {
      if line.text.allSatisfy(\.isWhitespace) {
        report.skip(ReadReport.blankLine)
        continue
      }
      let object = try JSONValue.parseObject(line.text, file: source, line: line.number)
      func strings(_ key: String) throws -> [String] {
        guard case .array(let values) = object[key] else {
          throw DatasetError.malformedJSON(
            file: source, line: line.number, path: key,
            reason: "expected an array, found \(object[key]?.typeName ?? "nothing")")
        }
        return try values.enumerated().map { index, value in
          if case .string(let s) = value { return s }
          if key != "tokens", case .integer(let i) = value { return String(i) }
          throw DatasetError.malformedJSON(
            file: source, line: line.number, path: "\(key)[\(index)]",
            reason: "expected a string, found \(value.typeName)")
        }
      }
      guard object["tokens"] != nil else {
        throw DatasetError.missingField(
          file: source, line: line.number, role: "tokens", accepted: ["tokens"],
          found: object.keys.sorted())
      }
      let tokens = try strings("tokens")
      var tags: [String] = []
      if let key = tagKeys.first(where: { object[$0] != nil }) {
        tags = try strings(key)
        guard tags.count == tokens.count else {
          throw DatasetError.lengthMismatch(
            file: source, line: line.number, tokens: tokens.count, tags: tags.count)
        }
      } else if requireTags {
        throw DatasetError.missingField(
          file: source, line: line.number, role: "tags", accepted: tagKeys,
          found: object.keys.sorted())
      }
      if tokens.isEmpty {
        report.skip(ReadReport.emptySentence)
        continue
      }
      sentences.append(TaggedSentence(tokens: tokens, tags: tags, line: line.number))
    }
    guard !sentences.isEmpty else { throw DatasetError.emptyFile(file: source) }
    report.examples = sentences.count
    return ReadResult(examples: sentences, report: report)
  }
}
