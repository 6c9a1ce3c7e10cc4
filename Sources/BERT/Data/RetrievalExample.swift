// Query–positive pairs for retrieval fine-tuning, with optional hard
// negatives, read from TSV, CSV or JSON Lines.

import Foundation

/// One training pair of a bi-encoder: a query, the passage that answers it,
/// and optionally passages that look relevant but are not (hard negatives).
public struct RetrievalExample: Equatable, Sendable {
  public var query: String
  public var positive: String
  /// Hard negatives, in file order; often empty.
  public var negatives: [String]
  /// The 1-based line of the record in its file.
  public var line: Int

  public init(query: String, positive: String, negatives: [String] = [], line: Int = 0) {
    self.query = query
    self.positive = positive
    self.negatives = negatives
    self.line = line
  }
}

/// Reads ``RetrievalExample``s.
///
/// - TSV or CSV: a header row naming the query column (`query`, `anchor` or
///   `text_a`), the positive column (`positive` or `text_b`) and optionally
///   hard-negative columns `negative`, `negative_2`, `negative_3`, … (an empty
///   cell is no negative).
/// - JSON Lines: one object per line with the same keys; hard negatives are a
///   `negatives` array of strings (or a single `negative` string).
///
/// Every error names the file and the line: a query without a positive, a
/// value that is not a string, a missing column, an empty file.
public enum RetrievalExampleReader {
  public static let queryNames = ["query", "anchor", "text_a"]
  public static let positiveNames = ["positive", "text_b"]
  /// The JSON Lines key of the hard-negative array.
  public static let negativesKey = "negatives"
  /// The extensions the reader accepts, with their format.
  public static let extensions: [String: TextFileFormat] = [
    "tsv": .tsv, "csv": .csv, "jsonl": .jsonLines, "json": .jsonLines, "ndjson": .jsonLines,
  ]

  /// Whether `name` (trimmed, lower-cased) names a hard-negative column:
  /// `negative` or `negative_N`.
  static func isNegativeColumn(_ name: String) -> Bool {
    if name == "negative" { return true }
    guard name.hasPrefix("negative_") else { return false }
    return Int(name.dropFirst("negative_".count)) != nil
  }

  /// Reads a file, choosing the format by its extension.
  public static func read(contentsOf url: URL, tsvQuoting: TSVQuoting = .auto) throws
    -> ReadResult<RetrievalExample>
  {
    guard let format = extensions[url.pathExtension.lowercased()] else {
      throw DatasetError.unsupportedFormat(
        file: url.path, accepted: extensions.keys.sorted().map { "." + $0 })
    }
    return try read(
      bytes: TextFile.bytes(of: url), format: format, source: url.path, tsvQuoting: tsvQuoting)
  }

  /// Reads the bytes of a file named `source` (for messages).
  public static func read(
    bytes: [UInt8], format: TextFileFormat, source: String, tsvQuoting: TSVQuoting = .auto
  ) throws -> ReadResult<RetrievalExample> {
    let body = try TextFile.text(of: bytes, file: source)
    var report = ReadReport(source: source)
    var examples: [RetrievalExample] = []
    func make(query: String, positive: String, negatives: [String], line: Int) throws
      -> RetrievalExample
    {
      guard !query.allSatisfy(\.isWhitespace) else {
        throw DatasetError.missingValue(file: source, line: line, field: "query")
      }
      guard !positive.allSatisfy(\.isWhitespace) else {
        throw DatasetError.missingValue(file: source, line: line, field: "positive")
      }
      return RetrievalExample(
        query: query, positive: positive,
        negatives: negatives.filter { !$0.allSatisfy(\.isWhitespace) }, line: line)
    }
    switch format {
    case .csv, .tsv:
      let records: [DelimitedRecord]
      if format == .csv {
        records = try DelimitedText.parseCSV(body, file: source)
      } else {
        let reading = try DelimitedText.parseTSV(body, quoting: tsvQuoting, file: source)
        records = reading.records
        if reading.unquotedFields > 0 {
          report.repair(ReadReport.unquotedField, reading.unquotedFields)
        }
      }
      guard let headerIndex = records.firstIndex(where: { !$0.isBlank }) else {
        throw DatasetError.emptyFile(file: source)
      }
      report.skip(ReadReport.blankLine, headerIndex)
      let header = records[headerIndex]
      let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
      func find(_ accepted: [String], role: String) throws -> Int {
        for name in accepted { if let index = names.firstIndex(of: name) { return index } }
        throw DatasetError.missingField(
          file: source, line: header.line, role: role, accepted: accepted, found: header.fields)
      }
      let query = try find(queryNames, role: "query")
      let positive = try find(positiveNames, role: "positive")
      let negatives = names.indices.filter { isNegativeColumn(names[$0]) }
      for record in records[(headerIndex + 1)...] {
        if record.isBlank {
          report.skip(ReadReport.blankLine)
          continue
        }
        guard record.fields.count == header.fields.count else {
          throw DatasetError.wrongFieldCount(
            file: source, line: record.line, expected: header.fields.count,
            found: record.fields.count)
        }
        examples.append(
          try make(
            query: record.fields[query], positive: record.fields[positive],
            negatives: negatives.map { record.fields[$0] }, line: record.line))
      }
    case .jsonLines:
      for line in TextFile.lines(body) {
        if line.text.allSatisfy(\.isWhitespace) {
          report.skip(ReadReport.blankLine)
          continue
        }
        let object = try JSONValue.parseObject(line.text, file: source, line: line.number)
        func string(_ accepted: [String], role: String) throws -> String {
          guard let key = accepted.first(where: { object[$0] != nil }) else {
            throw DatasetError.missingField(
              file: source, line: line.number, role: role, accepted: accepted,
              found: object.keys.sorted())
          }
          switch object[key]! {
          case .string(let text): return text
          case .null: return ""
          case let value:
            throw DatasetError.malformedJSON(
              file: source, line: line.number, path: key,
              reason: "expected a string, found \(value.typeName)")
          }
        }
        var negatives: [String] = []
        if let value = object[negativesKey] ?? object["negative"] {
          let key = object[negativesKey] != nil ? negativesKey : "negative"
          let items: [JSONValue]
          switch value {
          case .array(let array): items = array
          case .string: items = [value]
          case .null: items = []
          default:
            throw DatasetError.malformedJSON(
              file: source, line: line.number, path: key,
              reason: "expected an array of strings, found \(value.typeName)")
          }
          negatives = try items.enumerated().map { index, item in
            guard case .string(let text) = item else {
              throw DatasetError.malformedJSON(
                file: source, line: line.number, path: "\(key)[\(index)]",
                reason: "expected a string, found \(item.typeName)")
            }
            return text
          }
        }
        examples.append(
          try make(
            query: string(queryNames, role: "query"),
            positive: string(positiveNames, role: "positive"), negatives: negatives,
            line: line.number))
      }
    }
    guard !examples.isEmpty else { throw DatasetError.emptyFile(file: source) }
    report.examples = examples.count
    return ReadResult(examples: examples, report: report)
  }
}
