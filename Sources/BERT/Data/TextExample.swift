// Sentence and sentence-pair examples for classification and regression, read
// from CSV, TSV or JSON Lines.

import Foundation

/// What a text task predicts, and from one text or a pair.
public enum TextTaskKind: String, CaseIterable, Codable, Sendable {
  /// One text, a class label.
  case classification
  /// Two texts, a class label.
  case pairClassification = "pair-classification"
  /// One text, a real-valued target.
  case regression
  /// Two texts, a real-valued target (as STS-B).
  case pairRegression = "pair-regression"

  /// Whether each example holds two texts.
  public var isPair: Bool { self == .pairClassification || self == .pairRegression }
  /// Whether the target is a number rather than a class.
  public var isRegression: Bool { self == .regression || self == .pairRegression }
}

/// One example of a text task: a text or a pair, with a class label or a
/// regression target (both nil at prediction time).
public struct TextExample: Equatable, Sendable {
  /// The text, or the first text of a pair.
  public var text: String
  /// The second text of a pair.
  public var pair: String?
  /// The class label of a classification example.
  public var label: String?
  /// The target of a regression example.
  public var target: Float?
  /// The 1-based line of the file where the record starts (0 when not read from a file).
  public var line: Int

  public init(
    text: String, pair: String? = nil, label: String? = nil, target: Float? = nil, line: Int = 0
  ) {
    self.text = text
    self.pair = pair
    self.label = label
    self.target = target
    self.line = line
  }
}

/// The layout of a text task file.
public enum TextFileFormat: String, CaseIterable, Sendable {
  /// Comma-separated values (RFC 4180) with a header row.
  case csv
  /// Tab-separated values with a header row; see `TSVQuoting` for its quotes.
  case tsv
  /// One JSON object per line.
  case jsonLines

  /// The extensions each format is recognised by.
  public static let extensions: [String: TextFileFormat] = [
    "csv": .csv, "tsv": .tsv, "jsonl": .jsonLines, "json": .jsonLines, "ndjson": .jsonLines,
  ]

  /// The format of `path`, from its extension (case-insensitive).
  public init(path: String) throws {
    let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
    guard let format = Self.extensions[ext] else {
      throw DatasetError.unsupportedFormat(
        file: path, accepted: Self.extensions.keys.sorted().map { "." + $0 })
    }
    self = format
  }
}

/// Reads `TextExample`s from CSV, TSV or JSON Lines.
///
/// CSV and TSV files start with a header row; JSON Lines records are objects.
/// Column (or key) names are matched case-insensitively after trimming spaces,
/// the first accepted name present wins, and other columns (such as `idx`) are
/// ignored:
/// - one text: `text`, `sentence`;
/// - a pair: `text_a`, `sentence1`, `premise`, `question`, then
///   `text_b`, `sentence2`, `hypothesis`, `sentence` (so QNLI's
///   `question`/`sentence` and MNLI's `premise`/`hypothesis` both read);
/// - the label: `label`; for regression also `score`.
///
/// Labels are trimmed of surrounding white space; texts are kept as written.
/// A regression target must parse as a finite `Float`. Blank lines are skipped
/// and counted in the report.
///
/// CSV fields follow RFC 4180's quoting. TSV quotes are read as `TSVQuoting`
/// says: by default (`.auto`) as Python's `csv` module writes them when the
/// file reads cleanly that way, else literally, as GLUE's TSV files need. The
/// report counts the fields unquoted (`ReadReport.unquotedField`), or notes
/// why a TSV file whose fields start with quotes was read literally.
public enum TextExampleReader {
  /// Column names for the text of a single-text task, in order of preference.
  public static let textNames = ["text", "sentence"]
  /// Column names for the first text of a pair.
  public static let firstTextNames = ["text_a", "sentence1", "premise", "question"]
  /// Column names for the second text of a pair.
  public static let secondTextNames = ["text_b", "sentence2", "hypothesis", "sentence"]
  /// Column names for a class label.
  public static let labelNames = ["label"]
  /// Column names for a regression target.
  public static let targetNames = ["label", "score"]

  /// Reads a file, choosing the format from its extension.
  /// - Parameters:
  ///   - url: the file.
  ///   - task: the task kind, which says which columns are needed.
  ///   - requireLabels: whether every example needs a label or target (false at prediction time).
  ///   - tsvQuoting: how a TSV file's quotes are read (ignored for CSV and JSON Lines).
  public static func read(
    contentsOf url: URL, task: TextTaskKind, requireLabels: Bool = true,
    tsvQuoting: TSVQuoting = .auto
  ) throws -> ReadResult<TextExample> {
    let format = try TextFileFormat(path: url.path)
    let bytes = try TextFile.bytes(of: url)
    return try read(
      bytes: bytes, format: format, source: url.path, task: task, requireLabels: requireLabels,
      tsvQuoting: tsvQuoting)
  }

  /// Reads examples from the bytes of a file; `source` names it in errors.
  /// The parameters are those of `read(contentsOf:task:requireLabels:tsvQuoting:)`.
  public static func read(
    bytes: [UInt8], format: TextFileFormat, source: String, task: TextTaskKind,
    requireLabels: Bool = true, tsvQuoting: TSVQuoting = .auto
  ) throws -> ReadResult<TextExample> {
    let body = try TextFile.text(of: bytes, file: source)
    var report = ReadReport(source: source)
    var examples: [TextExample] = []
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
        if let kept = reading.keptQuotes {
          report.notes.append(
            "read literally, keeping the quotes of \(kept.fields) "
              + (kept.fields == 1 ? "field that starts" : "fields that start")
              + " with \", as the file does not read as csv-quoted TSV (\(kept.reason))")
        }
      }
      guard let headerIndex = records.firstIndex(where: { !$0.isBlank }) else {
        throw DatasetError.emptyFile(file: source)
      }
      report.skip(ReadReport.blankLine, headerIndex)
      let header = records[headerIndex]
      let columns = try Columns(
        names: header.fields, task: task, requireLabels: requireLabels, file: source,
        line: header.line)
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
          try columns.example(
            from: { record.fields[$0] }, task: task, requireLabels: requireLabels, file: source,
            line: record.line))
      }
    case .jsonLines:
      for line in TextFile.lines(body) {
        if line.text.allSatisfy(\.isWhitespace) {
          report.skip(ReadReport.blankLine)
          continue
        }
        let object = try JSONValue.parseObject(line.text, file: source, line: line.number)
        let keys = object.keys.sorted()
        let columns = try Columns(
          names: keys, task: task, requireLabels: requireLabels, file: source, line: line.number)
        examples.append(
          try columns.example(
            from: { index in
              let value = object[keys[index]]!
              if case .string(let s) = value { return s }
              if columns.isLabel(index), let text = value.labelText { return text }
              if case .null = value { return "" }
              throw DatasetError.malformedJSON(
                file: source, line: line.number, path: keys[index],
                reason: "expected a string, found \(value.typeName)")
            }, task: task, requireLabels: requireLabels, file: source, line: line.number))
      }
    }
    guard !examples.isEmpty else { throw DatasetError.emptyFile(file: source) }
    report.examples = examples.count
    return ReadResult(examples: examples, report: report)
  }
}

/// Which field index holds each part of an example.
private struct Columns {
  var text: Int
  var pair: Int?
  var label: Int?
  var names: [String]

  func isLabel(_ index: Int) -> Bool { index == label }

  init(names: [String], task: TextTaskKind, requireLabels: Bool, file: String, line: Int) throws {
    self.names = names
    let normalized = names.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    func find(_ accepted: [String], role: String, excluding: Int? = nil) throws -> Int {
      for name in accepted {
        if let index = normalized.firstIndex(of: name), index != excluding { return index }
      }
      throw DatasetError.missingField(
        file: file, line: line, role: role, accepted: accepted, found: names)
    }
    if task.isPair {
      text = try find(TextExampleReader.firstTextNames, role: "first text")
      pair = try find(TextExampleReader.secondTextNames, role: "second text", excluding: text)
    } else {
      text = try find(TextExampleReader.textNames, role: "text")
      pair = nil
    }
    let labelNames =
      task.isRegression ? TextExampleReader.targetNames : TextExampleReader.labelNames
    do {
      label = try find(labelNames, role: task.isRegression ? "target" : "label")
    } catch {
      if requireLabels { throw error }
      label = nil
    }
  }

  func example(
    from field: (Int) throws -> String, task: TextTaskKind, requireLabels: Bool, file: String,
    line: Int
  ) throws -> TextExample {
    var example = TextExample(text: try field(text), line: line)
    if let pair { example.pair = try field(pair) }
    guard let label else { return example }
    let value = try field(label).trimmingCharacters(in: .whitespacesAndNewlines)
    if value.isEmpty {
      if requireLabels {
        throw DatasetError.missingValue(file: file, line: line, field: names[label])
      }
      return example
    }
    if task.isRegression {
      guard let target = Float(value), target.isFinite else {
        throw DatasetError.invalidNumber(file: file, line: line, field: names[label], value: value)
      }
      example.target = target
    } else {
      example.label = value
    }
    return example
  }
}
