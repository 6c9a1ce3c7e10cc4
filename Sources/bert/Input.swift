// Reading texts from stdin or a file: one text per line, or two texts split by
// one TAB, with errors that name the line.

import BERT
import Foundation

/// The lines of a text input (the library's `TextLines`).
typealias InputLines = TextLines

extension TextLines {
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
}
