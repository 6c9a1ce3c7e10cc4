// Extractive question answering data in the SQuAD v1.1 JSON layout.

import Foundation

/// A question about a context, with the gold answers (empty at prediction time).
public struct QAExample: Equatable, Sendable {
  /// A gold answer: its text and where it starts in the context.
  public struct Answer: Equatable, Sendable {
    public var text: String
    /// The index of the answer's first Unicode scalar in the context: the
    /// same number as a Python string index, which is what SQuAD stores.
    public var start: Int

    public init(text: String, start: Int) {
      self.text = text
      self.start = start
    }
  }

  public var id: String
  /// The title of the article the context comes from.
  public var title: String
  public var question: String
  public var context: String
  public var answers: [Answer]

  public init(
    id: String, title: String, question: String, context: String, answers: [Answer]
  ) {
    self.id = id
    self.title = title
    self.question = question
    self.context = context
    self.answers = answers
  }
}

/// Reads SQuAD v1.1 JSON (`{"data": [{"title", "paragraphs": [{"context",
/// "qas": [{"id", "question", "answers": [{"text", "answer_start"}]}]}]}]}`).
///
/// Each answer is checked against its context: if the `answer_start` scalars
/// do not spell the answer, the reader looks up to `nearbyShift` scalars either
/// side (closest first, earlier first on a tie), then for the occurrence
/// nearest to the given offset anywhere in the context, and moves the offset
/// there; both kinds of fix are counted in the report. An answer whose text is
/// not in the context is dropped and counted, and so is a question left with
/// no answer. A question given with no answers at all is kept (for prediction).
public enum SQuADReader {
  /// How far either side of `answer_start` the first search looks, in scalars.
  public static let nearbyShift = 8

  /// Reads a SQuAD v1.1 file.
  public static func read(contentsOf url: URL) throws -> ReadResult<QAExample> {
    try read(bytes: TextFile.bytes(of: url), source: url.path)
  }

  /// Reads SQuAD v1.1 JSON from the bytes of a file; `source` names it in errors.
  public static func read(bytes: [UInt8], source: String) throws -> ReadResult<QAExample> {
    let body = try TextFile.text(of: bytes, file: source)
    if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
      throw DatasetError.emptyFile(file: source)
    }
    let file: SQuADFile
    do {
      file = try JSONDecoder().decode(SQuADFile.self, from: Data(body))
    } catch {
      throw DatasetError.malformedJSON(
        file: source, line: nil, path: jsonPath(error), reason: jsonReason(error))
    }
    var report = ReadReport(source: source)
    var examples: [QAExample] = []
    for article in file.data {
      for paragraph in article.paragraphs {
        let context = Array(paragraph.context.unicodeScalars)
        for qa in paragraph.qas {
          var answers: [QAExample.Answer] = []
          for answer in qa.answers {
            let text = Array(answer.text.unicodeScalars)
            switch locate(text, near: answer.answerStart, in: context) {
            case .exact(let start):
              answers.append(QAExample.Answer(text: answer.text, start: start))
            case .nearby(let start):
              report.repair(ReadReport.answerMovedNearby)
              answers.append(QAExample.Answer(text: answer.text, start: start))
            case .nearest(let start):
              report.repair(ReadReport.answerMovedToNearest)
              answers.append(QAExample.Answer(text: answer.text, start: start))
            case .notFound:
              report.skip(ReadReport.answerNotFound)
            }
          }
          if answers.isEmpty && !qa.answers.isEmpty {
            report.skip(ReadReport.questionWithoutValidAnswer)
            continue
          }
          examples.append(
            QAExample(
              id: qa.id, title: article.title, question: qa.question,
              context: paragraph.context, answers: answers))
        }
      }
    }
    guard !examples.isEmpty else { throw DatasetError.emptyFile(file: source) }
    report.examples = examples.count
    return ReadResult(examples: examples, report: report)
  }

  /// Where an answer was found relative to its given offset.
  public enum AnswerLocation: Equatable, Sendable {
    case exact(Int)
    case nearby(Int)
    case nearest(Int)
    case notFound
  }

  /// Finds `answer` in `context` (both as Unicode scalars) at or near `start`.
  public static func locate(
    _ answer: [Unicode.Scalar], near start: Int, in context: [Unicode.Scalar]
  ) -> AnswerLocation {
    guard !answer.isEmpty, answer.count <= context.count else { return .notFound }
    func matches(_ position: Int) -> Bool {
      guard position >= 0, position + answer.count <= context.count else { return false }
      for k in 0..<answer.count where context[position + k] != answer[k] { return false }
      return true
    }
    if matches(start) { return .exact(start) }
    for shift in 1...nearbyShift {
      if matches(start - shift) { return .nearby(start - shift) }
      if matches(start + shift) { return .nearby(start + shift) }
    }
    var best: Int?
    for position in 0...(context.count - answer.count) where matches(position) {
      if best == nil || abs(position - start) < abs(best! - start) { best = position }
    }
    return best.map { .nearest($0) } ?? .notFound
  }
}

private struct SQuADFile: Decodable {
  struct Article: Decodable {
    var title: String
    var paragraphs: [Paragraph]

    init(from decoder: Decoder) throws {
      let container = try decoder.container(keyedBy: CodingKeys.self)
      title = try container.decodeIfPresent(String.self, forKey: .title) ?? ""
      paragraphs = try container.decode([Paragraph].self, forKey: .paragraphs)
    }

    enum CodingKeys: String, CodingKey { case title, paragraphs }
  }
  struct Paragraph: Decodable {
    var context: String
    var qas: [Question]
  }
  struct Question: Decodable {
    var id: String
    var question: String
    var answers: [Answer]

    init(from decoder: Decoder) throws {
      let container = try decoder.container(keyedBy: CodingKeys.self)
      id = try container.decode(String.self, forKey: .id)
      question = try container.decode(String.self, forKey: .question)
      answers = try container.decodeIfPresent([Answer].self, forKey: .answers) ?? []
    }

    enum CodingKeys: String, CodingKey { case id, question, answers }
  }
  struct Answer: Decodable {
    var text: String
    var answerStart: Int

    enum CodingKeys: String, CodingKey {
      case text
      case answerStart = "answer_start"
    }
  }
  var data: [Article]
}
