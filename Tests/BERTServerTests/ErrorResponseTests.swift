import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import BERTServer

/// Every row of the limits-and-errors table: the status, the OpenAI-style
/// body `{"error":{"message","type"}}`, and a message that names what is wrong.
@Suite struct ErrorResponseTests {
  /// A 28-token text (the fixture records its untruncated length) for a model of 16.
  static let long =
    "I love it. You like it. She was happy. He was sad. We see the day. They make a house."

  static func expectError(
    _ response: TestResponse, _ status: HTTPResponse.Status, type: String = "invalid_request_error",
    mentions parts: [String], sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(response.status == status, "\(response.text)", sourceLocation: sourceLocation)
    #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
    guard let error = response.error else {
      Issue.record(
        "not an OpenAI-style error body: \(response.text)", sourceLocation: sourceLocation)
      return
    }
    #expect(error.type == type, sourceLocation: sourceLocation)
    for part in parts {
      #expect(
        error.message.contains(part), "'\(error.message)' lacks '\(part)'",
        sourceLocation: sourceLocation)
    }
  }

  @Test func fullQueueAnswers429WithRetryAfter() async throws {
    let server = try ServerFixtures.server(ServerFixtures.embedding) {
      $0.maxQueue = 1
      $0.maxWaitMilliseconds = 1500
      $0.alwaysWaits = true
    }
    try await server.test { client in
      async let first = client.post("/embed", #"{"inputs":"the cat sat"}"#)
      while server.batcher.queueDepth < 1 { try await Task.sleep(for: .milliseconds(5)) }
      let second = try await client.post("/embed", #"{"inputs":"hello"}"#)
      Self.expectError(
        second, .tooManyRequests, type: "rate_limit_exceeded", mentions: ["queue is full"])
      #expect(second.headers[.retryAfter] == "1")
      #expect(try await first.status == .ok)
    }
  }

  @Test func bodyOrInputsOverTheLimitAnswer413() async throws {
    let server = try ServerFixtures.server(ServerFixtures.embedding) {
      $0.maxBodyBytes = 64
      $0.maxInputs = 2
    }
    try await server.test { client in
      let big = #"{"inputs":""# + String(repeating: "a ", count: 60) + #""}"#
      Self.expectError(
        try await client.post("/embed", big), .contentTooLarge, type: "request_too_large",
        mentions: ["64 bytes"])
      Self.expectError(
        try await client.post("/embed", #"{"inputs":["a","b","c"]}"#), .contentTooLarge,
        type: "request_too_large", mentions: ["3 inputs", "limit is 2"])
    }
  }

  @Test func malformedJSONAndWrongTypesAnswer400Or422() async throws {
    let server = try ServerFixtures.server(ServerFixtures.embedding)
    try await server.test { client in
      Self.expectError(
        try await client.post("/embed", #"{"inputs": "#), .badRequest, mentions: ["not valid JSON"])
      Self.expectError(
        try await client.post("/embed", "[1, 2]"), .badRequest,
        mentions: ["JSON object", "an array"])
      Self.expectError(try await client.post("/embed", ""), .badRequest, mentions: ["empty"])
      let rows: [(String, String, [String])] = [
        ("/v1/embeddings", #"{"input": 5}"#, ["\"input\"", "a number"]),
        ("/v1/embeddings", #"{}"#, ["\"input\"", "required"]),
        ("/v1/embeddings", #"{"input": ["a", 7]}"#, ["\"input\"[1]", "a string"]),
        ("/v1/embeddings", #"{"input": [[1, 2]]}"#, ["token ids"]),
        (
          "/v1/embeddings", #"{"input": "a", "encoding_format": "hex"}"#,
          ["encoding_format", "hex"]
        ),
        ("/v1/embeddings", #"{"input": "a", "dimensions": 0}"#, ["dimensions", "at least 1"]),
        ("/v1/embeddings", #"{"input": "a", "dimensions": 33}"#, ["dimensions", "32"]),
        ("/v1/embeddings", #"{"input": "a", "dimensions": "8"}"#, ["dimensions", "an integer"]),
        ("/embed", #"{"inputs": "a", "normalize": "yes"}"#, ["normalize", "true or false"]),
        ("/embed", #"{"inputs": ["a", ""]}"#, ["\"inputs\"[1]", "empty string"]),
      ]
      for (route, body, parts) in rows {
        Self.expectError(try await client.post(route, body), .unprocessableContent, mentions: parts)
      }
    }
  }

  @Test func textsOverTheMaxLengthAnswer422UnlessTruncated() async throws {
    let embedder = try ServerFixtures.server(ServerFixtures.embedding)
    try await embedder.test { client in
      for route in ["/v1/embeddings", "/embed"] {
        let field = route == "/embed" ? "inputs" : "input"
        let body = #"{"\#(field)": ["hello", "\#(Self.long)"]}"#
        Self.expectError(
          try await client.post(route, body), .unprocessableContent,
          mentions: ["\"\(field)\"[1]", "28 tokens", "max length is 16", "truncate"])
        let truncated = #"{"\#(field)": ["hello", "\#(Self.long)"], "truncate": true}"#
        #expect(try await client.post(route, truncated).status == .ok)
      }
    }
    let longer = Array(repeating: "the cat sat on the mat", count: 12).joined(separator: " ")
    let tagger = try ServerFixtures.server(ServerFixtures.tagger)
    try await tagger.test { client in
      Self.expectError(
        try await client.post("/tag", #"{"inputs": "\#(longer)"}"#), .unprocessableContent,
        mentions: ["74 tokens", "max length is 64"])
      #expect(
        try await client.post("/tag", #"{"inputs": "\#(longer)", "truncate": true}"#).status == .ok)
    }
    let classifier = try ServerFixtures.server(ServerFixtures.classifier)
    try await classifier.test { client in
      Self.expectError(
        try await client.post("/predict", #"{"inputs": [["hello", "\#(longer)"]]}"#),
        .unprocessableContent, mentions: ["\"inputs\"[0]", "76 tokens", "max length is 64"])
    }
  }

  @Test func emptyInputListsAnswer422() async throws {
    let embedder = try ServerFixtures.server(ServerFixtures.embedding)
    try await embedder.test { client in
      Self.expectError(
        try await client.post("/v1/embeddings", #"{"input": []}"#), .unprocessableContent,
        mentions: ["\"input\" is empty"])
      Self.expectError(
        try await client.post("/embed", #"{"inputs": []}"#), .unprocessableContent,
        mentions: ["\"inputs\" is empty"])
      Self.expectError(
        try await client.post("/tokenize", #"{"inputs": []}"#), .unprocessableContent,
        mentions: ["\"inputs\" is empty"])
    }
    let classifier = try ServerFixtures.server(ServerFixtures.classifier)
    try await classifier.test { client in
      Self.expectError(
        try await client.post("/predict", #"{"inputs": []}"#), .unprocessableContent,
        mentions: ["\"inputs\" is empty"])
      Self.expectError(
        try await client.post("/rerank", #"{"query": "a", "texts": []}"#), .unprocessableContent,
        mentions: ["\"texts\" is empty"])
      Self.expectError(
        try await client.post("/predict", #"{"inputs": ["a", ["b", "c"]]}"#), .unprocessableContent,
        mentions: ["mixes single texts and pairs"])
      Self.expectError(
        try await client.post("/rerank", #"{"query": "a", "texts": ["b"], "label": "maybe"}"#),
        .unprocessableContent, mentions: ["maybe", "negative, neutral, positive"])
    }
    let reader = try ServerFixtures.server(ServerFixtures.reader)
    try await reader.test { client in
      Self.expectError(
        try await client.post("/answer", #"{"question": "who?", "context": ""}"#),
        .unprocessableContent,
        mentions: ["\"context\" is an empty string"])
      Self.expectError(
        try await client.post("/answer", #"{"question": "who?", "context": "a", "top_k": 0}"#),
        .unprocessableContent, mentions: ["top_k", "at least 1"])
    }
  }

  @Test func unknownRoutesAnswer404AndWrongMethods405() async throws {
    let server = try ServerFixtures.server(ServerFixtures.embedding)
    try await server.test { client in
      Self.expectError(
        try await client.get("/v2/embeddings"), .notFound, type: "not_found_error",
        mentions: ["/v2/embeddings", "/v1/embeddings"])
      let wrong = try await client.get("/embed")
      Self.expectError(
        wrong, .methodNotAllowed, type: "method_not_allowed", mentions: ["/embed", "GET", "POST"])
      #expect(wrong.headers[.allow] == "POST")
      let post = try await client.post("/health", "{}")
      Self.expectError(post, .methodNotAllowed, type: "method_not_allowed", mentions: ["/health"])
      #expect(post.headers[.allow] == "GET")
    }
  }

  /// An endpoint that the model's task does not do: 400 naming both.
  @Test func endpointsOfAnotherTaskAnswer400NamingBoth() async throws {
    let embedder = try ServerFixtures.server(ServerFixtures.embedding)
    try await embedder.test { client in
      for (route, body) in [
        ("/predict", #"{"inputs": "a"}"#), ("/tag", #"{"inputs": "a"}"#),
        ("/rerank", #"{"query": "a", "texts": ["b"]}"#),
        ("/answer", #"{"question": "a", "context": "b"}"#),
      ] {
        Self.expectError(
          try await client.post(route, body), .badRequest, mentions: [route, "embedding model"])
      }
    }
    let tagger = try ServerFixtures.server(ServerFixtures.tagger)
    try await tagger.test { client in
      Self.expectError(
        try await client.post("/v1/embeddings", #"{"input": "a"}"#), .badRequest,
        mentions: ["/v1/embeddings", "tagging model"])
    }
    let regression = try ServerFixtures.server(ServerFixtures.regression)
    try await regression.test { client in
      Self.expectError(
        try await client.post("/answer", #"{"question": "a", "context": "b"}"#), .badRequest,
        mentions: ["/answer", "regression model"])
    }
  }
}
