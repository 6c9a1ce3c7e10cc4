import BERT
import Foundation
import HummingbirdTesting
import Testing

@testable import BERTServer

/// `/predict`, `/rerank`, `/tag` and `/answer` on the tiny fine-tuned heads,
/// against transformers' outputs where the fixtures hold them.
@Suite struct TaskRoutesTests {
  /// The fixture's inputs with transformers' logits of each alone.
  static func reference(_ directory: URL) throws -> [(text: String, pair: String?, logits: [Float])]
  {
    let object =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: directory.appendingPathComponent("reference.json")))
      as! [String: Any]
    return (object["inputs"] as! [[String: Any]]).map {
      ($0["text"] as! String, $0["pair"] as? String, floats($0["logits"]))
    }
  }

  static func softmax(_ logits: [Float]) -> [Double] {
    let peak = Double(logits.max()!)
    let exps = logits.map { exp(Double($0) - peak) }
    let total = exps.reduce(0, +)
    return exps.map { $0 / total }
  }

  static func body(_ fields: [String: Any]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
  }

  @Test func predictGivesLabelsAndProbabilitiesOfTransformersLogits() async throws {
    let labels = ["negative", "neutral", "positive"]
    let inputs = try Self.reference(ServerFixtures.classifier).filter { !$0.text.isEmpty }
    let singles = inputs.filter { $0.pair == nil }
    let pairs = inputs.filter { $0.pair.map { !$0.isEmpty } ?? false }
    let server = try ServerFixtures.server(ServerFixtures.classifier)
    try await server.test { client in
      for group in [singles, pairs] {
        let sent: [Any] = group.map { input -> Any in
          input.pair.map { [input.text, $0] } ?? input.text
        }
        let response = try await client.post("/predict", try Self.body(["inputs": sent]))
        #expect(response.status == .ok, "\(response.text)")
        let predictions = try #require(response.json as? [[String: Any]])
        #expect(predictions.count == group.count)
        for (prediction, input) in zip(predictions, group) {
          let expected = Self.softmax(input.logits)
          let best = labels[expected.indices.max { expected[$0] < expected[$1] }!]
          #expect(prediction["label"] as? String == best, "\(input.text)")
          let probabilities = try #require(prediction["probabilities"] as? [String: Double])
          let difference = labels.indices.map { abs(probabilities[labels[$0]]! - expected[$0]) }
            .max()!
          #expect(difference <= 1e-5, "\(input.text): largest difference \(difference)")
        }
      }
    }
  }

  @Test func predictGivesTheRegressionScore() async throws {
    let inputs = try Self.reference(ServerFixtures.regression).filter {
      !$0.text.isEmpty && $0.pair == nil
    }
    let server = try ServerFixtures.server(ServerFixtures.regression)
    try await server.test { client in
      let response = try await client.post(
        "/predict", try Self.body(["inputs": inputs.map(\.text)]))
      let predictions = try #require(response.json as? [[String: Any]])
      for (prediction, input) in zip(predictions, inputs) {
        #expect(prediction.keys.sorted() == ["score"])
        let score = try #require(prediction["score"] as? Double)
        #expect(abs(score - Double(input.logits[0])) <= 1e-5, "\(input.text)")
      }
    }
  }

  /// Rerank scores are the pairs' probability of the last label (positive) or
  /// of `label`, sorted best first; one pair checked against transformers.
  @Test func rerankSortsThePairsByScore() async throws {
    let reference = try Self.reference(ServerFixtures.classifier).first {
      $0.text == "Where is the dog?"
    }!
    let query = reference.text
    let texts = ["the cat sat on the mat", reference.pair!, "hello world", "a very bad movie"]
    let server = try ServerFixtures.server(ServerFixtures.classifier)
    try await server.test { client in
      let predicted = try #require(
        try await client.post(
          "/predict", try Self.body(["inputs": texts.map { [query, $0] }])
        ).json as? [[String: Any]])
      for label in ["positive", "neutral"] {
        var fields: [String: Any] = ["query": query, "texts": texts, "return_text": true]
        if label != "positive" { fields["label"] = label }
        let ranked = try #require(
          try await client.post("/rerank", try Self.body(fields)).json as? [[String: Any]])
        let scores = predicted.map { ($0["probabilities"] as! [String: Double])[label]! }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        #expect(ranked.map { $0["index"] as! Int } == order, "label \(label)")
        #expect(ranked.map { $0["score"] as! Double } == order.map { scores[$0] })
        #expect(ranked.map { $0["text"] as! String } == order.map { texts[$0] })
      }
      let ranked = try #require(
        try await client.post("/rerank", try Self.body(["query": query, "texts": texts])).json
          as? [[String: Any]])
      let one = try #require(ranked.first { $0["index"] as? Int == 1 })
      #expect(one["text"] == nil)
      let expected = Self.softmax(reference.logits)[2]
      #expect(abs((one["score"] as! Double) - expected) <= 1e-5)
    }
  }

  /// `/tag` gives transformers' pipeline entities (aggregation_strategy="simple").
  @Test func tagGroupsEntitiesAsTransformers() async throws {
    let cases = try ServerFixtures.json("entities/simple.json") as! [[String: Any]]
    let server = try ServerFixtures.server(ServerFixtures.tagger)
    try await server.test { client in
      let response = try await client.post(
        "/tag", try Self.body(["inputs": cases.map { $0["text"] as! String }]))
      let found = try #require(response.json as? [[[String: Any]]])
      #expect(found.count == cases.count)
      for (entities, expected) in zip(found, cases) {
        let wanted = expected["entities"] as! [[String: Any]]
        #expect(entities.count == wanted.count, "\(expected["text"]!)")
        for (entity, want) in zip(entities, wanted) {
          for key in ["entity_group", "word"] {
            #expect(entity[key] as? String == want[key] as? String, "\(expected["text"]!) \(key)")
          }
          for key in ["start", "end"] {
            #expect(entity[key] as? Int == want[key] as? Int, "\(expected["text"]!) \(key)")
          }
          let difference = abs((entity["score"] as! Double) - (want["score"] as! Double))
          #expect(difference <= 1e-5, "\(expected["text"]!): score difference \(difference)")
        }
      }
    }
  }

  /// `/answer` with `top_k` on a passage of several windows: the library's n-best list.
  @Test func answerGivesTopKOverStrideWindows() async throws {
    let context = Array(repeating: "The cat sat on the mat. The dog was in the house.", count: 8)
      .joined(separator: " ")
    let question = "Who sat on the mat?"
    let task = try #require(
      try FineTunedTask.open(directory: ServerFixtures.reader).application as? QuestionAnsweringTask
    )
    #expect(try task.windows(question: question, context: context).count > 1)
    let expected = try task.predict(
      [QAExample(id: "q", title: "", question: question, context: context, answers: [])])[0]
    let server = try ServerFixtures.server(ServerFixtures.reader)
    try await server.test { client in
      for topK in [1, 3] {
        let response = try await client.post(
          "/answer", try Self.body(["question": question, "context": context, "top_k": topK]))
        let answers = try #require(response.json as? [[String: Any]], "\(response.text)")
        #expect(answers.count == topK)
        for (answer, want) in zip(answers, expected) {
          #expect(answer["answer"] as? String == want.text)
          #expect(answer["start"] as? Int == want.scalarRange?.lowerBound)
          #expect(answer["end"] as? Int == want.scalarRange?.upperBound)
          #expect(abs((answer["score"] as! Double) - Double(want.probability)) <= 1e-6)
          let start = answer["start"] as! Int
          let end = answer["end"] as! Int
          let scalars = Array(context.unicodeScalars)[start..<end]
          #expect(String(String.UnicodeScalarView(scalars)) == want.text)
        }
      }
    }
  }
}
