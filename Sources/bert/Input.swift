// Reading texts from stdin or a file: one text per line, or two texts split by
// one TAB, with errors that name the line.

import Foundation

/// The lines of a text input.
struct InputLines {
  /// Where the lines come from, for messages: `stdin` or a path.
  var source: String
  /// The raw bytes (for readers that parse structured formats).
  var bytes: [UInt8]
  /// The lines, without their `\n` or `\r\n`; a final line break adds no empty line.
  var lines: [String]

  /// Reads stdin to its end. Empty stdin is an error that shows how to give input.
  static func standardInput(example: String) throws -> InputLines {
    if isatty(STDIN_FILENO) != 0 {
      Console.err("reading from stdin, one text per line (Ctrl-D to end) ...")
    }
    let data = FileHandle.standardInput.readDataToEndOfFile()
    guard !data.isEmpty else {
      throw CLIError("no input on stdin: give one text per line, for example: \(example)")
    }
    return try InputLines(bytes: [UInt8](data), source: "stdin")
  }

  /// Reads a file.
  static func file(_ path: String) throws -> InputLines {
    let url = URL(fileURLWithPath: path)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
      throw CLIError("the input file \(path) does not exist")
    }
    guard !isDirectory.boolValue else { throw CLIError("\(path) is a directory, not a file") }
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw CLIError("cannot read \(path): \(describe(error))")
    }
    guard !data.isEmpty else { throw CLIError("\(path) is empty") }
    return try InputLines(bytes: [UInt8](data), source: path)
  }

  init(bytes: [UInt8], source: String) throws {
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
        throw CLIError("\(source), line \(index + 1): the text is not valid UTF-8")
      }
      lines.append(line)
    }
    guard !lines.isEmpty else { throw CLIError("\(source) holds no lines of text") }
    self.lines = lines
  }

  /// Whether the first non-blank line looks like a JSON object (JSON Lines input).
  var looksLikeJSONLines: Bool {
    lines.first { !$0.allSatisfy(\.isWhitespace) }?.drop { $0.isWhitespace }.first == "{"
  }

  /// Each line as two texts split by one TAB; a line with no TAB or several is
  /// an error naming it.
  func pairs() throws -> (first: [String], second: [String]) {
    var first: [String] = []
    var second: [String] = []
    for (index, line) in lines.enumerated() {
      let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
      guard parts.count == 2 else {
        let found = parts.count == 1 ? "none" : "\(parts.count - 1)"
        throw CLIError(
          "\(source), line \(index + 1): --pair expects two texts separated by one TAB, "
            + "found \(found)")
      }
      first.append(String(parts[0]))
      second.append(String(parts[1]))
    }
    return (first, second)
  }
}
