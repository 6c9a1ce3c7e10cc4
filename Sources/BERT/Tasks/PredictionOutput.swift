// Prediction input and output: the lines a task reads its inputs from, and
// JSON with keys in a chosen order (Foundation sorts or scrambles them) and
// numbers in their shortest form.

import Foundation

/// What a task's ``FineTunedApplication/predict(_:)`` reads and where it writes.
public struct PredictionInput {
  /// The input file (`--input`), or nil for stdin.
  public var path: String?
  /// Sequences per forward pass, at most.
  public var batchSize: Int
  /// Padded tokens per forward pass, at most; nil for no budget (see ``Batching``).
  public var maxBatchTokens: Int?
  /// How a `.tsv` input reads double quotes.
  public var tsvQuoting: TSVQuoting
  /// Whether the input decides if a text model reads pairs (a directory saved
  /// by transformers says classification or regression, not whether of pairs).
  public var pairsFromInput: Bool
  /// Reads the inputs as lines: the file at ``path``, or stdin; `example` is a
  /// command that shows how to give input, for the message about empty stdin.
  public var lines: (_ example: String) throws -> TextLines
  /// Told what a reader repaired or skipped.
  public var report: (ReadReport) -> Void
  /// Writes JSON lines, in input order.
  public var write: ([String]) -> Void

  public init(
    path: String?, batchSize: Int, maxBatchTokens: Int? = nil, tsvQuoting: TSVQuoting,
    pairsFromInput: Bool,
    lines: @escaping (String) throws -> TextLines, report: @escaping (ReadReport) -> Void,
    write: @escaping ([String]) -> Void
  ) {
    self.path = path
    self.batchSize = batchSize
    self.maxBatchTokens = maxBatchTokens
    self.tsvQuoting = tsvQuoting
    self.pairsFromInput = pairsFromInput
    self.lines = lines
    self.report = report
    self.write = write
  }

  /// The input file's extension, lower-cased; empty for stdin.
  var fileExtension: String {
    path.map { URL(fileURLWithPath: $0).pathExtension.lowercased() } ?? ""
  }

  /// The input file, checked to exist.
  func existingFile() throws -> URL {
    let path = path ?? ""
    guard FileManager.default.fileExists(atPath: path) else {
      throw InputError("the input file \(path) does not exist")
    }
    return URL(fileURLWithPath: path)
  }

  /// `ranges` of `count` items, `size` at a time.
  static func chunks(_ count: Int, _ size: Int) -> [Range<Int>] {
    stride(from: 0, to: count, by: size).map { $0..<min(count, $0 + size) }
  }

  /// Six significant decimals are plenty for a probability.
  static func round(_ value: Double) -> Double { (value * 1e6).rounded() / 1e6 }
}

/// Input that cannot be read as the task's inputs; the message names the
/// source and line.
public struct InputError: Error, CustomStringConvertible, Equatable {
  public var description: String
  public init(_ message: String) { description = message }
}

/// The lines of a text input.
public struct TextLines: Sendable {
  /// Where the lines come from, for messages: `stdin` or a path.
  public var source: String
  /// The raw bytes (for readers that parse structured formats).
  public var bytes: [UInt8]
  /// The lines, without their `\n` or `\r\n`; a final line break adds no empty line.
  public var lines: [String]

  /// Splits `bytes` (a leading byte-order mark dropped) into lines.
  ///
  /// - Throws: ``InputError`` for a line that is not UTF-8, or no lines.
  public init(bytes: [UInt8], source: String) throws {
    self.source = source
    var body = bytes[...]
    if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
    self.bytes = Array(body)
    var lines: [String] = []
    var pieces = body.split(separator: 0x0A, omittingEmptySubsequences: false)
    if pieces.last?.isEmpty == true { pieces.removeLast() }
    for (index, piece) in pieces.enumerated() {
      var piece = piece
      if piece.last == 0x0D { piece = piece.dropLast() }
      guard let line = String(validating: piece, as: UTF8.self) else {
        throw InputError("\(source), line \(index + 1): the text is not valid UTF-8")
      }
      lines.append(line)
    }
    guard !lines.isEmpty else { throw InputError("\(source) holds no lines of text") }
    self.lines = lines
  }

  /// Whether the first non-blank line looks like a JSON object (JSON Lines input).
  public var looksLikeJSONLines: Bool {
    lines.first { !$0.allSatisfy(\.isWhitespace) }?.drop { $0.isWhitespace }.first == "{"
  }

  /// Each line as two texts split by one TAB; a line with no TAB or several is
  /// an error naming it.
  public func pairs() throws -> (first: [String], second: [String]) {
    var first: [String] = []
    var second: [String] = []
    for (index, line) in lines.enumerated() {
      let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
      guard parts.count == 2 else {
        let found = parts.count == 1 ? "none" : "\(parts.count - 1)"
        throw InputError(
          "\(source), line \(index + 1): --pair expects two texts separated by one TAB, "
            + "found \(found)")
      }
      first.append(String(parts[0]))
      second.append(String(parts[1]))
    }
    return (first, second)
  }
}

/// A JSON value to print, such as one prediction.
public indirect enum OrderedJSON: Sendable {
  case null
  case bool(Bool)
  case int(Int)
  case float(Float)
  case double(Double)
  case string(String)
  case array([OrderedJSON])
  /// Keys in the order given.
  case object([(String, OrderedJSON)])

  /// An array of integers.
  public static func ints(_ values: [Int]) -> OrderedJSON { .array(values.map { .int($0) }) }
  /// An array of floats.
  public static func floats(_ values: [Float]) -> OrderedJSON { .array(values.map { .float($0) }) }
  /// An array of strings.
  public static func strings(_ values: [String]) -> OrderedJSON {
    .array(values.map { .string($0) })
  }
  /// An object of counts from a dictionary, keys sorted.
  public static func counts(_ values: [String: Int]) -> OrderedJSON {
    .object(values.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })
  }
  /// An object from a dictionary, keys sorted.
  public static func doubles(_ values: [String: Double]) -> OrderedJSON {
    .object(values.sorted { $0.key < $1.key }.map { ($0.key, .double($0.value)) })
  }

  /// The value on one line.
  public var compact: String {
    var text = ""
    write(to: &text, indent: nil)
    return text
  }

  /// The value over several lines, indented by two spaces a level.
  public var pretty: String {
    var text = ""
    write(to: &text, indent: "")
    return text
  }

  private func write(to text: inout String, indent: String?) {
    switch self {
    case .null: text += "null"
    case .bool(let value): text += value ? "true" : "false"
    case .int(let value): text += String(value)
    case .float(let value): text += value.isFinite ? "\(value)" : "null"
    case .double(let value): text += value.isFinite ? "\(value)" : "null"
    case .string(let value): Self.escape(value, into: &text)
    case .array(let values):
      let scalarsOnly = values.allSatisfy {
        if case .array = $0 { return false }
        if case .object = $0 { return false }
        return true
      }
      // Arrays of numbers stay on one line even when pretty.
      let inner = scalarsOnly ? nil : indent.map { $0 + "  " }
      text += "["
      for (index, value) in values.enumerated() {
        if index > 0 { text += "," }
        if let inner { text += "\n" + inner }
        value.write(to: &text, indent: inner ?? (scalarsOnly ? nil : indent))
      }
      if let indent, inner != nil, !values.isEmpty { text += "\n" + indent }
      text += "]"
    case .object(let members):
      let inner = indent.map { $0 + "  " }
      text += "{"
      for (index, (key, value)) in members.enumerated() {
        if index > 0 { text += "," }
        if let inner { text += "\n" + inner }
        Self.escape(key, into: &text)
        text += indent == nil ? ":" : ": "
        value.write(to: &text, indent: inner)
      }
      if let indent, !members.isEmpty { text += "\n" + indent }
      text += "}"
    }
  }

  private static func escape(_ value: String, into text: inout String) {
    text += "\""
    for scalar in value.unicodeScalars {
      switch scalar {
      case "\"": text += "\\\""
      case "\\": text += "\\\\"
      case "\n": text += "\\n"
      case "\r": text += "\\r"
      case "\t": text += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: text.unicodeScalars.append(scalar)
      }
    }
    text += "\""
  }
}
