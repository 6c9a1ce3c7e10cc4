import Foundation
import Testing

@testable import BERT

/// The model directories of `Fixtures/directories`, as transformers 5 and
/// sentence-transformers write them, opened from temporary copies.
enum DirectoryFixtures {
  /// `Fixtures/directories/<path>`.
  static func url(_ path: String) -> URL { ModelFixtures.url("directories/\(path)") }

  /// The names of `Fixtures/directories/heads/`.
  static let heads = [
    "question-answering-bf16-uncased", "question-answering-f16-cased",
    "question-answering-f32-uncased", "regression-f16-cased", "regression-f32-uncased",
    "sequence-classification-bf16-cased", "sequence-classification-f16-cased",
    "sequence-classification-f32-cased", "sequence-classification-f32-uncased",
    "token-classification-bf16-uncased", "token-classification-f16-cased",
    "token-classification-f32-uncased",
  ]

  /// The names of `Fixtures/directories/sentence-transformers/`.
  static let sentenceTransformers = [
    "mean-normalize", "cls-subfolder", "max-pooling", "mean-sqrt-len",
  ]

  /// A temporary copy of the fixture directory at `path`, after `edit` has
  /// changed it. The fixtures hold `tokenizer.json` and no `vocab.txt`, as
  /// transformers 5 writes them.
  static func copy(_ path: String, editing edit: (URL) throws -> Void = { _ in }) throws -> URL {
    let target = FileManager.default.temporaryDirectory.appendingPathComponent(
      "bert-directory-\(UUID().uuidString)")
    try FileManager.default.copyItem(at: url(path), to: target)
    try edit(target)
    return target
  }

  /// A fixture's `reference.json` as a JSON object.
  static func reference(_ path: String) throws -> [String: Any] {
    let data = try Data(contentsOf: url(path).appendingPathComponent("reference.json"))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
  }

  /// Writes a JSON value to `url`.
  static func write(_ value: Any, to url: URL) throws {
    try FileManager.default.createDirectory(
      at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]).write(to: url)
  }
}

/// Numbers of a JSON array, as Float.
func floats(_ value: Any?) -> [Float] {
  (value as? [Any] ?? []).map { Float(truncating: $0 as! NSNumber) }
}

/// The cosine of two vectors, in Double.
func cosine(_ a: [Float], _ b: [Float]) -> Double {
  let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
  return dot / (norm(a) * norm(b))
}

/// The L2 norm of a vector, in Double.
func norm(_ a: [Float]) -> Double { a.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
