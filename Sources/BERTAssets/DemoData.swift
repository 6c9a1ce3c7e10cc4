// Turning the real corpora of the demo into task examples with deterministic
// train/evaluation splits: sentence polarity (classification), WSJ
// part-of-speech tags (tagging), SQuAD (question answering), QNLI-style pairs
// built from SQuAD (pair classification) and the Lee corpus (pair regression).

import BERT
import Foundation

/// Training and evaluation examples from one corpus, with the counts of the preparation.
public struct DemoSplit<Example: Sendable>: Sendable {
  public var train: [Example]
  public var eval: [Example]
  /// `examples` is train + eval; `skipped` and `repaired` count what the
  /// preparation dropped or fixed.
  public var report: ReadReport
  /// Other counts worth printing (articles per split, sentences, ...), by name.
  public var details: [String: Int]
}

/// Preparation of the demo's real data sets. Every split is deterministic:
/// by position in the file, by article, or by a seeded shuffle.
public enum DemoData {
  // MARK: - Sentence polarity

  /// Sentence polarity (Pang & Lee): a CSV without a header whose rows are
  /// `"label","text"` with labels `1` and `-1` (a UTF-8 BOM is skipped).
  ///
  /// Labels become `positive` (1) and `negative` (-1); texts are trimmed of
  /// surrounding white space (the file ends each quoted text with a line break).
  /// The split is stratified: each class is shuffled with `seed` and its last
  /// `evalFraction` goes to evaluation, so both splits stay balanced.
  public static func polarity(
    bytes: [UInt8], source: String, evalFraction: Double = 0.2, seed: UInt64 = 1
  ) throws -> DemoSplit<TextExample> {
    let body = try TextFile.text(of: bytes, file: source)
    var report = ReadReport(source: source)
    var byLabel: [String: [TextExample]] = [:]
    for record in try DelimitedText.parseCSV(body, file: source) {
      if record.isBlank {
        report.skip(ReadReport.blankLine)
        continue
      }
      guard record.fields.count == 2 else {
        throw DatasetError.wrongFieldCount(
          file: source, line: record.line, expected: 2, found: record.fields.count)
      }
      let label: String
      switch record.fields[0].trimmingCharacters(in: .whitespaces) {
      case "1": label = "positive"
      case "-1": label = "negative"
      case let other:
        throw DatasetError.unknownLabel(
          label: other, file: source, line: record.line, known: ["1", "-1"])
      }
      let text = record.fields[1].trimmingCharacters(in: .whitespacesAndNewlines)
      byLabel[label, default: []].append(TextExample(text: text, label: label, line: record.line))
    }
    guard !byLabel.isEmpty else { throw DatasetError.emptyFile(file: source) }
    var generator = SplitMix64(seed: seed)
    var train: [TextExample] = []
    var eval: [TextExample] = []
    for label in byLabel.keys.sorted() {
      var examples = byLabel[label]!
      generator.shuffle(&examples)
      let evalCount = Int((Double(examples.count) * evalFraction).rounded())
      train += examples.dropLast(evalCount)
      eval += examples.suffix(evalCount)
    }
    generator.shuffle(&train)
    eval.sort { $0.line < $1.line }
    report.examples = train.count + eval.count
    var details: [String: Int] = [:]
    for (label, examples) in byLabel { details[label] = examples.count }
    return DemoSplit(train: train, eval: eval, report: report, details: details)
  }

  // MARK: - WSJ part-of-speech tags

  /// Penn Treebank POS tags of the WSJ sample: lines of space-separated
  /// `word/TAG` tokens. The tag is what follows the last `/`, so words that hold
  /// a slash keep it. A line may hold several sentences: a sentence ends after
  /// each token tagged `.` and at the end of the line. The first
  /// `1 − evalFraction` of the sentences, in file order, are for training.
  /// A token without a `/` is skipped and counted.
  public static func wsjPOS(bytes: [UInt8], source: String, evalFraction: Double = 0.2) throws
    -> DemoSplit<TaggedSentence>
  {
    let body = try TextFile.text(of: bytes, file: source)
    var report = ReadReport(source: source)
    var sentences: [TaggedSentence] = []
    var tokenCount = 0
    for line in TextFile.lines(body) {
      var current = TaggedSentence(tokens: [], tags: [], line: line.number)
      for item in line.text.unicodeScalars.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
        guard let slash = item.lastIndex(of: "/") else {
          report.skip("token without a /TAG")
          continue
        }
        let word = String(String.UnicodeScalarView(item[..<slash]))
        let tag = String(String.UnicodeScalarView(item[item.index(after: slash)...]))
        guard !word.isEmpty, !tag.isEmpty else {
          report.skip("token without a /TAG")
          continue
        }
        current.tokens.append(word)
        current.tags.append(tag)
        tokenCount += 1
        if tag == "." {
          sentences.append(current)
          current = TaggedSentence(tokens: [], tags: [], line: line.number)
        }
      }
      if !current.tokens.isEmpty { sentences.append(current) }
    }
    guard !sentences.isEmpty else { throw DatasetError.emptyFile(file: source) }
    let trainCount = sentences.count - Int((Double(sentences.count) * evalFraction).rounded())
    report.examples = sentences.count
    return DemoSplit(
      train: Array(sentences[..<trainCount]), eval: Array(sentences[trainCount...]),
      report: report,
      details: ["tokens": tokenCount, "tags": Set(sentences.flatMap(\.tags)).count])
  }

  // MARK: - SQuAD by article

  /// SQuAD questions split by article: the first `trainArticleFraction` of the
  /// articles (in file order) for training, the rest for evaluation, so no
  /// passage is in both.
  public static func squad(_ read: ReadResult<QAExample>, trainArticleFraction: Double = 0.8)
    -> DemoSplit<QAExample>
  {
    let (trainTitles, articleCount) = trainArticles(read.examples, trainArticleFraction)
    var split = DemoSplit<QAExample>(
      train: [], eval: [], report: read.report,
      details: [
        "train articles": trainTitles.count, "eval articles": articleCount - trainTitles.count,
      ])
    for example in read.examples {
      if trainTitles.contains(example.title) {
        split.train.append(example)
      } else {
        split.eval.append(example)
      }
    }
    return split
  }

  // MARK: - QNLI-style pairs from SQuAD

  /// Question–sentence pairs built from SQuAD as GLUE builds QNLI: for each
  /// question, the sentence of its passage that holds the (first) answer's
  /// start is `entailment`, and one other sentence of the same passage, drawn
  /// with `seed`, is `not_entailment`. Each question gives one pair of each
  /// label, so the labels are balanced; a question whose passage has a single
  /// sentence is skipped and counted. Split by article as `squad(_:)`.
  ///
  /// `trainQuestions` and `evalQuestions` limit how many questions are used
  /// (a seeded sample, each giving two pairs). Sentences come from
  /// `splitSentences(_:)`.
  public static func qnli(
    _ read: ReadResult<QAExample>, trainArticleFraction: Double = 0.8,
    trainQuestions: Int? = nil, evalQuestions: Int? = nil, seed: UInt64 = 1
  ) -> DemoSplit<TextExample> {
    let (trainTitles, articleCount) = trainArticles(read.examples, trainArticleFraction)
    var report = ReadReport(source: read.report.source)
    var generator = SplitMix64(seed: seed)
    var trainSource = read.examples.filter { trainTitles.contains($0.title) }
    var evalSource = read.examples.filter { !trainTitles.contains($0.title) }
    if let trainQuestions, trainQuestions < trainSource.count {
      generator.shuffle(&trainSource)
      trainSource = Array(trainSource.prefix(trainQuestions))
    }
    if let evalQuestions, evalQuestions < evalSource.count {
      generator.shuffle(&evalSource)
      evalSource = Array(evalSource.prefix(evalQuestions))
    }
    var sentenceCache: [String: [SentenceSpan]] = [:]
    func pairs(_ examples: [QAExample]) -> [TextExample] {
      var result: [TextExample] = []
      for example in examples {
        guard let answer = example.answers.first else {
          report.skip("question without an answer")
          continue
        }
        let sentences =
          sentenceCache[example.context]
          ?? {
            let spans = splitSentences(example.context)
            sentenceCache[example.context] = spans
            return spans
          }()
        guard sentences.count >= 2 else {
          report.skip("question whose passage has one sentence")
          continue
        }
        let holding =
          sentences.firstIndex { $0.range.contains(answer.start) } ?? sentences.count - 1
        var other = generator.below(sentences.count - 1)
        if other >= holding { other += 1 }
        result.append(
          TextExample(text: example.question, pair: sentences[holding].text, label: "entailment"))
        result.append(
          TextExample(
            text: example.question, pair: sentences[other].text, label: "not_entailment"))
      }
      return result
    }
    let train = pairs(trainSource)
    let eval = pairs(evalSource)
    report.examples = train.count + eval.count
    return DemoSplit(
      train: train, eval: eval, report: report,
      details: [
        "train articles": trainTitles.count, "eval articles": articleCount - trainTitles.count,
      ])
  }

  /// A sentence of a passage and the scalar range it covers, [start, end),
  /// including the white space after it, so that the ranges tile the passage.
  public struct SentenceSpan: Equatable, Sendable {
    public var text: String
    public var range: Range<Int>
  }

  /// Abbreviations after which a period does not end a sentence.
  public static let abbreviations: Set<String> = [
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "inc", "co",
    "corp", "ltd", "no", "mt", "ft", "gen", "gov", "rev", "u.s", "u.k", "a.d", "b.c", "c", "ca",
  ]

  /// A simple sentence splitter: a sentence ends after `.`, `!` or `?` (and any
  /// closing quotes or brackets right after it) when white space follows and
  /// the next character is not a lower-case letter; a `.` does not end a
  /// sentence after a single letter (an initial) or an entry of
  /// `abbreviations`. Sentences are trimmed; offsets are Unicode scalar indices.
  public static func splitSentences(_ text: String) -> [SentenceSpan] {
    let scalars = Array(text.unicodeScalars)
    let closers: Set<Unicode.Scalar> = ["\"", "'", ")", "]", "\u{201D}", "\u{2019}"]
    var spans: [SentenceSpan] = []
    var start = 0
    func emit(_ end: Int) {
      let piece = String(String.UnicodeScalarView(scalars[start..<end]))
      let trimmed = piece.trimmingCharacters(in: .whitespacesAndNewlines)
      if !trimmed.isEmpty {
        spans.append(SentenceSpan(text: trimmed, range: start..<end))
      } else if let last = spans.popLast() {
        spans.append(SentenceSpan(text: last.text, range: last.range.lowerBound..<end))
      }
      start = end
    }
    var i = 0
    while i < scalars.count {
      let s = scalars[i]
      guard s == "." || s == "!" || s == "?" else {
        i += 1
        continue
      }
      var end = i + 1
      while end < scalars.count && closers.contains(scalars[end]) { end += 1 }
      guard end < scalars.count, scalars[end].properties.isWhitespace else {
        i = end
        continue
      }
      var next = end
      while next < scalars.count && scalars[next].properties.isWhitespace { next += 1 }
      if next < scalars.count && scalars[next].properties.isLowercase {
        i = next
        continue
      }
      if s == "." {
        // The word before the period, lower-cased.
        var wordStart = i
        while wordStart > start && !scalars[wordStart - 1].properties.isWhitespace {
          wordStart -= 1
        }
        let word = String(String.UnicodeScalarView(scalars[wordStart..<i])).lowercased()
          .trimmingCharacters(in: CharacterSet(charactersIn: "(\"'"))
        if word.unicodeScalars.count == 1 && word.unicodeScalars.first!.properties.isAlphabetic
          || abbreviations.contains(word)
        {
          i = next
          continue
        }
      }
      emit(next)
      i = next
    }
    if start < scalars.count { emit(scalars.count) }
    return spans
  }

  // MARK: - Lee document similarity

  /// The Lee news-document similarity corpus: `corpus` holds one document a
  /// line (50; a line that is not UTF-8 is read as Latin-1 and counted),
  /// `similarities` an N×N matrix of mean human similarity in
  /// [0, 1], whose upper triangle is used. Each pair i < j (1,225 for 50
  /// documents) becomes a pair-regression example with its score **scaled to
  /// 0–5** (× 5, the STS-B scale). The pairs are shuffled with `seed` and the
  /// last `evalFraction` are for evaluation; documents appear in both splits,
  /// as the task scores pairs.
  public static func lee(
    corpus: [UInt8], corpusSource: String, similarities: [UInt8], similaritiesSource: String,
    evalFraction: Double = 0.2, seed: UInt64 = 1
  ) throws -> DemoSplit<TextExample> {
    var report = ReadReport(source: corpusSource)
    var documents: [String] = []
    for line in latin1Fallback(corpus, report: &report) {
      let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
      if text.isEmpty {
        report.skip(ReadReport.blankLine)
      } else {
        documents.append(text)
      }
    }
    guard !documents.isEmpty else { throw DatasetError.emptyFile(file: corpusSource) }
    var matrix: [[Double]] = []
    for line in TextFile.lines(try TextFile.text(of: similarities, file: similaritiesSource)) {
      let fields = line.text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," })
      if fields.isEmpty { continue }
      guard fields.count == documents.count else {
        throw DatasetError.wrongFieldCount(
          file: similaritiesSource, line: line.number, expected: documents.count,
          found: fields.count)
      }
      matrix.append(
        try fields.map { field in
          guard let value = Double(field), value.isFinite else {
            throw DatasetError.invalidNumber(
              file: similaritiesSource, line: line.number, field: "similarity",
              value: String(field))
          }
          return value
        })
    }
    guard matrix.count == documents.count else {
      throw DatasetError.wrongFieldCount(
        file: similaritiesSource, line: matrix.count + 1, expected: documents.count,
        found: matrix.count)
    }
    var pairs: [TextExample] = []
    for i in 0..<documents.count {
      for j in (i + 1)..<documents.count {
        pairs.append(
          TextExample(text: documents[i], pair: documents[j], target: Float(5 * matrix[i][j])))
      }
    }
    var generator = SplitMix64(seed: seed)
    generator.shuffle(&pairs)
    let evalCount = Int((Double(pairs.count) * evalFraction).rounded())
    report.examples = pairs.count
    return DemoSplit(
      train: Array(pairs.dropLast(evalCount)), eval: Array(pairs.suffix(evalCount)),
      report: report, details: ["documents": documents.count])
  }

  // MARK: - From files

  /// `polarity(bytes:source:evalFraction:seed:)` on a file.
  public static func polarity(contentsOf url: URL, evalFraction: Double = 0.2, seed: UInt64 = 1)
    throws -> DemoSplit<TextExample>
  {
    try polarity(
      bytes: TextFile.bytes(of: url), source: url.path, evalFraction: evalFraction, seed: seed)
  }

  /// `wsjPOS(bytes:source:evalFraction:)` on a file.
  public static func wsjPOS(contentsOf url: URL, evalFraction: Double = 0.2) throws -> DemoSplit<
    TaggedSentence
  > {
    try wsjPOS(bytes: TextFile.bytes(of: url), source: url.path, evalFraction: evalFraction)
  }

  /// `lee(corpus:corpusSource:similarities:similaritiesSource:evalFraction:seed:)` on files.
  public static func lee(
    corpus: URL, similarities: URL, evalFraction: Double = 0.2, seed: UInt64 = 1
  ) throws -> DemoSplit<TextExample> {
    try lee(
      corpus: TextFile.bytes(of: corpus), corpusSource: corpus.path,
      similarities: TextFile.bytes(of: similarities), similaritiesSource: similarities.path,
      evalFraction: evalFraction, seed: seed)
  }

  // MARK: - Helpers

  /// Lines of text that is UTF-8 except for a few Latin-1 bytes (the Lee
  /// corpus writes one "£" as the single byte A3): each line is decoded as
  /// UTF-8 if it is valid, else as Latin-1, and counted in the report.
  private static func latin1Fallback(_ bytes: [UInt8], report: inout ReadReport) -> [String] {
    var lines: [String] = []
    for raw in TextFile.droppingBOM(bytes).split(separator: 0x0A, omittingEmptySubsequences: false)
    {
      if let text = String(validating: raw, as: UTF8.self) {
        lines.append(text)
      } else {
        lines.append(String(String.UnicodeScalarView(raw.map { Unicode.Scalar($0) })))
        report.repair("line decoded as Latin-1")
      }
    }
    return lines
  }

  /// The titles of the first `fraction` of the articles, in order of first
  /// appearance (at least one article on each side when there are two or more),
  /// and the number of articles.
  private static func trainArticles(_ examples: [QAExample], _ fraction: Double) -> (
    Set<String>, Int
  ) {
    var titles: [String] = []
    var seen = Set<String>()
    for example in examples where seen.insert(example.title).inserted {
      titles.append(example.title)
    }
    var count = Int((Double(titles.count) * fraction).rounded())
    if titles.count >= 2 { count = min(max(count, 1), titles.count - 1) }
    return (Set(titles.prefix(count)), titles.count)
  }
}

/// SplitMix64: a small seedable generator. Its shuffle and draws are written
/// out here rather than taken from the standard library, whose algorithms may
/// change between releases, so that a seed gives the same split everywhere.
struct SplitMix64 {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A number in 0..<bound (bound > 0); the modulo bias is below 2⁻⁴⁰ for the sizes used here.
  mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

  /// Fisher–Yates shuffle.
  mutating func shuffle<T>(_ array: inout [T]) {
    guard array.count > 1 else { return }
    for i in stride(from: array.count - 1, to: 0, by: -1) {
      array.swapAt(i, below(i + 1))
    }
  }
}
