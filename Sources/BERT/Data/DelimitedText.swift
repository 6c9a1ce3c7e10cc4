// Low-level text handling shared by the readers: loading a file as validated
// UTF-8, and splitting CSV (RFC 4180) and TSV into records.
// `package` members are shared with BERTAssets, whose demo splits read the same files.

import Foundation

/// One record of a delimited file: its fields and the 1-based line it starts on.
package struct DelimitedRecord {
  package var line: Int
  package var fields: [String]
  /// The indices of the fields that were quoted (CSV quoting only).
  var quoted: [Int] = []
  /// The line the record ends on: later than `line` when a quoted field holds a line break.
  var lastLine: Int

  init(line: Int, fields: [String], quoted: [Int] = [], lastLine: Int? = nil) {
    self.line = line
    self.fields = fields
    self.quoted = quoted
    self.lastLine = lastLine ?? line
  }

  /// A record made of one empty field: what a blank line parses to.
  package var isBlank: Bool { fields.count == 1 && fields[0].isEmpty }
}

package enum TextFile {
  /// The bytes of a file, or `DatasetError.unreadable`.
  package static func bytes(of url: URL) throws -> [UInt8] {
    do {
      return [UInt8](try Data(contentsOf: url))
    } catch {
      throw DatasetError.unreadable(file: url.path, reason: error.localizedDescription)
    }
  }

  /// The bytes with a leading UTF-8 byte-order mark removed.
  package static func droppingBOM(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
    if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
      return bytes[3...]
    }
    return bytes[...]
  }

  /// Checks that `bytes` are UTF-8; on failure names the line of the first bad byte.
  static func validateUTF8(_ bytes: ArraySlice<UInt8>, file: String) throws {
    if String(validating: bytes, as: UTF8.self) != nil { return }
    var line = 1
    var lineStart = bytes.startIndex
    for index in bytes.indices where bytes[index] == 0x0A {
      if String(validating: bytes[lineStart..<index], as: UTF8.self) == nil { break }
      line += 1
      lineStart = index + 1
    }
    throw DatasetError.notUTF8(file: file, line: line)
  }

  /// The file's text: BOM dropped, UTF-8 checked.
  package static func text(of bytes: [UInt8], file: String) throws -> ArraySlice<UInt8> {
    let body = droppingBOM(bytes)
    try validateUTF8(body, file: file)
    return body
  }

  /// Splits UTF-8 bytes into lines (LF or CRLF), each with its 1-based number.
  package static func lines(_ bytes: ArraySlice<UInt8>) -> [(number: Int, text: String)] {
    var result: [(Int, String)] = []
    var start = bytes.startIndex
    var number = 1
    var index = bytes.startIndex
    while index <= bytes.endIndex {
      if index == bytes.endIndex || bytes[index] == 0x0A {
        var end = index
        if end > start && bytes[end - 1] == 0x0D { end -= 1 }
        if index < bytes.endIndex || start < bytes.endIndex {
          result.append((number, String(decoding: bytes[start..<end], as: UTF8.self)))
        }
        number += 1
        start = index + 1
      }
      index += 1
    }
    return result
  }
}

package enum DelimitedText {
  private static let quote = UInt8(ascii: "\"")
  private static let carriageReturn: UInt8 = 0x0D
  private static let lineFeed: UInt8 = 0x0A

  /// Parses CSV as RFC 4180 describes it: fields separated by `delimiter`,
  /// records by CRLF or LF (a lone CR also ends a record); a field that starts
  /// with `"` is quoted, may hold delimiters, quotes doubled as `""`, and line
  /// breaks (kept as written). A quote inside an unquoted field is kept as a
  /// literal character, as most CSV writers and readers do.
  package static func parseCSV(
    _ bytes: ArraySlice<UInt8>, delimiter: UInt8 = UInt8(ascii: ","), file: String
  ) throws -> [DelimitedRecord] {
    var records: [DelimitedRecord] = []
    var fields: [String] = []
    var quoted: [Int] = []
    var field: [UInt8] = []
    var line = 1
    var recordLine = 1
    var i = bytes.startIndex
    let end = bytes.endIndex
    if i == end { return [] }
    while true {
      // One field starts at i.
      if i < end && bytes[i] == quote {
        let openingLine = line
        quoted.append(fields.count)
        i += 1
        while true {
          guard i < end else {
            throw DatasetError.malformedCSV(
              file: file, line: openingLine,
              reason: "a quoted field opened here is never closed")
          }
          let c = bytes[i]
          if c == quote {
            if i + 1 < end && bytes[i + 1] == quote {
              field.append(quote)
              i += 2
              continue
            }
            i += 1
            break
          }
          if c == lineFeed { line += 1 }
          field.append(c)
          i += 1
        }
        if i < end && bytes[i] != delimiter && bytes[i] != carriageReturn
          && bytes[i] != lineFeed
        {
          throw DatasetError.malformedCSV(
            file: file, line: line,
            reason: "unexpected text after the closing quote of a field")
        }
      } else {
        while i < end && bytes[i] != delimiter && bytes[i] != carriageReturn
          && bytes[i] != lineFeed
        {
          field.append(bytes[i])
          i += 1
        }
      }
      fields.append(String(decoding: field, as: UTF8.self))
      field.removeAll(keepingCapacity: true)
      // i is at a delimiter, a line break or the end.
      if i == end {
        records.append(
          DelimitedRecord(line: recordLine, fields: fields, quoted: quoted, lastLine: line))
        break
      }
      if bytes[i] == delimiter {
        i += 1
        continue
      }
      if bytes[i] == carriageReturn { i += 1 }
      if i < end && bytes[i] == lineFeed { i += 1 }
      records.append(
        DelimitedRecord(line: recordLine, fields: fields, quoted: quoted, lastLine: line))
      fields.removeAll(keepingCapacity: true)
      quoted.removeAll()
      line += 1
      recordLine = line
      if i == end { break }
    }
    return records
  }

  /// Parses TSV: one record per line (LF or CRLF), fields split at every TAB,
  /// no quoting (as GLUE's TSV files are read), so a field cannot hold a TAB
  /// or a line break, and quotes are ordinary characters.
  static func parseTSV(_ bytes: ArraySlice<UInt8>) -> [DelimitedRecord] {
    TextFile.lines(bytes).map { line in
      DelimitedRecord(
        line: line.number,
        fields: line.text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      )
    }
  }
}
