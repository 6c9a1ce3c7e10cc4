import Foundation
import TestSupport
import Testing

@testable import BERT

/// Fine-tuning the tiny fixture model on small synthetic tasks: each head must
/// learn its task, resuming must give the same result as not stopping, and a
/// non-finite loss must stop training without touching the last checkpoint.
@Suite struct TrainingTests {
  static let base = ModelFixtures.tinyModel
  static let fillers = [
    "the", "a", "movie", "film", "story", "on", "in", "of", "to", "with", "mat", "house", "time",
    "day",
  ]

  static func temporaryDirectory() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("bert-train-\(UUID().uuidString)")
  }

  static func sentence(_ generator: inout SeededGenerator, length: Int, insert word: String)
    -> [String]
  {
    var words = (0..<length).map { _ in fillers[Int(generator.next() % UInt64(fillers.count))] }
    words.insert(word, at: Int(generator.next() % UInt64(length + 1)))
    return words
  }

  /// Sentiment from one word: "good"/"great"/"love" → positive, "bad"/"sad" → negative.
  static func sentimentExamples(_ count: Int, seed: UInt64) -> [TextExample] {
    var generator = SeededGenerator(seed: seed)
    let cues = [
      ("good", "positive"), ("great", "positive"), ("love", "positive"), ("bad", "negative"),
      ("sad", "negative"),
    ]
    return (0..<count).map { index in
      let (cue, label) = cues[Int(generator.next() % 5)]
      let words = sentence(&generator, length: 5, insert: cue)
      return TextExample(text: words.joined(separator: " "), label: label, line: index + 2)
    }
  }

  static func options(epochs: Int, batchSize: Int = 16, learningRate: Float = 2e-3)
    -> TrainingOptions
  {
    var options = TrainingOptions()
    options.epochs = epochs
    options.batchSize = batchSize
    options.learningRate = learningRate
    options.warmupRatio = 0.1
    options.seed = 7
    return options
  }

  @Test func classificationLearnsSentimentCues() throws {
    let task = try TextClassificationTask(
      kind: .classification, directory: Self.base, train: Self.sentimentExamples(128, seed: 1),
      evaluation: Self.sentimentExamples(64, seed: 2), maxLength: 16)
    let output = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: output) }
    let result = try Trainer(options: Self.options(epochs: 8), output: output).fit(task)
    let accuracy = try #require(result.best?.metrics["accuracy"])
    #expect(accuracy >= 0.95, "accuracy \(accuracy) after \(result.steps) steps")
    #expect(
      result.epochLosses.last! < result.epochLosses.first! * 0.5, "losses \(result.epochLosses)")
    // The saved directory holds the best epoch's model: reloaded, it scores the same.
    let (_, report) = try BertForSequenceClassification.load(directory: output)
    #expect(!report.hasProblems && report.newlyInitialized.isEmpty)
    let settings = try #require(try TaskSettings.read(directory: output))
    #expect(settings.task == "classification")
    let reloaded = try TextClassificationTask(
      kind: .classification, directory: output, train: Self.sentimentExamples(128, seed: 1),
      maxLength: 16)
    let rescored = try reloaded.score(Self.sentimentExamples(64, seed: 2), source: "evaluation")
    #expect(rescored.metrics == result.best?.metrics)
    // Opened as its task, with no training data: the same scores.
    guard case .text(let opened) = try FineTunedTask.open(directory: output) else {
      Issue.record("not opened as a text task")
      return
    }
    let scoredAgain = try opened.score(Self.sentimentExamples(64, seed: 2), source: "evaluation")
    #expect(scoredAgain.metrics == result.best?.metrics)
  }

  /// The d2l head (an MLP on the `[CLS]` state, no pooler) learns the same
  /// task, and its directory reloads as that head with the same scores.
  @Test func classificationWithTheMLPHeadLearnsAndReloads() throws {
    let task = try TextClassificationTask(
      kind: .classification, directory: Self.base, train: Self.sentimentExamples(128, seed: 1),
      evaluation: Self.sentimentExamples(64, seed: 2), maxLength: 16, head: .clsMLP)
    #expect(task.model.head == .clsMLP)
    let output = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: output) }
    let result = try Trainer(options: Self.options(epochs: 8), output: output).fit(task)
    let accuracy = try #require(result.best?.metrics["accuracy"])
    #expect(accuracy >= 0.95, "accuracy \(accuracy) after \(result.steps) steps")
    let settings = try #require(try TaskSettings.read(directory: output))
    #expect(settings.classifierHead == "cls-mlp")
    let reloaded = try TextClassificationTask(
      kind: .classification, directory: output, train: Self.sentimentExamples(128, seed: 1),
      maxLength: 16)
    #expect(reloaded.model.head == .clsMLP)
    let rescored = try reloaded.score(Self.sentimentExamples(64, seed: 2), source: "evaluation")
    #expect(rescored.metrics == result.best?.metrics)
  }

  /// Settings that cannot work are reported as such, not as a failed resume.
  @Test func aMaxLengthBeyondThePositionsIsASettingError() throws {
    let error = #expect(throws: TrainingError.self) {
      try TextClassificationTask(
        kind: .classification, directory: Self.base, train: Self.sentimentExamples(4, seed: 1),
        maxLength: 100_000)
    }
    let message = "\(error!)"
    #expect(
      message.contains("max length 100000 exceeds") && !message.contains("resume"), "\(message)")
  }

  /// A score that needs both texts: the value of the number word in the first
  /// text plus that in the second, minus one (1 … 5, STS-B's range).
  @Test func pairRegressionLearnsAScoreFromBothTexts() throws {
    var generator = SeededGenerator(seed: 3)
    let numbers = ["one": 1, "two": 2, "three": 3]
    let words = numbers.keys.sorted()
    func examples(_ count: Int) -> [TextExample] {
      (0..<count).map { index in
        let a = words[Int(generator.next() % 3)]
        let b = words[Int(generator.next() % 3)]
        return TextExample(
          text: Self.sentence(&generator, length: 3, insert: a).joined(separator: " "),
          pair: Self.sentence(&generator, length: 3, insert: b).joined(separator: " "),
          target: Float(numbers[a]! + numbers[b]! - 1), line: index + 2)
      }
    }
    let task = try TextClassificationTask(
      kind: .pairRegression, directory: Self.base, train: examples(192), evaluation: examples(64),
      maxLength: 24)
    let output = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: output) }
    let result = try Trainer(options: Self.options(epochs: 12), output: output).fit(task)
    let pearson = try #require(result.best?.metrics["pearson"])
    #expect(pearson >= 0.9, "Pearson \(pearson), losses \(result.epochLosses)")
  }

  @Test func taggingLearnsWordClasses() throws {
    let classes: [String: String] = [
      "the": "DT", "a": "DT", "an": "DT", "cat": "NN", "dog": "NN", "mat": "NN", "house": "NN",
      "man": "NN", "woman": "NN", "sat": "VB", "run": "VB", "play": "VB", "see": "VB", "on": "IN",
      "in": "IN", "with": "IN", "playing": "VB",
    ]
    let words = classes.keys.sorted()
    var generator = SeededGenerator(seed: 4)
    func sentences(_ count: Int) -> [TaggedSentence] {
      (0..<count).map { _ in
        let tokens = (0..<6).map { _ in words[Int(generator.next() % UInt64(words.count))] }
        return TaggedSentence(tokens: tokens, tags: tokens.map { classes[$0]! })
      }
    }
    let task = try TaggingTask(
      directory: Self.base, train: sentences(128), evaluation: sentences(48), maxLength: 16)
    let output = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: output) }
    let result = try Trainer(options: Self.options(epochs: 8), output: output).fit(task)
    let accuracy = try #require(result.best?.metrics["token_accuracy"])
    #expect(accuracy >= 0.95, "token accuracy \(accuracy), losses \(result.epochLosses)")
  }

  @Test func questionAnsweringFindsTheMarkedWord() throws {
    var generator = SeededGenerator(seed: 5)
    let markers = ["cat", "dog", "man", "woman"]
    func examples(_ count: Int) -> [QAExample] {
      (0..<count).map { index in
        let marker = markers[Int(generator.next() % 4)]
        let words = Self.sentence(&generator, length: 10, insert: marker)
        let context = words.joined(separator: " ")
        let prefix = words.prefix { $0 != marker }.joined(separator: " ")
        let offset = prefix.isEmpty ? 0 : prefix.unicodeScalars.count + 1
        return QAExample(
          id: "q\(index)", title: "synthetic", question: "where is the \(marker) ?",
          context: context, answers: [.init(text: marker, start: offset)])
      }
    }
    let task = try QuestionAnsweringTask(
      directory: Self.base, train: examples(160), evaluation: examples(48), maxLength: 32,
      docStride: 8)
    #expect(task.examplesWithoutWindow == 0)
    let output = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: output) }
    let result = try Trainer(options: Self.options(epochs: 10), output: output).fit(task)
    let exact = try #require(result.best?.metrics["exact_match"])
    #expect(exact >= 90, "exact match \(exact), losses \(result.epochLosses)")
  }

  /// Stopping after 5 updates and resuming from the checkpoint must end in the
  /// same weights as one uninterrupted run.
  @Test func resumedRunEqualsUninterruptedRun() throws {
    let train = Self.sentimentExamples(96, seed: 11)
    var options = Self.options(epochs: 2)
    options.gradientAccumulation = 2
    options.batchSize = 8

    let straight = try TextClassificationTask(
      kind: .classification, directory: Self.base, train: train, maxLength: 16)
    let straightOutput = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: straightOutput) }
    let straightResult = try Trainer(options: options, output: straightOutput).fit(straight)

    let resumedOutput = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: resumedOutput) }
    let first = try TextClassificationTask(
      kind: .classification, directory: Self.base, train: train, maxLength: 16)
    let interrupted = Trainer(options: options, output: resumedOutput)
    var updates = 0
    interrupted.onProgress = { _ in updates += 1 }
    interrupted.shouldStop = { updates >= 5 }
    let partial = try interrupted.fit(first)
    #expect(partial.interrupted && partial.steps == 5)

    let second = try TextClassificationTask(
      kind: .classification, directory: Self.base, train: train, maxLength: 16)
    let resumedResult = try Trainer(options: options, output: resumedOutput).fit(second)
    #expect(resumedResult.steps == straightResult.steps)
    for ((key, a), (_, b)) in zip(straight.namedParameters, second.namedParameters) {
      expectClose(b.value, a.value, rtol: 0, atol: 0, "\(key) after resuming:")
    }
  }

  /// A task whose loss turns NaN at its fourth forward pass.
  final class PoisonedTask: FineTuningTask {
    let inner: TextClassificationTask
    var passes = 0
    init(_ inner: TextClassificationTask) { self.inner = inner }
    var namedParameters: [(key: String, parameter: Parameter)] { inner.namedParameters }
    var trainingFeatureCount: Int { inner.trainingFeatureCount }
    var trainingFeatureLengths: [Int] { inner.trainingFeatureLengths }
    var trainingExampleCount: Int { inner.trainingExampleCount }
    func loss(features: [Int], context: inout ForwardContext) -> Tensor {
      passes += 1
      let loss = inner.loss(features: features, context: &context)
      return passes >= 4 ? loss * Float.nan : loss
    }
    func evaluate(batchSize: Int) throws -> EvaluationReport? { nil }
    func save(to directory: URL) throws { try inner.save(to: directory) }
  }

  @Test func nonFiniteLossStopsTrainingAndKeepsTheCheckpoint() throws {
    let inner = try TextClassificationTask(
      kind: .classification, directory: Self.base, train: Self.sentimentExamples(64, seed: 12),
      maxLength: 16)
    var options = Self.options(epochs: 1, batchSize: 8)
    options.checkpointInterval = 1
    let output = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: output) }
    let trainer = Trainer(options: options, output: output)
    #expect(throws: TrainingError.self) { try trainer.fit(PoisonedTask(inner)) }
    let state = try #require(try TrainingState.load(from: trainer.checkpointDirectory))
    #expect(state.step == 3)
    // The checkpoint's weights are finite and load.
    let weights = try SafeTensorsFile(
      contentsOf: trainer.checkpointDirectory.appendingPathComponent("model.safetensors"))
    for name in weights.names {
      #expect(try weights.tensor(named: name).scalars.allSatisfy(\.isFinite), "\(name)")
    }
    #expect(
      !FileManager.default.fileExists(
        atPath: output.appendingPathComponent("model.safetensors").path))
  }

  @Test func scheduleWarmsUpThenDecaysLinearly() {
    // 10 updates, 20 % warm-up: rates 0, 0.5, then 8 steps falling from 1 to 1/8.
    let schedule = LinearSchedule(peakRate: 1, warmupRatio: 0.2, totalSteps: 10)
    let rates = (0..<10).map { schedule.rate(atStep: $0) }
    expectClose(
      rates, [0, 0.5, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125], rtol: 0, atol: 1e-6)
  }

  /// One AdamW update worked by hand: g = 0.5, lr = 0.1, λ = 0.01, step 1.
  /// m = 0.05, v = 0.00025; m̂ = 0.5, v̂ = 0.25; p = 1 − 0.1·0.01·1 − 0.1·0.5/(0.5 + 1e-8).
  @Test func adamWFirstStepMatchesHandDerivation() {
    let weight = Parameter(Tensor(shape: [1], scalars: [1]))
    let bias = Parameter(Tensor(shape: [1], scalars: [1]))
    weight.setGradient(Tensor(shape: [1], scalars: [0.5]))
    bias.setGradient(Tensor(shape: [1], scalars: [0.5]))
    let optimizer = AdamW(
      parameters: [("dense.weight", weight), ("dense.bias", bias)], learningRate: 0.1,
      weightDecay: 0.01)
    optimizer.update()
    expectClose(weight.value.scalars, [1 - 0.001 - 0.1], rtol: 0, atol: 1e-6, "decayed weight:")
    expectClose(bias.value.scalars, [1 - 0.1], rtol: 0, atol: 1e-6, "bias (no decay):")
  }

  @Test func clippingScalesToTheMaximumNorm() {
    let a = Parameter(Tensor(shape: [2], scalars: [0, 0]))
    let b = Parameter(Tensor(shape: [1], scalars: [0]))
    a.setGradient(Tensor(shape: [2], scalars: [3, 0]))
    b.setGradient(Tensor(shape: [1], scalars: [4]))
    let norm = clipGradientNorm([a, b], maxNorm: 1)  // ‖(3, 0, 4)‖ = 5
    #expect(abs(norm - 5) < 1e-6)
    expectClose(a.grad!.scalars + b.grad!.scalars, [0.6, 0, 0.8], rtol: 0, atol: 1e-6)
  }
}
