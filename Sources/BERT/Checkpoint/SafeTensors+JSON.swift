// A small strict JSON parser for safetensors headers.
//
// Foundation's JSONSerialization keeps one of two duplicate keys without a
// word, and the format forbids duplicates, so the header is parsed here. The
// grammar is RFC 8259, as serde_json (the reference implementation's parser)
// reads it: no trailing commas, no comments, no lone UTF-16 surrogates in
// escapes, no control characters in strings, nesting at most 128 deep. Object
// members keep their order, and keys are compared byte for byte, so two keys
// that differ only in Unicode normalisation are different keys, as in Rust.

/// A parsed JSON value. Numbers keep their source text; the caller decides
/// which numbers it accepts.
enum StrictJSON {
  case object([(key: String, value: StrictJSON)])
  case array([StrictJSON])
  case string(String)
  case number(String)
  case bool(Bool)
  case null

  /// Whether the value is `null`.
  var isNull: Bool {
    if case .null = self { return true }
    return false
  }

  /// The JSON type's name, for messages.
  var typeName: String {
    switch self {
    case .object: return "an object"
    case .array: return "an array"
    case .string: return "a string"
    case .number: return "a number"
    case .bool: return "a boolean"
    case .null: return "null"
    }
  }

  /// The value of a number written as a non-negative integer without fraction
  /// or exponent that fits in `Int`; `nil` for anything else.
  var nonNegativeInteger: Int? {
    guard case .number(let text) = self, !text.isEmpty else { return nil }
    guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
      return nil
    }
    return Int(text)
  }
}

/// Parses one JSON value from UTF-8 bytes that are already known to be valid UTF-8.
struct JSONParser {
  /// Why parsing stopped.
  enum Failure: Error {
    /// The text is not JSON; the message says where.
    case syntax(String)
    /// An object has this key twice.
    case duplicateKey(String)
  }

  /// serde_json's default recursion limit.
  static let maximumDepth = 128

  private let bytes: UnsafeRawBufferPointer
  private(set) var position = 0
  private var depth = 0

  init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

  /// Parses the value that starts at the current position (after whitespace).
  mutating func parseValue() throws(Failure) -> StrictJSON {
    skipWhitespace()
    guard position < bytes.count else { throw .syntax("the text ends where a value should be") }
    switch bytes[position] {
    case UInt8(ascii: "{"): return try parseObject()
    case UInt8(ascii: "["): return try parseArray()
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"):
      try expectLiteral("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try expectLiteral("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try expectLiteral("null")
      return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      return .number(try parseNumber())
    default:
      throw unexpected("a value")
    }
  }

  /// Skips JSON whitespace: space, tab, line feed, carriage return.
  mutating func skipWhitespace() {
    while position < bytes.count {
      switch bytes[position] {
      case 0x20, 0x09, 0x0A, 0x0D: position += 1
      default: return
      }
    }
  }

  // MARK: - Containers

  private mutating func enter() throws(Failure) {
    depth += 1
    if depth > JSONParser.maximumDepth {
      throw .syntax("nesting deeper than \(JSONParser.maximumDepth) levels at byte \(position)")
    }
  }

  private mutating func parseObject() throws(Failure) -> StrictJSON {
    try enter()
    defer { depth -= 1 }
    position += 1  // {
    var members: [(key: String, value: StrictJSON)] = []
    var seen = Set<[UInt8]>()
    skipWhitespace()
    if peek() == UInt8(ascii: "}") {
      position += 1
      return .object(members)
    }
    while true {
      skipWhitespace()
      guard peek() == UInt8(ascii: "\"") else { throw unexpected("a string key") }
      let key = try parseString()
      guard seen.insert(Array(key.utf8)).inserted else { throw .duplicateKey(key) }
      skipWhitespace()
      guard peek() == UInt8(ascii: ":") else { throw unexpected("':'") }
      position += 1
      let value = try parseValue()
      members.append((key, value))
      skipWhitespace()
      switch peek() {
      case UInt8(ascii: ","): position += 1
      case UInt8(ascii: "}"):
        position += 1
        return .object(members)
      default: throw unexpected("',' or '}'")
      }
    }
  }

  private mutating func parseArray() throws(Failure) -> StrictJSON {
    try enter()
    defer { depth -= 1 }
    position += 1  // [
    var elements: [StrictJSON] = []
    skipWhitespace()
    if peek() == UInt8(ascii: "]") {
      position += 1
      return .array(elements)
    }
    while true {
      elements.append(try parseValue())
      skipWhitespace()
      switch peek() {
      case UInt8(ascii: ","): position += 1
      case UInt8(ascii: "]"):
        position += 1
        return .array(elements)
      default: throw unexpected("',' or ']'")
      }
    }
  }

  // MARK: - Scalars

  private mutating func parseString() throws(Failure) -> String {
    position += 1  // opening quote
    var utf8: [UInt8] = []
    while true {
      guard let byte = peek() else { throw .syntax("a string is not closed") }
      switch byte {
      case UInt8(ascii: "\""):
        position += 1
        return String(decoding: utf8, as: UTF8.self)
      case UInt8(ascii: "\\"):
        position += 1
        try parseEscape(into: &utf8)
      case 0x00..<0x20:
        throw .syntax("control character 0x\(hex(byte)) inside a string at byte \(position)")
      default:
        utf8.append(byte)
        position += 1
      }
    }
  }

  private mutating func parseEscape(into utf8: inout [UInt8]) throws(Failure) {
    guard let byte = peek() else { throw .syntax("a string is not closed") }
    position += 1
    switch byte {
    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
    case UInt8(ascii: "b"): utf8.append(0x08)
    case UInt8(ascii: "f"): utf8.append(0x0C)
    case UInt8(ascii: "n"): utf8.append(0x0A)
    case UInt8(ascii: "r"): utf8.append(0x0D)
    case UInt8(ascii: "t"): utf8.append(0x09)
    case UInt8(ascii: "u"):
      var value = try parseHex4()
      if (0xDC00...0xDFFF).contains(value) {
        throw .syntax("lone UTF-16 low surrogate \\u\(hex(UInt16(value))) at byte \(position - 6)")
      }
      if (0xD800...0xDBFF).contains(value) {
        guard peek() == UInt8(ascii: "\\"), peek(at: position + 1) == UInt8(ascii: "u") else {
          throw .syntax(
            "lone UTF-16 high surrogate \\u\(hex(UInt16(value))) at byte \(position - 6)")
        }
        position += 2
        let low = try parseHex4()
        guard (0xDC00...0xDFFF).contains(low) else {
          throw .syntax("UTF-16 high surrogate not followed by a low one at byte \(position - 6)")
        }
        value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
      }
      // Surrogates are excluded above, so the scalar exists.
      UTF8.encode(Unicode.Scalar(value)!) { utf8.append($0) }
    default:
      position -= 1
      throw unexpected("an escape character")
    }
  }

  private mutating func parseHex4() throws(Failure) -> UInt32 {
    var value: UInt32 = 0
    for _ in 0..<4 {
      guard let byte = peek() else { throw .syntax("a \\u escape is cut short") }
      let digit: UInt8
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
      default: throw unexpected("a hexadecimal digit")
      }
      value = value << 4 | UInt32(digit)
      position += 1
    }
    return value
  }

  /// Checks the grammar `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` and
  /// returns the number's text.
  private mutating func parseNumber() throws(Failure) -> String {
    let start = position
    if peek() == UInt8(ascii: "-") { position += 1 }
    if peek() == UInt8(ascii: "0") {
      position += 1
    } else {
      try digits()
    }
    if peek() == UInt8(ascii: ".") {
      position += 1
      try digits()
    }
    if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
      position += 1
      if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
      try digits()
    }
    return String(
      decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
  }

  /// One or more decimal digits.
  private mutating func digits() throws(Failure) {
    guard let first = peek(), isDigit(first) else { throw unexpected("a digit") }
    position += 1
    while let byte = peek(), isDigit(byte) { position += 1 }
  }

  private mutating func expectLiteral(_ literal: StaticString) throws(Failure) {
    let start = position
    for index in 0..<literal.utf8CodeUnitCount {
      guard peek() == literal.utf8Start[index] else {
        position = start
        throw unexpected("a value")
      }
      position += 1
    }
  }

  // MARK: - Helpers

  private func peek() -> UInt8? { peek(at: position) }

  private func peek(at index: Int) -> UInt8? { index < bytes.count ? bytes[index] : nil }

  private func isDigit(_ byte: UInt8) -> Bool {
    byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
  }

  private func unexpected(_ expected: String) -> Failure {
    guard let byte = peek() else { return .syntax("the text ends where \(expected) should be") }
    let shown =
      (0x21..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(hex(byte))"
    return .syntax("expected \(expected) but found \(shown) at byte \(position)")
  }
}

/// Lower-case hexadecimal, zero-padded to two digits per byte of `value`'s width.
private func hex<T: FixedWidthInteger>(_ value: T) -> String {
  let digits = String(value, radix: 16)
  let width = T.bitWidth / 4
  return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
