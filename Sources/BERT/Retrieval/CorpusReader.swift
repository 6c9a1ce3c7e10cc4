// CorpusReader: documents and queries for indexing, search and evaluation.
//
// Formats (UTF-8; blank lines are skipped but keep their line numbers):
//   - JSON Lines, one object a line: {"id": ..., "text": ...}; queries for
//     evaluation add "relevant": [ids]. An id may be a string or a number.
//     A file is read as JSON Lines when its first non-blank line starts with "{".
//   - plain text, one text a line; the id is the line number, 1-based.
//   - evaluation queries also as TSV: text, then the relevant ids, TAB-separated.

import Foundation

/// A document or query: an id and its text.
public struct IdentifiedText: Equatable, Sendable {
  public var id: String
  public var text: String
  /// The 1-based line of the file it came from.
  public var line: Int

  public init(id: String, text: String, line: Int) {
    self.id = id
    self.text = text
    self.line = line
  }
}

/// A query with the ids of its relevant documents.
public struct JudgedQuery: Equatable, Sendable {
  public var query: IdentifiedText
  public var relevant: [String]

  public init(query: IdentifiedText, relevant: [String]) {
    self.query = query
    self.relevant = relevant
  }
}

/// Reads corpora and query files.
public enum CorpusReader {
  /// The entries of `url`: JSON Lines `{"id","text"}` or one text a line.
  /// - Throws: `RetrievalError` naming the file and line: a bad record, an id
  ///   given twice (with both lines), or no entries at all.
  public static func read(_ url: URL) throws -> [IdentifiedText] {
    try parse(contents(url), file: url.path)
  }

  /// Parses `text` as the contents of `file`: see ``read(_:)``.
  public static func parse(_ text: String, file: String) throws -> [IdentifiedText] {
    try parse(text, file: file, judged: false).map(\.0)
  }

  /// Evaluation queries of `url`: JSON Lines `{"id","text","relevant":[ids]}`,
  /// or TSV `text<TAB>id<TAB>id…` (the id of a TSV query is its line number).
  public static func readJudged(_ url: URL) throws -> [JudgedQuery] {
    try parse(contents(url), file: url.path, judged: true).map {
      JudgedQuery(query: $0.0, relevant: $0.1)
    }
  }

  private static func contents(_ url: URL) throws -> String {
    do { return try String(contentsOf: url, encoding: .utf8) } catch {
      throw RetrievalError.badLine(
        file: url.path, line: 0,
        reason: "cannot be read as UTF-8 text: \(error.localizedDescription)")
    }
  }

  private static func parse(_ text: String, file: String, judged: Bool) throws
    -> [(IdentifiedText, [String])]
  {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
      $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
    }
    let isJSON =
      lines.first { !$0.trimmingCharacters(in: .whitespaces).isEmpty }?
      .trimmingCharacters(in: .whitespaces).hasPrefix("{") ?? false
    var entries: [(IdentifiedText, [String])] = []
    var firstLine: [String: Int] = [:]
    for (offset, raw) in lines.enumerated() {
      let line = offset + 1
      guard !raw.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
      var id = String(line)
      var body = raw
      var relevant: [String] = []
      if isJSON {
        let object = try JSONValue.parseObject(raw, file: file, line: line)
        guard let idValue = object["id"], let idText = idValue.labelText else {
          throw RetrievalError.badLine(
            file: file, line: line, reason: "the record needs an \"id\", a string or a number")
        }
        guard case .string(let textValue) = object["text"] else {
          throw RetrievalError.badLine(
            file: file, line: line, reason: "the record needs a \"text\" string")
        }
        id = idText
        body = textValue
        if judged {
          guard case .array(let values) = object["relevant"],
            let ids = Optional(values.compactMap(\.labelText)), ids.count == values.count,
            !ids.isEmpty
          else {
            throw RetrievalError.badLine(
              file: file, line: line,
              reason: "the query needs \"relevant\", a non-empty array of document ids")
          }
          relevant = ids
        }
      } else if judged {
        let fields = raw.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        relevant = fields.dropFirst().filter { !$0.isEmpty }
        guard !relevant.isEmpty else {
          throw RetrievalError.badLine(
            file: file, line: line,
            reason: "the query needs at least one relevant id after its text, TAB-separated")
        }
        body = fields[0]
      }
      if let first = firstLine[id] {
        throw RetrievalError.duplicateIDInFile(file: file, id: id, firstLine: first, line: line)
      }
      firstLine[id] = line
      entries.append((IdentifiedText(id: id, text: body, line: line), relevant))
    }
    guard !entries.isEmpty else { throw RetrievalError.emptyFile(file: file) }
    return entries
  }
}
