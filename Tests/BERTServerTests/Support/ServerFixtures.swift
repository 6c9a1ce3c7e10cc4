import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import BERTServer

/// The tiny model directories of the BERT tests (`Tests/BERTTests/Fixtures/directories`),
/// read in place from the source tree, and servers built on them.
enum ServerFixtures {
  /// The package root: this file is `Tests/BERTServerTests/Support/ServerFixtures.swift`.
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// `Tests/BERTTests/Fixtures/<path>`.
  static func url(_ path: String) -> URL {
    root.appendingPathComponent("Tests/BERTTests/Fixtures").appendingPathComponent(path)
  }

  /// Mean pooling, normalised, max_seq_length 16 (sentence-transformers' files).
  static let embedding = url("directories/sentence-transformers/mean-normalize")
  /// BertForSequenceClassification (negative, neutral, positive), saved by
  /// transformers: single texts or pairs.
  static let classifier = url("directories/heads/sequence-classification-f32-uncased")
  static let regression = url("directories/heads/regression-f32-uncased")
  /// BertForTokenClassification (O, B-PER, I-PER, B-LOC, I-LOC).
  static let tagger = url("directories/heads/token-classification-f32-uncased")
  /// BertForQuestionAnswering, 64 positions.
  static let reader = url("directories/heads/question-answering-f32-uncased")

  static var logger: Logger {
    var logger = Logger(label: "bert-serve-tests")
    logger.logLevel = .error
    return logger
  }

  /// A server on `directory` (port 0), with `edit` applied to its configuration.
  static func server(
    _ directory: URL, _ edit: (inout ServerConfiguration) -> Void = { _ in }
  ) throws -> InferenceServer {
    var configuration = ServerConfiguration(modelDirectory: directory, port: 0)
    edit(&configuration)
    return try InferenceServer(configuration: configuration, logger: logger)
  }

  /// A JSON file of the fixtures.
  static func json(_ path: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(contentsOf: url(path)))
  }
}

extension InferenceServer {
  /// Runs `body` against the server in process (HummingbirdTesting's router
  /// mode, with the batcher running as a service).
  func test<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value)
    async throws -> Value
  {
    try await application().test(.router, body)
  }
}

extension TestClientProtocol {
  /// POSTs `body` as JSON.
  func post(_ uri: String, _ body: String) async throws -> TestResponse {
    try await executeRequest(
      uri: uri, method: .post, headers: [.contentType: "application/json"],
      body: ByteBuffer(string: body))
  }

  func get(_ uri: String) async throws -> TestResponse {
    try await executeRequest(uri: uri, method: .get, headers: [:], body: nil)
  }

  /// The value of a metric without labels (or with exactly `labels`), from `/metrics`.
  func metric(_ name: String, labels: String = "") async throws -> Double {
    let text = String(buffer: try await get("/metrics").body)
    let key = labels.isEmpty ? name : "\(name){\(labels)}"
    for line in text.split(separator: "\n") where line.hasPrefix(key + " ") {
      return Double(line.dropFirst(key.count + 1))!
    }
    return 0
  }
}

extension TestResponse {
  /// The body as JSON.
  var json: Any { (try? JSONSerialization.jsonObject(with: Data(buffer: body))) ?? NSNull() }
  var text: String { String(buffer: body) }

  /// The `{"error":{"message","type"}}` body's message and type.
  var error: (message: String, type: String)? {
    guard let object = json as? [String: Any], let error = object["error"] as? [String: Any],
      let message = error["message"] as? String, let type = error["type"] as? String
    else { return nil }
    return (message, type)
  }
}

/// Floats of a JSON array.
func floats(_ value: Any?) -> [Float] {
  ((value as? [Any]) ?? []).map { Float(($0 as! NSNumber).doubleValue) }
}

/// The float32 values of OpenAI's base64 format.
func base64Floats(_ text: String) -> [Float] {
  let data = Data(base64Encoded: text)!
  return stride(from: 0, to: data.count, by: 4).map { offset in
    let bits = data[offset..<(offset + 4)].enumerated().reduce(UInt32(0)) {
      $0 | UInt32($1.element) << (8 * UInt32($1.offset))
    }
    return Float(bitPattern: bits)
  }
}

/// The largest absolute difference of two vectors (infinity when the lengths differ).
func largestDifference(_ a: [Float], _ b: [Float]) -> Float {
  guard a.count == b.count else { return .infinity }
  return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
