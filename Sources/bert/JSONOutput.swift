// JSON output with keys in a chosen order (Foundation sorts or scrambles them)
// and numbers in their shortest form.

/// A JSON value to print.
indirect enum JSONOut {
  case null
  case bool(Bool)
  case int(Int)
  case float(Float)
  case double(Double)
  case string(String)
  case array([JSONOut])
  /// Keys in the order given.
  case object([(String, JSONOut)])

  /// An array of integers.
  static func ints(_ values: [Int]) -> JSONOut { .array(values.map { .int($0) }) }
  /// An array of floats.
  static func floats(_ values: [Float]) -> JSONOut { .array(values.map { .float($0) }) }
  /// An array of strings.
  static func strings(_ values: [String]) -> JSONOut { .array(values.map { .string($0) }) }
  /// An object of counts from a dictionary, keys sorted.
  static func counts(_ values: [String: Int]) -> JSONOut {
    .object(values.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })
  }
  /// An object from a dictionary, keys sorted.
  static func doubles(_ values: [String: Double]) -> JSONOut {
    .object(values.sorted { $0.key < $1.key }.map { ($0.key, .double($0.value)) })
  }

  /// The value on one line.
  var compact: String {
    var text = ""
    write(to: &text, indent: nil)
    return text
  }

  /// The value over several lines, indented by two spaces a level.
  var pretty: String {
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
