import BERT
import Foundation
import Testing

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private func readText(
  _ text: String, _ format: TextFileFormat, _ task: TextTaskKind, requireLabels: Bool = true
) throws -> ReadResult<TextExample> {
  try TextExampleReader.read(
    bytes: bytes(text), format: format,
    source: format == .jsonLines ? "data.jsonl" : "data.\(format.rawValue)", task: task,
    requireLabels: requireLabels)
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

@Suite struct DataReaderTests {
  // MARK: - CSV, TSV, JSON Lines

  @Test func csvFollowsRFC4180() throws {
    // BOM, CRLF, a quoted comma, doubled quotes, a line break inside quotes,
    // a blank line, and a last record without a line break.
    let csv =
      "\u{FEFF}label,text\r\n"
      + "1,\"Good, very good\"\r\n"
      + "-1,\"He said \"\"no\"\"\"\r\n"
      + "1,\"two\r\nlines\"\r\n"
      + "\r\n"
      + "-1,plain \"quote\" inside"
    let result = try readText(csv, .csv, .classification)
    #expect(
      result.examples == [
        TextExample(text: "Good, very good", label: "1", line: 2),
        TextExample(text: "He said \"no\"", label: "-1", line: 3),
        TextExample(text: "two\r\nlines", label: "1", line: 4),
        TextExample(text: "plain \"quote\" inside", label: "-1", line: 7),
      ])
    #expect(result.report.examples == 4)
    #expect(result.report.skipped == [ReadReport.blankLine: 1])
  }

  @Test func pairColumnsAndAliases() throws {
    // QNLI's question/sentence; TSV has no quoting, so quotes are literal.
    let tsv = "index\tquestion\tsentence\tlabel\n0\tWho?\t\"Ann\" did.\tentailment\n"
    let pairs = try readText(tsv, .tsv, .pairClassification)
    #expect(
      pairs.examples == [
        TextExample(text: "Who?", pair: "\"Ann\" did.", label: "entailment", line: 2)
      ])
    // premise/hypothesis, and `score` for a regression target.
    let csv = "premise,hypothesis,score\nA,B,3.5\n"
    #expect(
      try readText(csv, .csv, .pairRegression).examples == [
        TextExample(text: "A", pair: "B", target: 3.5, line: 2)
      ])
    // sentence1/sentence2 with `label` as the target.
    let sts = "sentence1,sentence2,label\nx,y,0.25\n"
    #expect(try readText(sts, .csv, .pairRegression).examples[0].target == 0.25)
    // Single text under `sentence`, case and spaces in the header ignored.
    #expect(
      try readText(" Sentence ,LABEL\nhi,pos\n", .csv, .classification).examples[0].text == "hi")
  }

  @Test func jsonLines() throws {
    let jsonl = """
      {"text_a": "a", "text_b": "b", "label": 1}

      {"text_a": "c", "text_b": "d", "label": "neutral", "idx": 7}
      """
    let result = try readText(jsonl, .jsonLines, .pairClassification)
    #expect(result.examples.map(\.label) == ["1", "neutral"])
    #expect(result.examples.map(\.line) == [1, 3])
    #expect(result.report.skipped[ReadReport.blankLine] == 1)
    let regression = try readText("{\"text\": \"t\", \"score\": 4}\n", .jsonLines, .regression)
    #expect(regression.examples[0].target == 4)
  }

  @Test func labelsOptionalAtPredictionTime() throws {
    let result = try readText("text\nhello\n", .csv, .classification, requireLabels: false)
    #expect(result.examples == [TextExample(text: "hello", line: 2)])
    let empty = try readText("text,label\nhello,\n", .csv, .classification, requireLabels: false)
    #expect(empty.examples[0].label == nil)
  }

  @Test func formatFromExtension() throws {
    #expect(try TextFileFormat(path: "a/b.CSV") == .csv)
    #expect(try TextFileFormat(path: "b.tsv") == .tsv)
    #expect(try TextFileFormat(path: "b.jsonl") == .jsonLines)
    let error = thrown { _ = try TextFileFormat(path: "b.xlsx") }
    #expect(error?.description.contains(".csv") == true)
  }

  @Test func errorsNameTheFileAndLine() {
    let missing = thrown { _ = try readText("sentence1,label\na,1\n", .csv, .pairClassification) }
    #expect(
      missing
        == .missingField(
          file: "data.csv", line: 1, role: "second text",
          accepted: TextExampleReader.secondTextNames,
          found: ["sentence1", "label"]))
    #expect(missing?.description.contains("found \"sentence1\", \"label\"") == true)
    #expect(
      thrown { _ = try readText("text,label\na,1\nb,1,extra\n", .csv, .classification) }
        == .wrongFieldCount(file: "data.csv", line: 3, expected: 2, found: 3))
    #expect(
      thrown { _ = try readText("text,score\na,1\nb,high\n", .csv, .regression) }
        == .invalidNumber(file: "data.csv", line: 3, field: "score", value: "high"))
    #expect(
      thrown { _ = try readText("text,label\na,\n", .csv, .classification) }
        == .missingValue(file: "data.csv", line: 2, field: "label"))
    #expect(thrown { _ = try readText("", .csv, .classification) } == .emptyFile(file: "data.csv"))
    #expect(
      thrown { _ = try readText("text,label\n", .csv, .classification) }
        == .emptyFile(file: "data.csv"))
    #expect(
      thrown { _ = try readText("text,label\na,1\n\"open,1\nb,2\n", .csv, .classification) }
        == .malformedCSV(
          file: "data.csv", line: 3, reason: "a quoted field opened here is never closed"))
    var latin1 = bytes("text,label\nok,1\n")
    latin1 += [0x63, 0x61, 0x66, 0xE9, 0x2C, 0x31, 0x0A]  // "café,1" in Latin-1
    #expect(
      thrown {
        _ = try TextExampleReader.read(
          bytes: latin1, format: .csv, source: "data.csv", task: .classification)
      } == .notUTF8(file: "data.csv", line: 3))
    let json = thrown {
      _ = try readText("{\"text\": \"a\", \"label\": 1}\n{\"text\": ", .jsonLines, .classification)
    }
    guard case .malformedJSON(let file, let line, _, _) = json else {
      Issue.record("expected malformedJSON, got \(String(describing: json))")
      return
    }
    #expect(file == "data.jsonl" && line == 2)
  }

  // MARK: - Labels

  @Test func labelSetOrder() throws {
    // All integers: numeric order.
    #expect(LabelSet(["1", "-1", "10", "2"]).labels == ["-1", "1", "2", "10"])
    // Otherwise Unicode scalar order, as Python's sorted().
    #expect(
      LabelSet(["O", "I-PER", "B-PER", "b", "B-LOC"]).labels == [
        "B-LOC", "B-PER", "I-PER", "O", "b",
      ])
    let labels = LabelSet(["neutral", "entailment", "neutral"])
    #expect(labels.id(for: "neutral") == 1 && labels.label(for: 0) == "entailment")
    #expect(LabelSet(ordered: ["z", "a"]).id(for: "z") == 0)
    // A label outside a fixed label set names the label, the file and the line.
    let examples = [
      TextExample(text: "t", label: "entailment", line: 2),
      TextExample(text: "u", label: "contradiction", line: 3),
    ]
    let error = thrown { _ = try labels.ids(for: examples, file: "dev.csv") }
    #expect(
      error
        == .unknownLabel(
          label: "contradiction", file: "dev.csv", line: 3, known: ["entailment", "neutral"]))
    #expect(
      error?.description
        == "dev.csv, line 3: the label \"contradiction\" is not in the fixed label set "
        + "\"entailment\", \"neutral\".")
    // Which labels a set lacks, and how many examples or tokens carry each.
    #expect(labels.unknownLabelCounts(in: examples) == ["contradiction": 1])
    #expect(labels.unknownLabelCounts(in: [TextExample(text: "no label")]).isEmpty)
    let tags = LabelSet(["O", "B-PER"])
    let sentences = [
      TaggedSentence(tokens: ["a", "b", "c"], tags: ["B-PER", "B-LOC", "I-LOC"]),
      TaggedSentence(tokens: ["d", "e"], tags: ["B-LOC", "O"]),
    ]
    #expect(tags.unknownLabelCounts(in: sentences) == ["B-LOC": 2, "I-LOC": 1])
    let encoded = try JSONEncoder().encode(labels)
    #expect(try JSONDecoder().decode(LabelSet.self, from: encoded) == labels)
  }

  // MARK: - Tagging

  @Test func conll() throws {
    let text = """
      -DOCSTART- -X- -X- O

      EU NNP B-NP B-ORG
      rejects VBZ B-VP O

      Peter NNP B-NP B-PER


      Blackburn NNP B-NP B-PER
      """
    let result = try TaggedSentenceReader.readCoNLL(bytes: bytes(text), source: "train.conll")
    #expect(
      result.examples == [
        TaggedSentence(tokens: ["EU", "rejects"], tags: ["B-ORG", "O"], line: 3),
        TaggedSentence(tokens: ["Peter"], tags: ["B-PER"], line: 6),
        TaggedSentence(tokens: ["Blackburn"], tags: ["B-PER"], line: 9),
      ])
    #expect(result.report.skipped == [ReadReport.docstartLine: 1])
    #expect(
      thrown { _ = try TaggedSentenceReader.readCoNLL(bytes: bytes("a B\nlonely\n"), source: "x") }
        == .wrongFieldCount(file: "x", line: 2, expected: 2, found: 1))
    let tokensOnly = try TaggedSentenceReader.readCoNLL(
      bytes: bytes("a\nb\n"), source: "x", requireTags: false)
    #expect(tokensOnly.examples == [TaggedSentence(tokens: ["a", "b"], tags: [], line: 1)])
  }

  @Test func taggingJSONLines() throws {
    let text = """
      {"tokens": ["The", "cat"], "tags": ["DT", "NN"]}
      {"tokens": [], "tags": []}
      {"tokens": ["Ann"], "ner_tags": ["B-PER"]}
      """
    let result = try TaggedSentenceReader.readJSONLines(bytes: bytes(text), source: "t.jsonl")
    #expect(result.examples.map(\.tags) == [["DT", "NN"], ["B-PER"]])
    #expect(result.report.skipped == [ReadReport.emptySentence: 1])
    #expect(
      thrown {
        _ = try TaggedSentenceReader.readJSONLines(
          bytes: bytes("{\"tokens\": [\"a\", \"b\"], \"tags\": [\"O\"]}"), source: "t.jsonl")
      } == .lengthMismatch(file: "t.jsonl", line: 1, tokens: 2, tags: 1))
  }

  // MARK: - SQuAD

  /// A SQuAD file with one paragraph and the given answers.
  private func squad(_ context: String, _ answers: [(question: String, text: String, start: Int)])
    -> [UInt8]
  {
    let qas = answers.enumerated().map { index, answer in
      [
        "id": "q\(index)", "question": answer.question,
        "answers": [["text": answer.text, "answer_start": answer.start]],
      ] as [String: Any]
    }
    let file: [String: Any] = [
      "version": "1.1",
      "data": [["title": "T", "paragraphs": [["context": context, "qas": qas]]]],
    ]
    return [UInt8](try! JSONSerialization.data(withJSONObject: file))
  }

  @Test func squadOffsetsAreScalarIndices() throws {
    // "😀" is 1 scalar but 2 UTF-16 units; "e\u{301}" is 2 scalars but 1 Character.
    // "Lyon" starts at scalar 0+1+1+1+2+1 = 6 ("😀", " ", "c", "a", "f", "e", "\u{301}", " "):
    //   😀(0) space(1) c(2) a(3) f(4) e(5) ◌́(6) space(7) L(8).
    let context = "😀 cafe\u{301} Lyon"
    let result = try SQuADReader.read(
      bytes: squad(context, [("Where?", "Lyon", 8)]), source: "s.json")
    #expect(result.examples[0].answers == [QAExample.Answer(text: "Lyon", start: 8)])
    #expect(result.report.answersFixed == 0)
    #expect(result.examples[0].title == "T" && result.examples[0].id == "q0")
  }

  @Test func squadRepairsOffsets() throws {
    // "river" is at 4 and 30; "Paris" at 13.
    let context = "The river in Paris flows. The river is long."
    let answers: [(question: String, text: String, start: Int)] = [
      ("a", "Paris", 12),  // one off → moved nearby to 13
      ("b", "river", 29),  // one off → 30 (nearer than 4)
      ("c", "long", 0),  // far off → nearest occurrence, 39
      ("d", "Rome", 0),  // not in the context → answer and question skipped
    ]
    let result = try SQuADReader.read(bytes: squad(context, answers), source: "s.json")
    #expect(result.examples.map { $0.answers[0].start } == [13, 30, 39])
    #expect(
      result.report.repaired == [
        ReadReport.answerMovedNearby: 2, ReadReport.answerMovedToNearest: 1,
      ])
    #expect(result.report.answersFixed == 3 && result.report.answersSkipped == 1)
    #expect(result.report.skipped[ReadReport.questionWithoutValidAnswer] == 1)
    #expect(result.report.examples == 3)
  }

  @Test func squadErrors() {
    let error = thrown {
      _ = try SQuADReader.read(
        bytes: bytes("{\"data\": [{\"title\": \"T\", \"paragraphs\": [{\"qas\": []}]}]}"),
        source: "s.json")
    }
    guard case .malformedJSON(_, _, let path, let reason) = error else {
      Issue.record("expected malformedJSON, got \(String(describing: error))")
      return
    }
    #expect(path == "data[0].paragraphs[0]" && reason.contains("context"))
    #expect(
      thrown { _ = try SQuADReader.read(bytes: bytes("  \n"), source: "s.json") }
        == .emptyFile(file: "s.json"))
  }
}
