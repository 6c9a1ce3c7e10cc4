import BERT
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// An HTTP server for one BERT model, with dynamic batching across requests.
///
/// Built from a ``ServerConfiguration``: it opens the model directory as what
/// it holds (a fine-tuned task, or an encoder for embeddings) and answers JSON:
///
/// | route | model | body → response |
/// |---|---|---|
/// | `POST /v1/embeddings` | embedding | OpenAI: `{"input": str \| [str], "encoding_format": "float" \| "base64", "dimensions": n}` → `{"object":"list","data":[{"object":"embedding","index":i,"embedding":[...]}],"model":...,"usage":{"prompt_tokens":n,"total_tokens":n}}` |
/// | `POST /embed` | embedding | TEI: `{"inputs": str \| [str], "normalize": true, "truncate": false}` → `[[...], ...]` |
/// | `POST /predict` | text classification or regression | `{"inputs": str \| [str \| [a, b]], "truncate": false}` → `[{"label":..., "probabilities":{...}} \| {"score": x}, ...]` |
/// | `POST /rerank` | pair classification or regression | TEI: `{"query": q, "texts": [str], "return_text": false, "label": l}` → `[{"index":i,"score":s,"text"?:...}]`, best first |
/// | `POST /tag` | tagging | `{"inputs": str \| [str]}` → `[[{"entity_group","score","word","start","end"}], ...]` |
/// | `POST /answer` | qa | `{"question": q, "context": c, "top_k": 1}` → `[{"answer","score","start","end"}]` |
/// | `POST /tokenize` | any | `{"inputs": str \| [str]}` → `[{"input_ids","token_type_ids","tokens","offsets"}]` |
/// | `GET /health`, `GET /info`, `GET /metrics` | any | status, the model and runtime, Prometheus metrics |
///
/// Errors are `{"error":{"message":...,"type":...}}` with 400 (malformed JSON,
/// an endpoint the model's task does not do), 413 (body or inputs over the
/// limit), 422 (wrong types, empty input, a text over the max length without
/// `truncate`), 404, 405 and 429 (`Retry-After`).
///
/// ```swift
/// let server = try InferenceServer(configuration: configuration, logger: logger)
/// try await server.run()  // SIGTERM or SIGINT: stop accepting, finish in-flight requests
/// ```
public final class InferenceServer: Sendable {
  public let configuration: ServerConfiguration
  let model: ServedModel
  let metrics: ServerMetrics
  let batcher: DynamicBatcher
  let logger: Logger

  /// Every route: its method and path (the OpenAPI document lists the same).
  public static let routes: [(method: HTTPRequest.Method, path: String)] = [
    (.post, "/v1/embeddings"), (.post, "/embed"), (.post, "/predict"), (.post, "/rerank"),
    (.post, "/tag"), (.post, "/answer"), (.post, "/tokenize"), (.get, "/health"),
    (.get, "/info"), (.get, "/metrics"),
  ]

  /// Opens the model.
  ///
  /// - Throws: ``ServerError`` for a bad setting; the library's errors for a
  ///   directory that cannot be opened.
  public init(configuration: ServerConfiguration, logger: Logger) throws {
    if let problem = configuration.problem { throw ServerError(problem) }
    self.configuration = configuration
    self.logger = logger
    model = try ServedModel(
      directory: configuration.modelDirectory, precision: configuration.precision)
    metrics = ServerMetrics()
    batcher = DynamicBatcher(model: model, configuration: configuration, metrics: metrics)
  }

  /// The task the model does: `embedding`, or a task name of ``TaskKind``.
  public var task: String { model.taskName }

  /// The Hugging Face model's routes, the batcher as a service, bound to
  /// ``ServerConfiguration/host`` and ``ServerConfiguration/port``.
  /// `onServerRunning` gets the bound port (useful with port 0).
  public func application(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
    -> some ApplicationProtocol
  {
    Application(
      router: router(),
      configuration: .init(
        address: .hostname(configuration.host, port: configuration.port),
        serverName: "bert-serve"),
      services: [batcher],
      onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
      logger: logger)
  }

  /// Serves until SIGTERM or SIGINT, then stops accepting connections,
  /// finishes the requests in flight, and returns.
  public func run(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws
  {
    let group = ServiceGroup(
      configuration: .init(
        services: [application(onServerRunning: onServerRunning)],
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
  }

  func router() -> Router<ServerRequestContext> {
    let router = Router(context: ServerRequestContext.self)
    var methods: [String: [HTTPRequest.Method]] = [:]
    for route in Self.routes { methods[route.path, default: []].append(route.method) }
    router.add(middleware: ErrorMiddleware(methods: methods))
    router.post("/v1/embeddings") { request, context in
      await self.handle("/v1/embeddings", request, context, self.embeddings)
    }
    router.post("/embed") { request, context in
      await self.handle("/embed", request, context, self.embed)
    }
    router.post("/predict") { request, context in
      await self.handle("/predict", request, context, self.predict)
    }
    router.post("/rerank") { request, context in
      await self.handle("/rerank", request, context, self.rerank)
    }
    router.post("/tag") { request, context in
      await self.handle("/tag", request, context, self.tag)
    }
    router.post("/answer") { request, context in
      await self.handle("/answer", request, context, self.answer)
    }
    router.post("/tokenize") { request, context in
      await self.handle("/tokenize", request, context, self.tokenize)
    }
    router.get("/health") { request, context in
      self.answered("/health", .ok, OrderedJSON.object([("status", .string("ok"))]).compact)
    }
    router.get("/info") { request, context in
      self.answered("/info", .ok, self.info().compact)
    }
    router.get("/metrics") { request, context in
      let text = self.metrics.render()
      self.metrics.request(route: "/metrics", status: 200, seconds: 0)
      return Response(
        status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
    return router
  }

  /// Reads the body (at most ``ServerConfiguration/maxBodyBytes``), runs the
  /// route in a task that the client's going away cancels (``DisconnectWatcher``), and answers its
  /// JSON or its error; counts the request.
  func handle(
    _ route: String, _ request: Request, _ context: ServerRequestContext,
    _ body: @escaping @Sendable (JSONRequest) async throws -> OrderedJSON
  ) async -> Response {
    let start = Date()
    let timing = RequestTiming()
    batcher.requestStarted()
    defer { batcher.requestFinished() }
    var response: Response
    do {
      let limit = configuration.maxBodyBytes
      if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
        throw APIError.tooLarge(
          "the body has \(length) bytes; the limit is \(limit) bytes")
      }
      let bytes: ByteBuffer
      do {
        bytes = try await request.body.collect(upTo: limit)
      } catch let error as HTTPError where error.status == .contentTooLarge {
        throw APIError.tooLarge("the body is over the limit of \(limit) bytes")
      }
      let json = try JSONRequest(Data(buffer: bytes))
      let result = try await RequestTiming.$current.withValue(timing) {
        try await DisconnectWatcher.run(on: context.channel) { try await body(json) }
      }
      response = Self.json(.ok, result.compact)
    } catch let error as APIError {
      response = Self.json(error.status, error.body, headers: error.headers)
    } catch is CancellationError {
      response = Self.json(
        .init(code: 499, reasonPhrase: "Client Closed Request"),
        APIError(.init(code: 499), "the client went away", type: "cancelled").body)
    } catch {
      logger.error("\(route): \(error)")
      response = Self.json(
        .internalServerError, APIError(.internalServerError, "\(error)", type: "server_error").body)
    }
    let seconds = Date().timeIntervalSince(start)
    response.headers.append(contentsOf: timing.headers(totalSeconds: seconds))
    metrics.request(route: route, status: response.status.code, seconds: seconds)
    return response
  }

  func answered(_ route: String, _ status: HTTPResponse.Status, _ body: String) -> Response {
    metrics.request(route: route, status: status.code, seconds: 0)
    return Self.json(status, body)
  }

  static func json(_ status: HTTPResponse.Status, _ body: String, headers: HTTPFields = [:])
    -> Response
  {
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(
      status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
  }
}

/// A server setting that cannot be used.
public struct ServerError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
