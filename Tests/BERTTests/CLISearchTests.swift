import Foundation
import Testing

@testable import BERT

/// `bert index` and `bert search` end to end on the tiny model: scores against
/// the dot products of `bert encode`'s embeddings, BM25 and hybrid output,
/// append, and the errors (duplicate ids, K ≤ 0, another model, a truncated index).
@Suite struct CLISearchTests {
  typealias H = CLIHarness

  static let corpus = """
    {"id": "cat", "text": "the cat sat on the mat"}
    {"id": "dog", "text": "a dog barked at the mailman"}
    {"id": "sea", "text": "waves crash on the rocky shore"}
    {"id": "tea", "text": "she poured a cup of green tea"}
    {"id": "car", "text": "the red car drove down the road"}
    """

  static func write(_ text: String, _ name: String) throws -> URL {
    let url = H.temporaryDirectory(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url
  }

  static func embeddings(_ texts: [String]) throws -> [[Double]] {
    let run = try H.run(["encode", "--model", H.tinyModel], stdin: texts.joined(separator: "\n"))
    #expect(run.status == 0, "\(run.stderr)")
    return try run.jsonLines().map { try #require($0["embedding"] as? [Double]) }
  }

  @Test func indexThenSearchGivesTheEncodedDotProducts() throws {
    let corpus = try Self.write(Self.corpus, "corpus.jsonl")
    let index = H.temporaryDirectory("index.safetensors")
    defer {
      try? FileManager.default.removeItem(at: corpus)
      try? FileManager.default.removeItem(at: index)
    }
    let built = try H.run([
      "index", "--model", H.tinyModel, "--corpus", corpus.path, "--output", index.path,
    ])
    #expect(built.status == 0, "\(built.stderr)")

    let queries = ["a cat on a mat", "green tea"]
    let run = try H.run(
      ["search", "--index", index.path, "--model", H.tinyModel, "--top-k", "3"],
      stdin: queries.joined(separator: "\n"))
    #expect(run.status == 0, "\(run.stderr)")
    let lines = try run.jsonLines()
    #expect(lines.count == 2)

    let documents = try CorpusReader.parse(Self.corpus, file: "corpus")
    let documentVectors = try Self.embeddings(documents.map(\.text))
    let queryVectors = try Self.embeddings(queries)
    for (row, line) in lines.enumerated() {
      #expect(line["query_id"] as? String == String(row + 1))
      let results = try #require(line["results"] as? [[String: Any]])
      #expect(results.count == 3)
      let expected = documentVectors.enumerated().map { i, v in
        (documents[i].id, zip(v, queryVectors[row]).reduce(0) { $0 + $1.0 * $1.1 })
      }.sorted { $0.1 > $1.1 }
      for (result, reference) in zip(results, expected) {
        #expect(result["id"] as? String == reference.0)
        let score = try #require(result["score"] as? Double)
        #expect(
          abs(score - reference.1) <= 1e-4 * max(1, abs(reference.1)), "\(score) vs \(reference.1)")
      }
    }

    // BM25 over the corpus: the library's ranking, as JSON lines.
    let lexical = try H.run(
      ["search", "--bm25", "--corpus", corpus.path, "--top-k", "2"], stdin: "green tea\nthe road")
    #expect(lexical.status == 0, "\(lexical.stderr)")
    let ids = try lexical.jsonLines().map {
      (($0["results"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
    }
    #expect(ids[0] == ["tea"])
    #expect(ids[1].first == "car")

    let hybrid = try H.run(
      [
        "search", "--index", index.path, "--model", H.tinyModel, "--hybrid", "--corpus",
        corpus.path, "--top-k", "5",
      ], stdin: "green tea")
    #expect(hybrid.status == 0, "\(hybrid.stderr)")
    let fused = try #require(try hybrid.jsonLines().first?["results"] as? [[String: Any]])
    #expect(fused.count == 5)
    // tea is first in BM25 (the only match); its fused score is at least 1/61 + 1/65.
    let teaScore = try #require(fused.first { $0["id"] as? String == "tea" }?["score"] as? Double)
    #expect(teaScore >= 1.0 / 61 + 1.0 / 65 - 1e-6)
  }

  @Test func appendAndItsErrors() throws {
    let first = try Self.write("one text\nanother text\n", "first.txt")
    let second = try Self.write("{\"id\": \"x\", \"text\": \"a third\"}\n", "second.jsonl")
    let clash = try Self.write("{\"id\": \"2\", \"text\": \"clash\"}\n", "clash.jsonl")
    let index = H.temporaryDirectory("index.safetensors")
    defer {
      for url in [first, second, clash, index] { try? FileManager.default.removeItem(at: url) }
    }
    let base = ["--model", H.tinyModel, "--output", index.path]
    #expect(try H.run(["index", "--corpus", first.path] + base).status == 0)
    let appended = try H.run(["index", "--corpus", second.path, "--append"] + base)
    #expect(appended.status == 0, "\(appended.stderr)")
    #expect(try DenseIndex(contentsOf: index).ids == ["1", "2", "x"])
    let refused = try H.run(["index", "--corpus", clash.path, "--append"] + base)
    #expect(refused.status != 0)
    #expect(refused.stderr.contains("\"2\"") && refused.stderr.contains(clash.path))

    // An id twice in one corpus names both lines.
    let twice = try Self.write(
      "{\"id\": \"a\", \"text\": \"x\"}\n{\"id\": \"b\", \"text\": \"y\"}\n{\"id\": \"a\", \"text\": \"z\"}\n",
      "twice.jsonl")
    defer { try? FileManager.default.removeItem(at: twice) }
    let duplicate = try H.run(["index", "--corpus", twice.path] + base)
    #expect(duplicate.status != 0)
    #expect(duplicate.stderr.contains("\(twice.path):3") && duplicate.stderr.contains("line 1"))

    // Without --model: the model recorded in the index.
    let recorded = try H.run(["search", "--index", index.path, "--top-k", "2"], stdin: "one")
    #expect(recorded.status == 0, "\(recorded.stderr)")
    #expect(try recorded.jsonLines().first?["query_id"] as? String == "1")

    // K ≤ 0.
    let zero = try H.run(["search", "--index", index.path, "--top-k", "0"], stdin: "q")
    #expect(zero.status != 0 && zero.stderr.contains("--top-k"))

    // Another model: the tiny model with a changed config.json.
    let other = try ModelFixtures.copy(ModelFixtures.tinyModel)
    defer { try? FileManager.default.removeItem(at: other) }
    let config = other.appendingPathComponent("config.json")
    var text = try String(contentsOf: config, encoding: .utf8)
    text = text.replacingOccurrences(
      of: "{", with: "{\"note\": \"changed\", ", options: [], range: text.range(of: "{"))
    try text.write(to: config, atomically: true, encoding: .utf8)
    let mismatch = try H.run(["search", "--index", index.path, "--model", other.path], stdin: "q")
    #expect(mismatch.status != 0)
    #expect(mismatch.stderr.contains(index.path) && mismatch.stderr.contains("re-index"))

    // A truncated index: an error naming the file, not a crash.
    let bytes = try Data(contentsOf: index)
    try bytes.prefix(bytes.count - 5).write(to: index)
    let truncated = try H.run(
      ["search", "--index", index.path, "--model", H.tinyModel], stdin: "q")
    #expect(truncated.status == 1, "\(truncated.stderr)")
    #expect(truncated.stderr.contains(index.path))
  }

  @Test func evaluateRetrievalReportsTheMetrics() throws {
    let corpus = try Self.write(Self.corpus, "corpus.jsonl")
    // BM25 by hand: "green tea" finds only tea (rank 1); "the road": car, the
    // only document with "road" and the most "the", ranks 1; "a dog": dog
    // (with "a" and "dog") before tea (with "a" only), so the relevant tea is at rank 2.
    let queries = try Self.write(
      """
      {"id": "q1", "text": "green tea", "relevant": ["tea"]}
      {"id": "q2", "text": "the road", "relevant": ["car"]}
      {"id": "q3", "text": "a dog", "relevant": ["tea"]}
      """, "queries.jsonl")
    defer {
      try? FileManager.default.removeItem(at: corpus)
      try? FileManager.default.removeItem(at: queries)
    }
    let run = try H.run([
      "evaluate", "--task", "retrieval", "--queries", queries.path, "--corpus", corpus.path,
      "--bm25",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    let metrics = try #require(try run.json()["metrics"] as? [String: Double])
    #expect(abs(metrics["mrr@10"]! - (1 + 1 + 0.5) / 3) < 1e-12)
    #expect(abs(metrics["recall@1"]! - 2.0 / 3) < 1e-12)
    #expect(metrics["recall@5"] == 1)
    // nDCG@10: 1, 1 and 1/log2(3).
    #expect(abs(metrics["ndcg@10"]! - (2 + 1 / log2(3.0)) / 3) < 1e-12)

    let dense = try H.run([
      "evaluate", "--task", "retrieval", "--model", H.tinyModel, "--queries", queries.path,
      "--corpus", corpus.path,
    ])
    #expect(dense.status == 0, "\(dense.stderr)")
    let names = try #require(try dense.json()["metrics"] as? [String: Double]).keys.sorted()
    #expect(
      names == ["mrr@10", "ndcg@10", "recall@1", "recall@10", "recall@100", "recall@5"])

    let missing = try H.run(["evaluate", "--task", "retrieval", "--corpus", corpus.path])
    #expect(missing.status != 0 && missing.stderr.contains("--queries"))
  }

  @Test func rerankRescoresWithAPairModelAndRefusesOtherTasks() throws {
    let corpus = try Self.write(Self.corpus, "corpus.jsonl")
    let index = H.temporaryDirectory("index.safetensors")
    let pairModel = H.temporaryDirectory("pair")
    let tagger = H.temporaryDirectory("tagging")
    defer {
      for url in [corpus, index, pairModel, tagger] { try? FileManager.default.removeItem(at: url) }
    }
    let common = ["--model", H.tinyModel, "--epochs", "1", "--batch-size", "4"]
    let pair = try H.run(
      [
        "finetune", "--task", "pair-classification", "--train", H.data("pairs-train.tsv"),
        "--output", pairModel.path,
      ] + common)
    #expect(pair.status == 0, "\(pair.stderr)")
    #expect(
      try H.run(["index", "--model", H.tinyModel, "--corpus", corpus.path, "--output", index.path])
        .status == 0)

    let query = "who sat on the mat ?"
    let run = try H.run(
      [
        "search", "--index", index.path, "--model", H.tinyModel, "--corpus", corpus.path,
        "--rerank", pairModel.path, "--rerank-top", "5", "--top-k", "5",
      ], stdin: query)
    #expect(run.status == 0, "\(run.stderr)")
    let results = try #require(try run.jsonLines().first?["results"] as? [[String: Any]])
    #expect(results.count == 5)

    // The reference: bert predict's probability of the model's last label for each pair.
    let config = try #require(
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: pairModel.appendingPathComponent("config.json"))) as? [String: Any])
    let labels = try #require(config["id2label"] as? [String: String])
    let last = try #require(labels[String(labels.count - 1)])
    let documents = try CorpusReader.parse(Self.corpus, file: "corpus")
    let predicted = try H.run(
      ["predict", "--model", pairModel.path],
      stdin: documents.map { "\(query)\t\($0.text)" }.joined(separator: "\n"))
    #expect(predicted.status == 0, "\(predicted.stderr)")
    let probabilities = try predicted.jsonLines().map {
      try #require(($0["probabilities"] as? [String: Double])?[last])
    }
    let expected = zip(documents.map(\.id), probabilities).sorted { $0.1 > $1.1 }
    for (result, reference) in zip(results, expected) {
      let score = try #require(result["score"] as? Double)
      #expect(abs(score - reference.1) <= 1e-5, "\(result) vs \(reference)")
    }
    #expect(Set(results.compactMap { $0["id"] as? String }) == Set(documents.map(\.id)))

    // A tagging model is not a cross-encoder: refused, naming its task.
    let tagging = try H.run(
      [
        "finetune", "--task", "tagging", "--train", H.data("tags-train.conll"), "--output",
        tagger.path,
      ] + common)
    #expect(tagging.status == 0, "\(tagging.stderr)")
    let refused = try H.run(
      [
        "search", "--index", index.path, "--model", H.tinyModel, "--corpus", corpus.path,
        "--rerank", tagger.path,
      ], stdin: query)
    #expect(refused.status != 0)
    #expect(refused.stderr.contains("tagging") && refused.stderr.contains("pair-classification"))
  }
}
