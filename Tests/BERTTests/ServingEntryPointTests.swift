import Foundation
import Testing

@testable import BERT

/// The library entry points a server runs batches through: per-batch logits of
/// the text and QA tasks, one logits row to a prediction, token counts before
/// truncation, and one question's windows and top-k answers.
@Suite struct ServingEntryPointTests {
  /// softmax([1, 2, 3]) = e^k / (e + e² + e³), worked out by hand.
  @Test func predictionOfOneRowIsTheSoftmax() throws {
    let task = try #require(
      try FineTunedTask.open(
        directory: DirectoryFixtures.url("heads/sequence-classification-f32-uncased")
      ).application as? TextClassificationTask)
    let prediction = task.prediction(logits: [1, 2, 3])
    let total = exp(1.0) + exp(2.0) + exp(3.0)
    #expect(prediction.label == "positive")
    let probabilities = try #require(prediction.probabilities)
    #expect(abs(probabilities["negative"]! - exp(1.0) / total) < 1e-12)
    #expect(abs(probabilities["neutral"]! - exp(2.0) / total) < 1e-12)
    #expect(abs(probabilities["positive"]! - exp(3.0) / total) < 1e-12)
  }

  /// The rows of `logits(_:)` on a padded batch equal transformers' logits of
  /// each input alone (the fixture's reference.json).
  @Test func batchLogitsMatchTransformers() throws {
    let path = "heads/sequence-classification-f32-uncased"
    let task = try #require(
      try FineTunedTask.open(directory: DirectoryFixtures.url(path)).application
        as? TextClassificationTask)
    let inputs = try #require(DirectoryFixtures.reference(path)["inputs"] as? [[String: Any]])
      .filter { $0["pair"] is NSNull && !($0["text"] as! String).isEmpty }
    let examples = inputs.map { TextExample(text: $0["text"] as! String) }
    let batch = TextBatch(
      encodings: task.encode(examples), paddingID: task.tokenizer.paddingTokenID)
    let rows = task.logits(batch)
    for (row, input) in zip(rows, inputs) {
      let expected = floats(input["logits"])
      let difference = zip(row, expected).map { abs($0 - $1) }.max() ?? .infinity
      #expect(difference <= 1e-4, "\(input["text"]!): largest difference \(difference)")
    }
  }

  /// mean-normalize keeps 16 tokens (max_seq_length); the fixture records the
  /// untruncated lengths that sentence-transformers' tokenizer gives.
  @Test func tokenCountIsTheLengthBeforeTruncation() throws {
    let path = "sentence-transformers/mean-normalize"
    let pipeline = try BertPipeline(directory: DirectoryFixtures.url(path))
    let reference = try DirectoryFixtures.reference(path)
    let texts = try #require(reference["texts"] as? [String])
    let lengths = try #require(reference["untruncated_lengths"] as? [Int])
    #expect(lengths.contains { $0 > 16 }, "the fixture has no text over the max length")
    #expect(texts.map { pipeline.tokenCount($0) } == lengths)
    let encoded = pipeline.encode(texts).map(\.count)
    #expect(encoded == lengths.map { min($0, 16) })
  }

  /// Top-k answers of one question equal the first k of `predict`'s n-best
  /// list, on a passage long enough for several windows.
  @Test func topKAnswersOfOneQuestionEqualPredict() throws {
    let task = try #require(
      try FineTunedTask.open(
        directory: DirectoryFixtures.url("heads/question-answering-f32-uncased")
      )
      .application as? QuestionAnsweringTask)
    let context = Array(repeating: "The cat sat on the mat. The dog was in the house.", count: 8)
      .joined(separator: " ")
    let question = "Who sat on the mat?"
    let windows = try task.windows(question: question, context: context)
    #expect(windows.count > 1, "the passage fits one window of \(task.maxLength) tokens")
    let batch = TextBatch(
      encodings: windows.map(\.encoding), paddingID: task.tokenizer.paddingTokenID)
    let answers = try task.answers(
      context: context, windows: windows.map(\.window), logits: task.spanLogits(batch), topK: 3)
    let expected = try task.predict(
      [QAExample(id: "q", title: "", question: question, context: context, answers: [])])[0]
    #expect(answers.count == 3)
    #expect(answers.map(\.text) == expected.prefix(3).map(\.text))
    #expect(answers.map(\.scalarRange) == expected.prefix(3).map(\.scalarRange))
    let difference = zip(answers, expected).map { abs($0.probability - $1.probability) }.max()!
    #expect(difference <= 1e-6, "largest probability difference \(difference)")
  }
}
