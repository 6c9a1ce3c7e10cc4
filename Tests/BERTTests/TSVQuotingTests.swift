import BERT
import Foundation
import Testing

/// One file of `Fixtures/tsv/reference.json`: the rows Python's `csv.reader`
/// read from it, written by `scripts/fixtures/make_tsv_fixtures.py`.
private struct ReferenceFile {
  var file: String
  var readAs: String
  var rows: [[String]]
  var lines: [Int]
  var quotedFields: Int

  /// The examples of a pair task that these rows stand for: the columns
  /// `text_a`, `text_b` and `label` (trimmed) of every row after the header.
  func examples() throws -> [TextExample] {
    let header = rows[0]
    let a = try #require(header.firstIndex(of: "text_a"))
    let b = try #require(header.firstIndex(of: "text_b"))
    let label = try #require(header.firstIndex(of: "label"))
    return zip(rows.dropFirst(), lines.dropFirst()).map { row, line in
      TextExample(
        text: row[a], pair: row[b],
        label: row[label].trimmingCharacters(in: .whitespacesAndNewlines), line: line)
    }
  }
}

private struct Reference {
  var files: [ReferenceFile]
  var quotesOnlyLiteralRows: [[String]]
  var pandas: String?

  static func load() throws -> Reference {
    let data = try Data(contentsOf: ModelFixtures.url("tsv/reference.json"))
    let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let files = try #require(object["files"] as? [[String: Any]])
    let versions = try #require(object["versions"] as? [String: Any])
    return Reference(
      files: try files.map { file in
        ReferenceFile(
          file: try #require(file["file"] as? String),
          readAs: try #require(file["read_as"] as? String),
          rows: try #require(file["rows"] as? [[String]]),
          lines: try #require(file["lines"] as? [Int]),
          quotedFields: try #require(file["quoted_fields"] as? Int))
      },
      quotesOnlyLiteralRows: try #require(object["quotes_only_literal_rows"] as? [[String]]),
      pandas: versions["pandas"] as? String)
  }

  func file(_ name: String) throws -> ReferenceFile {
    try #require(files.first { $0.file == name }, "\(name) is not in reference.json")
  }
}

private func readFixture(
  _ name: String, _ quoting: TSVQuoting = .auto
) throws -> ReadResult<TextExample> {
  try TextExampleReader.read(
    contentsOf: ModelFixtures.url("tsv/\(name)"), task: .pairClassification,
    tsvQuoting: quoting)
}

private func read(
  _ text: String, _ quoting: TSVQuoting = .auto, task: TextTaskKind = .classification
) throws -> ReadResult<TextExample> {
  try TextExampleReader.read(
    bytes: Array(text.utf8), format: .tsv, source: "data.tsv", task: task, tsvQuoting: quoting)
}

/// The error thrown by `body`, or nil.
private func thrown(_ body: () throws -> Void) -> DatasetError? {
  do {
    try body()
    return nil
  } catch let error as DatasetError {
    return error
  } catch {
    return nil
  }
}

/// TSV quoting: files written by Python's `csv` module and pandas read as
/// `csv.reader` reads them; GLUE-style files, whose quotes are text, read
/// literally as before.
@Suite struct TSVQuotingTests {
  @Test func pythonWrittenFilesReadAsCSVReaderReadsThem() throws {
    let reference = try Reference.load()
    // pandas.tsv exists when pandas was installed where the fixtures were made.
    let expectedFiles =
      ["csv-writer.tsv", "quote-all.tsv", "plain.tsv", "quotes-only.tsv"]
      + (reference.pandas == nil ? [] : ["pandas.tsv"])
    #expect(reference.files.map(\.file).sorted() == expectedFiles.sorted())
    for file in reference.files {
      let result = try readFixture(file.file)
      #expect(result.examples == (try file.examples()), "\(file.file)")
      #expect(result.report.examples == file.rows.count - 1, "\(file.file)")
      let unquoted = result.report.repaired[ReadReport.unquotedField]
      #expect(unquoted == (file.quotedFields == 0 ? nil : file.quotedFields), "\(file.file)")
      // Asking for the reading that auto chose gives the same examples.
      let explicit = try readFixture(file.file, file.readAs == "csv" ? .csv : .literal)
      #expect(explicit.examples == result.examples, "\(file.file)")
    }
    // Every file holds the same rows, whichever way it was written.
    let written = try reference.file("csv-writer.tsv").examples()
    for name in ["quote-all.tsv"] + (reference.pandas == nil ? [] : ["pandas.tsv"]) {
      let examples = try readFixture(name).examples
      #expect(examples.map(\.text) == written.map(\.text), "\(name)")
      #expect(examples.map(\.pair) == written.map(\.pair), "\(name)")
      #expect(examples.map(\.label) == written.map(\.label), "\(name)")
    }
    // Without quoting, the rows with no TAB or line break read the same.
    let plain = try readFixture("plain.tsv").examples
    let writable = written.filter { example in
      !(example.text + (example.pair ?? "")).unicodeScalars.contains {
        $0 == "\t" || $0 == "\r" || $0 == "\n"
      }
    }
    #expect(plain.count == 11)
    #expect(plain.map(\.text) == writable.map(\.text))
    #expect(plain.map(\.pair) == writable.map(\.pair))
  }

  @Test func theReportCountsTheFieldsUnquoted() throws {
    let result = try readFixture("csv-writer.tsv")
    #expect(result.report.notes.isEmpty)
    #expect(result.report.description.contains(": 15 examples, 16 csv-quoted TSV field unquoted"))
    // plain.tsv has fields that start with a quote; the report says why they stay.
    let plain = try readFixture("plain.tsv")
    #expect(plain.report.repaired.isEmpty)
    #expect(
      plain.report.notes == [
        "read literally, keeping the quotes of 4 fields that start with \", as the file "
          + "does not read as csv-quoted TSV (line 4: unexpected text after the closing quote "
          + "of a field)"
      ])
  }

  @Test func noneKeepsTheQuotes() throws {
    let reference = try Reference.load()
    let file = try reference.file("quotes-only.tsv")
    let literal = try readFixture("quotes-only.tsv", .literal)
    // The rows csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) reads.
    #expect(
      literal.examples.map(\.text) == reference.quotesOnlyLiteralRows.dropFirst().map { $0[0] })
    #expect(
      literal.examples.map(\.pair) == reference.quotesOnlyLiteralRows.dropFirst().map { $0[1] })
    #expect(literal.examples.first?.text == "\"He said \"\"no\"\".\"")
    #expect(literal.report.repaired.isEmpty && literal.report.notes.isEmpty)
    #expect(try readFixture("quotes-only.tsv").examples == (try file.examples()))
  }

  @Test func glueStyleQuotesStayLiteral() throws {
    // GLUE's TSV: quotes are text. Rows written by hand, read as before.
    let glue =
      "sentence\tlabel\n"
      + "\"Hello,\" he said.\t1\n"
      + "a \"quoted\" word\t0\n"
      + "\"Yes.\"\t1\n"
      + "\"\t0\n"
    let result = try read(glue)
    #expect(
      result.examples == [
        TextExample(text: "\"Hello,\" he said.", label: "1", line: 2),
        TextExample(text: "a \"quoted\" word", label: "0", line: 3),
        TextExample(text: "\"Yes.\"", label: "1", line: 4),
        TextExample(text: "\"", label: "0", line: 5),
      ])
    #expect(result.report.repaired.isEmpty)
    #expect(result.report.notes.count == 1)
    #expect(try read(glue, .literal).examples == result.examples)

    // Quoted, closed, but nothing a csv writer would quote: literal (rule 4).
    let yes = try read("text\tlabel\n\"Yes.\"\t1\nplain\t0\n")
    #expect(yes.examples.map(\.text) == ["\"Yes.\"", "plain"])
    #expect(yes.report.notes.first?.contains("line 2: the field \"Yes.\" is quoted") == true)
    // With the header quoted too (QUOTE_ALL), the same quotes are csv's.
    let all = try read("\"text\"\t\"label\"\n\"Yes.\"\t\"1\"\n")
    #expect(all.examples == [TextExample(text: "Yes.", label: "1", line: 2)])
    #expect(all.report.repaired[ReadReport.unquotedField] == 4)

    // Quotes that would join lines which are whole records as written (rule 5).
    let joins = try read("text\tlabel\n\"start\t1\nend\"\t0\n")
    #expect(joins.examples.map(\.text) == ["\"start", "end\""])
    #expect(joins.report.notes.first?.contains("joins lines 2-3") == true)
    // Read as csv, the record count no longer matches the header (rule 3).
    let count = try read("text\tlabel\textra\n\"a\tb\"\t1\n")
    #expect(count.examples == [TextExample(text: "\"a", label: "b\"", line: 2)])
    #expect(
      count.report.notes.first?.contains("the record at line 2 has 2 fields, the header 3")
        == true)
    // A quote never closed: literal in auto (rule 2).
    let open = try read("text\tlabel\nok\t1\n\"never closed\t0\n")
    #expect(open.examples.map(\.text) == ["ok", "\"never closed"])
    #expect(open.report.notes.first?.contains("line 3: a quoted field opened here") == true)
  }

  @Test func csvModeErrorsNameTheLine() {
    // The quote opened on line 3 is never closed.
    #expect(
      thrown { _ = try read("text\tlabel\nok\t1\n\"never closed\t0\nmore\t1\n", .csv) }
        == .malformedCSV(
          file: "data.tsv", line: 3, reason: "a quoted field opened here is never closed"))
    // GLUE-style data is not valid csv.
    #expect(
      thrown { _ = try read("sentence\tlabel\n\"Hello,\" he said.\t1\n", .csv) }
        == .malformedCSV(
          file: "data.tsv", line: 2, reason: "unexpected text after the closing quote of a field"
        ))
    // A wrong field count names the line where the record starts, not where it ends.
    #expect(
      thrown { _ = try read("text\tlabel\nok\t1\n\"two\nlines\"\n", .csv) }
        == .wrongFieldCount(file: "data.tsv", line: 3, expected: 2, found: 1))
    // Literal reading of a csv-quoted file: the TAB inside quotes splits the line.
    #expect(
      thrown { _ = try read("text\tlabel\n\"a\tb\"\t1\n", .literal) }
        == .wrongFieldCount(file: "data.tsv", line: 2, expected: 2, found: 3))
  }

  @Test func multiLineRecordsKeepTheirStartLine() throws {
    let text = "text\tlabel\r\n\"one\r\ntwo\"\t1\r\nthree\t0\r\n\"four\nfive\nsix\"\t1\n"
    let result = try read(text)
    #expect(
      result.examples == [
        TextExample(text: "one\r\ntwo", label: "1", line: 2),
        TextExample(text: "three", label: "0", line: 4),
        TextExample(text: "four\nfive\nsix", label: "1", line: 5),
      ])
  }

  @Test func csvFilesReadAsBefore() throws {
    // The tsv option does not touch CSV: RFC 4180 quoting, whatever it says.
    let csv = "text,label\n\"a, b\",1\n\"say \"\"hi\"\"\",0\n"
    for quoting in TSVQuoting.allCases {
      let result = try TextExampleReader.read(
        bytes: Array(csv.utf8), format: .csv, source: "data.csv", task: .classification,
        tsvQuoting: quoting)
      #expect(result.examples.map(\.text) == ["a, b", "say \"hi\""])
      #expect(result.report.repaired.isEmpty)
    }
  }
}
