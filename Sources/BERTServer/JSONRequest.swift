import BERT
import Foundation

/// A request body read as a JSON object, with typed field access whose errors
/// name the field and what it must be: 400 for a body that is not a JSON
/// object, 422 for a missing field or one of the wrong type.
struct JSONRequest {
  let object: [String: JSONValue]

  /// - Throws: ``APIError`` 400 when `data` is not a JSON object.
  init(_ data: Data) throws {
    guard !data.isEmpty else {
      throw APIError.badRequest("the request body is empty; send a JSON object")
    }
    let value: JSONValue
    do {
      value = try JSONDecoder().decode(JSONValue.self, from: data)
    } catch {
      throw APIError.badRequest("the request body is not valid JSON: \(jsonReason(error))")
    }
    guard case .object(let object) = value else {
      throw APIError.badRequest("the request body must be a JSON object, not \(value.typeName)")
    }
    self.object = object
  }

  /// A field that is present and not null.
  func value(_ key: String) -> JSONValue? {
    guard let value = object[key], value != .null else { return nil }
    return value
  }

  func string(_ key: String) throws -> String? {
    guard let value = value(key) else { return nil }
    guard case .string(let text) = value else { throw wrongType(key, value, "a string") }
    return text
  }

  func requiredString(_ key: String) throws -> String {
    guard let text = try string(key) else { throw missing(key, "a string") }
    return text
  }

  func bool(_ key: String) throws -> Bool? {
    guard let value = value(key) else { return nil }
    guard case .bool(let flag) = value else { throw wrongType(key, value, "true or false") }
    return flag
  }

  func int(_ key: String, atLeast minimum: Int) throws -> Int? {
    guard let value = value(key) else { return nil }
    guard case .integer(let integer) = value, let int = Int(exactly: integer) else {
      throw wrongType(key, value, "an integer")
    }
    guard int >= minimum else {
      throw APIError.unprocessable("the field \"\(key)\" must be at least \(minimum), got \(int)")
    }
    return int
  }

  /// A string or an array of strings, as a list.
  func strings(_ key: String) throws -> [String] {
    guard let value = value(key) else { throw missing(key, "a string or an array of strings") }
    switch value {
    case .string(let text): return [text]
    case .array(let items):
      return try items.enumerated().map { index, item in
        guard case .string(let text) = item else {
          throw APIError.unprocessable(
            "\"\(key)\"[\(index)] must be a string, not \(item.typeName)")
        }
        return text
      }
    default: throw wrongType(key, value, "a string or an array of strings")
    }
  }

  func missing(_ key: String, _ expected: String) -> APIError {
    APIError.unprocessable("the field \"\(key)\" is required (\(expected))")
  }

  func wrongType(_ key: String, _ value: JSONValue, _ expected: String) -> APIError {
    APIError.unprocessable("the field \"\(key)\" must be \(expected), not \(value.typeName)")
  }
}
