// Errors raised while reading task data, and the report of what a read kept,
// repaired and skipped.

/// A problem in a task data file. Every case names the file and, where there is
/// one, the line (1-based) or the JSON path, so the message can be acted on.
public enum DatasetError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file could not be opened or read.
  case unreadable(file: String, reason: String)
  /// The file's extension is not one the reader knows.
  case unsupportedFormat(file: String, accepted: [String])
  /// The file holds no examples (nothing, only blank lines, or only a header).
  case emptyFile(file: String)
  /// The bytes are not valid UTF-8; `line` is where the first bad byte is.
  case notUTF8(file: String, line: Int)
  /// A column (CSV/TSV header) or key (JSON) the task needs is absent.
  /// `role` says what it was for ("text", "second text", "label"),
  /// `accepted` the names that would do, `found` the names present.
  case missingField(file: String, line: Int, role: String, accepted: [String], found: [String])
  /// A required value is present but empty.
  case missingValue(file: String, line: Int, field: String)
  /// A CSV/TSV record has a different number of fields than the header.
  /// `line` is where the record starts (a quoted field may carry it further).
  case wrongFieldCount(file: String, line: Int, expected: Int, found: Int)
  /// A CSV record, or a TSV record read with csv quoting, breaks RFC 4180: a
  /// quoted field never closed (`line` is where it opened) or text after a
  /// closing quote (`line` is where the quote closed).
  case malformedCSV(file: String, line: Int, reason: String)
  /// A JSON document or JSON line cannot be parsed or has the wrong structure.
  /// `line` is set for JSON Lines, `path` (such as `data[3].paragraphs[0]`) for a document.
  case malformedJSON(file: String, line: Int?, path: String?, reason: String)
  /// A regression target or other number does not parse as a floating-point number.
  case invalidNumber(file: String, line: Int, field: String, value: String)
  /// A label outside a fixed label set: a model's `id2label` when training
  /// data is checked against it, or the labels a data format allows.
  /// (Evaluation data may hold labels a model lacks: those are scored as
  /// errors, see ``EvaluationReport/unseenLabels``.)
  case unknownLabel(label: String, file: String, line: Int, known: [String])
  /// A tagged sentence has a different number of tokens and tags.
  case lengthMismatch(file: String, line: Int, tokens: Int, tags: Int)

  public var description: String {
    switch self {
    case .unreadable(let file, let reason):
      return "Cannot read \(file): \(reason)."
    case .unsupportedFormat(let file, let accepted):
      return "\(file) has an unsupported extension; use one of \(list(accepted))."
    case .emptyFile(let file):
      return "\(file) holds no examples."
    case .notUTF8(let file, let line):
      return "\(file), line \(line): the text is not valid UTF-8."
    case .missingField(let file, let line, let role, let accepted, let found):
      return "\(file), line \(line): no \(role) field; expected one of \(list(accepted)), "
        + "found \(found.isEmpty ? "none" : list(found))."
    case .missingValue(let file, let line, let field):
      return "\(file), line \(line): the field \"\(field)\" is empty."
    case .wrongFieldCount(let file, let line, let expected, let found):
      return "\(file), line \(line): expected \(expected) fields as in the header, found \(found)."
    case .malformedCSV(let file, let line, let reason):
      return "\(file), line \(line): \(reason)."
    case .malformedJSON(let file, let line, let path, let reason):
      var place = file
      if let line { place += ", line \(line)" }
      if let path, !path.isEmpty { place += ", at \(path)" }
      return "\(place): malformed JSON: \(reason)."
    case .invalidNumber(let file, let line, let field, let value):
      return "\(file), line \(line): \"\(value)\" in the field \"\(field)\" is not a number."
    case .unknownLabel(let label, let file, let line, let known):
      return "\(file), line \(line): the label \"\(label)\" is not in the fixed label set "
        + "\(list(known))."
    case .lengthMismatch(let file, let line, let tokens, let tags):
      return "\(file), line \(line): \(tokens) tokens but \(tags) tags."
    }
  }
}

private func list(_ names: [String]) -> String {
  let shown = names.prefix(20).map { "\"\($0)\"" }.joined(separator: ", ")
  return names.count > 20 ? shown + " and \(names.count - 20) more" : shown
}

/// What a reader did with a file: how many examples it returned, and every item
/// it repaired or did not return, counted by reason. Nothing is dropped without
/// a count here.
public struct ReadReport: Equatable, Sendable, CustomStringConvertible {
  /// The file or source the report is about.
  public var source: String
  /// Examples returned.
  public var examples: Int
  /// Items read but not returned, by reason (see the static reason names).
  public var skipped: [String: Int]
  /// Items returned after a repair or a change, by kind.
  public var repaired: [String: Int]
  /// Things a reader decided about the whole file, as sentences (such as why
  /// a TSV file's quotes were kept as text).
  public var notes: [String]

  public init(
    source: String, examples: Int = 0, skipped: [String: Int] = [:],
    repaired: [String: Int] = [:], notes: [String] = []
  ) {
    self.source = source
    self.examples = examples
    self.skipped = skipped
    self.repaired = repaired
    self.notes = notes
  }

  /// Blank lines between records (CSV, TSV, JSON Lines).
  public static let blankLine = "blank line"
  /// A TSV field read as csv-quoted: its quotes removed, `""` read as `"`
  /// (see `TSVQuoting`).
  public static let unquotedField = "csv-quoted TSV field unquoted"
  /// `-DOCSTART-` lines of a CoNLL file.
  public static let docstartLine = "-DOCSTART- line"
  /// A JSON Lines tagging record with no tokens.
  public static let emptySentence = "empty sentence"
  /// A SQuAD answer whose offset was off by at most `SQuADReader.nearbyShift` scalars.
  public static let answerMovedNearby = "answer offset moved nearby"
  /// A SQuAD answer found only further away: moved to its nearest occurrence.
  public static let answerMovedToNearest = "answer offset moved to nearest occurrence"
  /// A SQuAD answer whose text does not occur in the context.
  public static let answerNotFound = "answer text not found in context"
  /// A SQuAD question whose every answer was not found.
  public static let questionWithoutValidAnswer = "question with no answer found in context"

  /// Answers whose offset was corrected (nearby or nearest occurrence).
  public var answersFixed: Int {
    (repaired[Self.answerMovedNearby] ?? 0) + (repaired[Self.answerMovedToNearest] ?? 0)
  }
  /// Answers skipped because their text is not in the context.
  public var answersSkipped: Int { skipped[Self.answerNotFound] ?? 0 }

  package mutating func skip(_ reason: String, _ count: Int = 1) {
    skipped[reason, default: 0] += count
  }

  package mutating func repair(_ kind: String, _ count: Int = 1) {
    repaired[kind, default: 0] += count
  }

  public var description: String {
    var parts = ["\(source): \(examples) examples"]
    for (reason, count) in repaired.sorted(by: { $0.key < $1.key }) {
      parts.append("\(count) \(reason)")
    }
    for (reason, count) in skipped.sorted(by: { $0.key < $1.key }) {
      parts.append("skipped \(count) \(reason)")
    }
    return ([parts.joined(separator: ", ")] + notes).joined(separator: "; ")
  }
}

/// Examples read from a source, with the report of the read.
public struct ReadResult<Example: Sendable>: Sendable {
  public var examples: [Example]
  public var report: ReadReport

  public init(examples: [Example], report: ReadReport) {
    self.examples = examples
    self.report = report
  }
}
