// How the double quotes of a TSV file are read: as Python's csv module and
// pandas write them, literally as in GLUE's files, or chosen per file.

/// How a TSV reader treats double quotes.
///
/// Two kinds of TSV file are common, and they disagree about quotes:
/// - `csv.writer(f, delimiter="\t")` and pandas' `df.to_csv(path, sep="\t")`
///   quote a field that holds a `"`, a TAB, a CR or an LF: they wrap it in `"`
///   and double the quotes inside, and a quoted field may then span lines;
/// - GLUE's files (and most hand-made TSV) have no quoting: each line is a
///   record split at every TAB, and a quote is an ordinary character, as in
///   `"Hello," he said`.
///
/// Line numbers in errors and in `TextExample.line` always name the line a
/// record starts on, also when a quoted field carries it over several lines.
public enum TSVQuoting: String, CaseIterable, Sendable {
  /// Choose per file: csv quoting when the file reads cleanly that way, else
  /// literal. A file is read as csv-quoted when all of these hold:
  /// 1. some field starts with `"`;
  /// 2. every field that starts with `"` is a well-formed quoted field: it
  ///    closes, and the closing quote is followed by a TAB, a line break or
  ///    the end of the file (inside it, quotes come in doubled pairs);
  /// 3. every record then has the header's number of fields;
  /// 4. every quoted field is one a csv writer quotes: its text holds a `"`,
  ///    a TAB, a CR or an LF (what `QUOTE_MINIMAL` quotes), unless every
  ///    field of the header is quoted too (what `QUOTE_ALL` and
  ///    `QUOTE_NONNUMERIC` write);
  /// 5. the quotes do not join lines that are whole records on their own:
  ///    when every line already has the header's number of fields as
  ///    written, a reading in which a quoted field spans lines is refused.
  ///
  /// Otherwise the file is read literally. A GLUE-style field such as
  /// `"Hello," he said` fails rule 2, and `"Yes."` (quoted, yet holding
  /// nothing a writer would quote) fails rule 4. The read's report says which
  /// way was taken: it counts the fields unquoted, or, when a file with
  /// fields that start with a quote was read literally, says why.
  case auto
  /// Quotes are ordinary characters: one record per line, split at every TAB.
  /// (Named `literal` rather than `none`, which reads as `Optional.none`;
  /// its raw value, and the command-line spelling, is `none`.)
  case literal = "none"
  /// Quoting as Python's `csv.reader(f, delimiter="\t")` reads it: a field
  /// that starts with `"` ends at the next lone `"`, `""` inside stands for
  /// one `"`, and TABs and line breaks inside belong to the field (kept as
  /// written: LF or CRLF). A quote inside a field that does not start with
  /// one is an ordinary character. Where Python's reader is lenient, this
  /// one throws `DatasetError.malformedCSV` naming the line: a quoted field
  /// never closed (the line where it opened), or text after a closing quote.
  case csv
}

/// The records of a TSV file and how its quotes were read.
struct TSVReading {
  var records: [DelimitedRecord]
  /// `.csv` or `.literal`: the reading used.
  var quoting: TSVQuoting
  /// Fields read as quoted and unquoted (0 in a literal reading).
  var unquotedFields = 0
  /// In an automatic literal reading of a file with fields that start with a
  /// quote: how many there are, and why the file is not read as csv-quoted.
  var keptQuotes: (fields: Int, reason: String)?
}

extension DelimitedText {
  private static let quoteByte = UInt8(ascii: "\"")
  private static let tabByte = UInt8(ascii: "\t")

  /// Parses TSV with `quoting`; `file` names it in errors.
  static func parseTSV(
    _ bytes: ArraySlice<UInt8>, quoting: TSVQuoting, file: String
  ) throws -> TSVReading {
    switch quoting {
    case .literal:
      return TSVReading(records: parseTSV(bytes), quoting: .literal)
    case .csv:
      let records = try parseCSV(bytes, delimiter: tabByte, file: file)
      return TSVReading(
        records: records, quoting: .csv, unquotedFields: records.reduce(0) { $0 + $1.quoted.count })
    case .auto:
      guard someFieldStartsWithQuote(bytes) else {
        return TSVReading(records: parseTSV(bytes), quoting: .literal)
      }
      // The literal reading is needed only to fall back on, or for rule 5.
      lazy var literal = parseTSV(bytes)
      func literally(_ reason: String) -> TSVReading {
        let startingWithQuote = literal.reduce(0) { count, record in
          count + record.fields.count { $0.utf8.first == quoteByte }
        }
        return TSVReading(
          records: literal, quoting: .literal, keptQuotes: (startingWithQuote, reason))
      }
      let records: [DelimitedRecord]
      do {
        records = try parseCSV(bytes, delimiter: tabByte, file: file)
      } catch let error as DatasetError {
        if case .malformedCSV(_, let line, let reason) = error {
          return literally("line \(line): \(reason)")
        }
        throw error
      }
      let data = records.filter { !$0.isBlank }
      guard let header = data.first else {
        return TSVReading(records: records, quoting: .csv)
      }
      if let record = data.first(where: { $0.fields.count != header.fields.count }) {
        return literally(
          "read that way, the record at line \(record.line) has \(record.fields.count) fields, "
            + "the header \(header.fields.count)")
      }
      if header.quoted.count < header.fields.count {
        for record in data {
          for index in record.quoted where !writerQuotes(record.fields[index], in: record) {
            return literally(
              "line \(record.line): the field \(quotedForMessage(record.fields[index])) is "
                + "quoted, but holds no quote, TAB or line break that a csv writer would quote")
          }
        }
      }
      if let joined = data.first(where: { $0.lastLine > $0.line }) {
        let header = literal.first { !$0.isBlank }
        if let header, literal.allSatisfy({ $0.isBlank || $0.fields.count == header.fields.count })
        {
          return literally(
            "read that way, a quoted field joins lines \(joined.line)-\(joined.lastLine), "
              + "which are whole records as written")
        }
      }
      return TSVReading(
        records: records, quoting: .csv, unquotedFields: records.reduce(0) { $0 + $1.quoted.count })
    }
  }

  /// Whether a `"` starts a field: at the start, or after a TAB or a line break.
  private static func someFieldStartsWithQuote(_ bytes: ArraySlice<UInt8>) -> Bool {
    var previous: UInt8? = nil
    for byte in bytes {
      if byte == quoteByte && (previous == nil || previous == tabByte || previous == 0x0A) {
        return true
      }
      previous = byte
    }
    return false
  }

  /// Whether Python's `csv.writer` (`QUOTE_MINIMAL`, delimiter TAB) quotes
  /// `field`: it holds a quote, a TAB, a CR or an LF, or it is the empty only
  /// field of its record.
  private static func writerQuotes(_ field: String, in record: DelimitedRecord) -> Bool {
    if field.isEmpty { return record.fields.count == 1 }
    return field.utf8.contains { $0 == quoteByte || $0 == tabByte || $0 == 0x0D || $0 == 0x0A }
  }

  /// A field for a message: in quotes, shortened to 40 characters.
  private static func quotedForMessage(_ field: String) -> String {
    let shown = field.count > 40 ? String(field.prefix(40)) + "…" : field
    return "\"\(shown)\""
  }
}
