import Foundation
import TestSupport
import Testing

@testable import BERT

/// Retrieval data, batches without duplicate positives, the ranking metrics,
/// and fine-tuning the tiny model into a sentence-transformers directory.
@Suite struct RetrievalTaskTests {
  static func read(_ text: String, _ format: TextFileFormat) throws -> [RetrievalExample] {
    try RetrievalExampleReader.read(bytes: Array(text.utf8), format: format, source: "data")
      .examples
  }

  static func message(_ body: () throws -> Void) -> String {
    do {
      try body()
      return "no error"
    } catch { return "\(error)" }
  }

  // MARK: Data

  @Test func tsvReadsAliasesAndNegativeColumns() throws {
    let examples = try Self.read(
      "anchor\ttext_b\tnegative\tnegative_2\nq1\tp1\tn1\tn2\nq2\tp2\t\tn3\n", .tsv)
    #expect(
      examples == [
        RetrievalExample(query: "q1", positive: "p1", negatives: ["n1", "n2"], line: 2),
        RetrievalExample(query: "q2", positive: "p2", negatives: ["n3"], line: 3),
      ])
    let plain = try Self.read("text_a\ttext_b\nq\tp\n", .tsv)
    #expect(plain == [RetrievalExample(query: "q", positive: "p", line: 2)])
  }

  @Test func jsonLinesReadsNegativesArrayAndAliases() throws {
    let examples = try Self.read(
      """
      {"query": "q1", "positive": "p1", "negatives": ["n1", "n2"]}

      {"anchor": "q2", "positive": "p2"}
      {"text_a": "q3", "text_b": "p3", "negative": "n3"}
      """, .jsonLines)
    #expect(
      examples == [
        RetrievalExample(query: "q1", positive: "p1", negatives: ["n1", "n2"], line: 1),
        RetrievalExample(query: "q2", positive: "p2", line: 3),
        RetrievalExample(query: "q3", positive: "p3", negatives: ["n3"], line: 4),
      ])
  }

  @Test func errorsNameTheFileAndLine() {
    let noPositive = Self.message {
      _ = try Self.read(
        "{\"query\": \"a\", \"positive\": \"b\"}\n{\"query\": \"q\", \"positive\": \"\"}\n",
        .jsonLines)
    }
    #expect(noPositive.contains("data") && noPositive.contains("line 2"), "\(noPositive)")
    #expect(noPositive.contains("positive"), "\(noPositive)")

    let missingKey = Self.message { _ = try Self.read("{\"query\": \"q\"}\n", .jsonLines) }
    #expect(missingKey.contains("line 1") && missingKey.contains("positive"), "\(missingKey)")

    let wrongType = Self.message {
      _ = try Self.read("{\"query\": \"q\", \"positive\": 3}\n", .jsonLines)
    }
    #expect(wrongType.contains("line 1") && wrongType.contains("a number"), "\(wrongType)")

    let badNegative = Self.message {
      _ = try Self.read(
        "{\"query\": \"q\", \"positive\": \"p\", \"negatives\": [\"n\", 1]}\n", .jsonLines)
    }
    #expect(badNegative.contains("negatives[1]"), "\(badNegative)")

    let tsvNoPositive = Self.message { _ = try Self.read("query\tpositive\nq\t \n", .tsv) }
    #expect(
      tsvNoPositive.contains("line 2") && tsvNoPositive.contains("positive"), "\(tsvNoPositive)")

    let noColumn = Self.message { _ = try Self.read("query\tanswer\nq\ta\n", .tsv) }
    #expect(noColumn.contains("line 1") && noColumn.contains("positive"), "\(noColumn)")

    let empty = Self.message { _ = try Self.read("\n\n", .jsonLines) }
    #expect(empty == "\(DatasetError.emptyFile(file: "data"))", "\(empty)")
  }

  // MARK: Batches

  /// 40 examples over 12 distinct positives, batch 8: every batch holds
  /// distinct texts, every example comes exactly once, and the order is the
  /// same for the same seed and epoch and differs between epochs.
  @Test func batchesNeverRepeatAPositive() throws {
    let train = (0..<40).map {
      RetrievalExample(query: "who \($0)", positive: "the cat \($0 % 12)", line: $0 + 1)
    }
    let task = try RetrievalTask(directory: ModelFixtures.tinyModel, train: train, maxLength: 16)
    var options = TrainingOptions()
    options.batchSize = 8
    options.seed = 5
    let trainer = Trainer(options: options, output: FileManager.default.temporaryDirectory)
    for epoch in 0..<3 {
      let batches = trainer.batchOrder(task, epoch: epoch)
      #expect(batches.flatMap { $0 }.sorted() == Array(0..<40))
      for batch in batches {
        #expect(batch.count <= 8)
        let positives = batch.map { train[$0].positive }
        #expect(Set(positives).count == positives.count, "epoch \(epoch): \(positives)")
      }
      #expect(trainer.batchOrder(task, epoch: epoch) == batches)
    }
    #expect(trainer.batchOrder(task, epoch: 0) != trainer.batchOrder(task, epoch: 1))
  }

  /// By hand: texts a a b c b in order, batch 2 → [0, 2] (1 repeats a),
  /// then [1, 3], then [4].
  @Test func batchesDeferARepeatedTextToALaterBatch() {
    let texts = ["a", "a", "b", "c", "b"]
    let batches = RetrievalTask.batchesWithoutDuplicates(
      Array(0..<5), batchSize: 2, texts: { [texts[$0]] })
    #expect(batches == [[0, 2], [1, 3], [4]])
  }

  // MARK: Fine-tuning

  static let train = [
    ("who sat on the mat", "the cat sat on the mat"),
    ("what is a good movie", "this film was great"),
    ("where is the house", "the house is in the city"),
    ("who is happy", "the man was happy"),
    ("what did the cat see", "the cat sat on the mat"),
    ("when is the day", "one day in the city"),
    ("who likes the dog", "the woman love the dog"),
    ("what is bad", "the story was bad"),
  ].enumerated().map {
    RetrievalExample(query: $1.0, positive: $1.1, negatives: ["the world is new"], line: $0 + 1)
  }

  static func options() -> TrainingOptions {
    var options = TrainingOptions()
    options.epochs = 2
    options.batchSize = 4
    options.learningRate = 1e-3
    options.seed = 3
    return options
  }

  /// A tiny fine-tune writes a sentence-transformers directory that
  /// ``BertPipeline`` reloads with mean pooling, normalisation and the max
  /// length, giving the embeddings of the model before saving (1e-6).
  @Test func fineTuneWritesASentenceTransformersDirectory() throws {
    let output = FileManager.default.temporaryDirectory.appendingPathComponent(
      "bert-retrieval-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: output) }
    let task = try RetrievalTask(
      directory: ModelFixtures.tinyModel, train: Self.train, evaluation: Self.train,
      maxLength: 32)
    let result = try Trainer(options: Self.options(), output: output).fit(task)
    #expect(result.best?.primaryMetric == "mrr@10")
    for name in [
      "modules.json", "1_Pooling/config.json", "2_Normalize", "sentence_bert_config.json",
      "config.json", "model.safetensors", "vocab.txt",
    ] {
      #expect(
        FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path), "\(name)")
    }
    #expect(try TaskSettings.read(directory: output)?.task == "retrieval")
    let reloaded = try BertPipeline(directory: output)
    #expect(reloaded.embedding.pooling == [.mean] && reloaded.embedding.normalize)
    #expect(reloaded.embedding.maxLength == 32)
    let texts = ["who sat on the mat", "the house is in the city", "hello world"]
    // The best epoch was saved; with one evaluation set the last may differ, so
    // compare with the task reopened from the directory's own weights.
    let reopened = try RetrievalTask(directory: output, train: [], maxLength: 32)
    let saved = reloaded.embed(texts)
    expectClose(
      saved.flatMap { $0 }, reopened.pipeline.embed(texts).flatMap { $0 }, rtol: 0, atol: 1e-6,
      "reloaded:")
    if result.bestEpoch == 2 {
      expectClose(
        saved.flatMap { $0 }, task.pipeline.embed(texts).flatMap { $0 }, rtol: 0, atol: 1e-6,
        "before saving:")
    }
    let application = try FineTunedTask.openApplication(directory: output)
    #expect(application.taskKind == .retrieval)
    let report = try application.score(
      .other(Self.train), source: "train", batchSize: 4, maxBatchTokens: nil)
    #expect(report.primaryMetric == "mrr@10" && report.exampleCount == Self.train.count)
  }

  /// Interrupted after 2 updates and resumed, the run ends with the weights
  /// of an uninterrupted run, exactly.
  @Test func resumedRunEqualsUninterruptedRun() throws {
    let manager = FileManager.default
    let straightOutput = manager.temporaryDirectory.appendingPathComponent(
      "bert-r-\(UUID().uuidString)")
    let resumedOutput = manager.temporaryDirectory.appendingPathComponent(
      "bert-r-\(UUID().uuidString)")
    defer {
      try? manager.removeItem(at: straightOutput)
      try? manager.removeItem(at: resumedOutput)
    }
    let straight = try RetrievalTask(
      directory: ModelFixtures.tinyModel, train: Self.train, maxLength: 32)
    let straightResult = try Trainer(options: Self.options(), output: straightOutput).fit(straight)

    let first = try RetrievalTask(
      directory: ModelFixtures.tinyModel, train: Self.train, maxLength: 32)
    let interrupted = Trainer(options: Self.options(), output: resumedOutput)
    var updates = 0
    interrupted.onProgress = { _ in updates += 1 }
    interrupted.shouldStop = { updates >= 2 }
    let partial = try interrupted.fit(first)
    #expect(partial.interrupted && partial.steps == 2)

    let second = try RetrievalTask(
      directory: ModelFixtures.tinyModel, train: Self.train, maxLength: 32)
    let resumed = try Trainer(options: Self.options(), output: resumedOutput).fit(second)
    #expect(resumed.steps == straightResult.steps)
    for ((key, a), (_, b)) in zip(straight.namedParameters, second.namedParameters) {
      expectClose(b.value, a.value, rtol: 0, atol: 0, "\(key) after resuming:")
    }
  }
}
