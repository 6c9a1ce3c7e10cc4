// A JSON value as read from a JSON Lines record or a request body, keeping integers apart from
// other numbers so that a label written as 1 reads back as "1".

import Foundation

package enum JSONValue: Decodable, Equatable {
  case null
  case bool(Bool)
  case integer(Int64)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  package init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Int64.self) {
      self = .integer(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }

  /// The value as label text: strings as they are, integers and booleans
  /// written out, other numbers in Swift's shortest form; nil for null,
  /// arrays and objects.
  var labelText: String? {
    switch self {
    case .string(let s): return s
    case .integer(let i): return String(i)
    case .bool(let b): return b ? "true" : "false"
    case .number(let d):
      if d.rounded() == d && abs(d) < 1e15 { return String(Int64(d)) }
      return String(d)
    case .null, .array, .object: return nil
    }
  }

  /// A short name of the value's type, for error messages.
  package var typeName: String {
    switch self {
    case .null: return "null"
    case .bool: return "a boolean"
    case .integer, .number: return "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
  }

  /// Parses one JSON Lines record, which must be an object.
  static func parseObject(_ text: String, file: String, line: Int) throws -> [String: JSONValue] {
    let value: JSONValue
    do {
      value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    } catch {
      throw DatasetError.malformedJSON(
        file: file, line: line, path: nil, reason: jsonReason(error))
    }
    guard case .object(let object) = value else {
      throw DatasetError.malformedJSON(
        file: file, line: line, path: nil,
        reason: "expected an object, found \(value.typeName)")
    }
    return object
  }
}

/// A readable reason from a JSON decoding error.
package func jsonReason(_ error: Error) -> String {
  switch error {
  case DecodingError.dataCorrupted(let context):
    let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey]
    if let underlying = underlying as? String { return underlying }
    if let underlying = context.underlyingError { return "\(underlying)" }
    return context.debugDescription
  case DecodingError.keyNotFound(let key, _):
    return "the key \"\(key.stringValue)\" is missing"
  case DecodingError.typeMismatch(let type, let context):
    return "expected \(type): \(context.debugDescription)"
  case DecodingError.valueNotFound(let type, _):
    return "expected \(type), found null"
  default:
    return "\(error)"
  }
}

/// A coding path written as `data[3].paragraphs[0].qas[2]`.
func jsonPath(_ error: Error) -> String? {
  let path: [CodingKey]
  switch error {
  case DecodingError.dataCorrupted(let context): path = context.codingPath
  case DecodingError.keyNotFound(_, let context): path = context.codingPath
  case DecodingError.typeMismatch(_, let context): path = context.codingPath
  case DecodingError.valueNotFound(_, let context): path = context.codingPath
  default: return nil
  }
  var text = ""
  for key in path {
    if let index = key.intValue {
      text += "[\(index)]"
    } else {
      text += text.isEmpty ? key.stringValue : "." + key.stringValue
    }
  }
  return text
}
