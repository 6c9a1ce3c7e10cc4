import BERT
import Foundation
import Hummingbird

/// An error answered as OpenAI answers errors: the status, and the body
/// `{"error":{"message":"...","type":"..."}}`.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
  public var status: HTTPResponse.Status
  /// What is wrong and where, for a person.
  public var message: String
  /// `invalid_request_error`, `request_too_large`, `rate_limit_exceeded`,
  /// `not_found_error`, `method_not_allowed` or `server_error`.
  public var type: String
  /// Extra headers, such as `Retry-After` on 429 and `Allow` on 405.
  public var headers: HTTPFields

  public init(
    _ status: HTTPResponse.Status, _ message: String, type: String = "invalid_request_error",
    headers: HTTPFields = [:]
  ) {
    self.status = status
    self.message = message
    self.type = type
    self.headers = headers
  }

  public var description: String { "\(status.code) \(type): \(message)" }

  /// 400: the body is not the JSON the endpoint reads.
  static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }
  /// 422: well-formed JSON whose values cannot be served.
  static func unprocessable(_ message: String) -> APIError {
    APIError(.unprocessableContent, message)
  }
  /// 413: the body or the number of inputs is over its limit.
  static func tooLarge(_ message: String) -> APIError {
    APIError(.contentTooLarge, message, type: "request_too_large")
  }

  /// The JSON body.
  var body: String {
    OrderedJSON.object([
      ("error", .object([("message", .string(message)), ("type", .string(type))]))
    ]).compact
  }

  public func response(from request: Request, context: some RequestContext) throws -> Response {
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(
      status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
  }
}
