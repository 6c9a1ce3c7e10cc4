import Hummingbird

/// Answers every error as an ``APIError``: an unknown route 404, a known path
/// with another method 405 (with `Allow`), Hummingbird's own errors with their
/// status, and anything else 500; all with the OpenAI-style body.
struct ErrorMiddleware: RouterMiddleware {
  typealias Context = ServerRequestContext
  /// The methods each path answers.
  let methods: [String: [HTTPRequest.Method]]

  func handle(
    _ request: Request, context: Context,
    next: (Request, Context) async throws -> Response
  ) async throws -> Response {
    do {
      return try await next(request, context)
    } catch let error as APIError {
      throw error
    } catch let error as HTTPError where error.status == .notFound {
      let path = request.uri.path
      if let allowed = methods[path] {
        throw APIError(
          .methodNotAllowed,
          "\(path) does not answer \(request.method); it answers "
            + allowed.map(\.rawValue).joined(separator: ", "),
          type: "method_not_allowed",
          headers: [.allow: allowed.map(\.rawValue).joined(separator: ", ")])
      }
      throw APIError(
        .notFound,
        "there is no route \(path); the routes are "
          + methods.keys.sorted().joined(separator: ", "),
        type: "not_found_error")
    } catch let error as HTTPError {
      throw APIError(
        error.status, error.body ?? error.status.reasonPhrase,
        type: error.status.code == 413 ? "request_too_large" : "invalid_request_error")
    } catch {
      throw APIError(.internalServerError, "\(error)", type: "server_error")
    }
  }
}
