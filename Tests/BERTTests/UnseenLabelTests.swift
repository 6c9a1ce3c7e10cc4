import Foundation
import Tensors
import Testing

@testable import BERT

/// Evaluation data whose gold labels the model's label set lacks: such a token
/// (tagging) or example (classification) is scored as an error, and the report
/// says which labels and how many items. Training data outside a fixed label
/// set stays an error naming the file, the line and the label.
@Suite struct UnseenLabelTests {
  static let base = ModelFixtures.tinyModel

  static func temporaryDirectory() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent(
      "bert-unseen-\(UUID().uuidString)")
  }

  /// Makes `classifier` predict `label` for every input: zero weights, and a
  /// bias that is 10 for that label's id and 0 elsewhere, so the logits are the bias.
  static func forcePrediction(_ projection: any LinearProjection, id: Int) throws {
    let classifier = try #require(projection as? Linear)
    let shape = classifier.weight.value.shape  // [C, H]
    classifier.weight.value = Tensor(zeros: shape)
    classifier.bias!.value = Tensor(
      shape: [shape[0]], scalars: (0..<shape[0]).map { $0 == id ? 10 : 0 })
  }

  static let trainSentences = [
    TaggedSentence(
      tokens: ["he", "sat", "in", "the", "city"], tags: ["B-PER", "O", "O", "O", "O"]),
    TaggedSentence(tokens: ["the", "man", "she"], tags: ["O", "B-PER", "I-PER"]),
  ]

  @Test func taggingScoresTokensOfUnseenTagsAsWrong() throws {
    // MISC is absent from training: the tag set is B-PER (id 0), I-PER, O.
    let evaluation = [
      TaggedSentence(
        tokens: ["she", "saw", "new", "york"], tags: ["B-PER", "O", "B-MISC", "I-MISC"]),
      TaggedSentence(tokens: ["the", "world", "he"], tags: ["O", "B-MISC", "B-PER"]),
    ]
    let task = try TaggingTask(
      directory: Self.base, train: Self.trainSentences, evaluation: evaluation, maxLength: 16)
    #expect(task.labels.labels == ["B-PER", "I-PER", "O"])
    #expect(task.evaluationUnseenLabels == ["B-MISC": 2, "I-MISC": 1])
    try Self.forcePrediction(task.model.classifier, id: 0)
    #expect(
      task.predict(evaluation.map(\.tokens)).tags == [
        Array(repeating: "B-PER", count: 4), Array(repeating: "B-PER", count: 3),
      ])

    let report = try #require(try task.evaluate(batchSize: 8))
    // Every token is predicted B-PER: right at the first token of sentence 1 and
    // the last of sentence 2 → 2/7 (the three MISC tokens count as wrong).
    #expect(report.metrics["token_accuracy"] == 2.0 / 7)
    // Predicted: 7 one-token PER entities. Gold: PER [0, 1), MISC [2, 4) |
    // MISC [1, 2), PER [2, 3) → 4, of which the 2 PER are found and the 2 MISC
    // are false negatives. P = 2/7, R = 2/4, F1 = 2·(2/7)·(1/2) / (2/7 + 1/2) = 4/11.
    let precision = try #require(report.metrics["precision"])
    let recall = try #require(report.metrics["recall"])
    let f1 = try #require(report.metrics["f1"])
    #expect(abs(precision - 2.0 / 7) < 1e-12 && recall == 0.5 && abs(f1 - 4.0 / 11) < 1e-12)
    #expect(report.primaryMetric == "f1")
    #expect(report.unseenLabels == ["B-MISC": 2, "I-MISC": 1] && report.unseenLabelItemCount == 3)
  }

  @Test func classificationScoresExamplesOfUnseenClassesAsWrong() throws {
    let train = [
      TextExample(text: "a good movie", label: "positive", line: 2),
      TextExample(text: "a bad movie", label: "negative", line: 3),
    ]
    let evaluation = [
      TextExample(text: "a great story", label: "positive", line: 2),
      TextExample(text: "the day was sad", label: "negative", line: 3),
      TextExample(text: "a movie", label: "neutral", line: 4),
      TextExample(text: "i love it", label: "positive", line: 5),
      TextExample(text: "a film", label: "neutral", line: 6),
    ]
    for kind in [TextTaskKind.classification, .pairClassification] {
      let pair = kind == .pairClassification
      func paired(_ examples: [TextExample]) -> [TextExample] {
        examples.map {
          TextExample(text: $0.text, pair: pair ? "the city" : nil, label: $0.label, line: $0.line)
        }
      }
      let task = try TextClassificationTask(
        kind: kind, directory: Self.base, train: paired(train), evaluation: paired(evaluation),
        maxLength: 16)
      #expect(task.labels?.labels == ["negative", "positive"])
      #expect(task.evaluationUnseenLabels == ["neutral": 2])
      try Self.forcePrediction(task.model.classifier, id: 1)  // always "positive"
      let report = try #require(try task.evaluate(batchSize: 8))
      // Right on the two positives: 2/5.
      #expect(report.metrics["accuracy"] == 0.4, "\(kind)")
      // positive: TP 2, gold 2, predicted 5 → 4/7; negative and neutral: 0 → mean 4/21.
      #expect(abs(report.metrics["macro_f1"]! - 4.0 / 21) < 1e-12, "\(kind)")
      // One predicted class: MCC undefined → 0.
      #expect(report.metrics["mcc"] == 0, "\(kind)")
      #expect(report.unseenLabels == ["neutral": 2], "\(kind)")
    }
  }

  @Test func trainingWithAnUnseenDevTagTrainsAndRecordsIt() throws {
    let train = [
      TaggedSentence(tokens: ["the", "cat", "sat"], tags: ["DT", "NN", "VBD"]),
      TaggedSentence(
        tokens: ["a", "dog", "was", "in", "the", "house"],
        tags: ["DT", "NN", "VBD", "IN", "DT", "NN"]),
    ]
    let dev = [
      TaggedSentence(
        tokens: ["the", "man", "who", "sat"], tags: ["DT", "NN", "WP", "VBD"], line: 1),
      TaggedSentence(tokens: ["a", "cat"], tags: ["DT", "NN"], line: 6),
    ]
    let task = try TaggingTask(directory: Self.base, train: train, evaluation: dev, maxLength: 16)
    var options = TrainingOptions()
    options.epochs = 1
    options.batchSize = 1
    options.maxSteps = 2
    options.learningRate = 1e-3
    let output = Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: output) }
    let result = try Trainer(options: options, output: output).fit(task)
    #expect(result.steps == 2)
    let report = try #require(result.best)
    #expect(report.unseenLabels == ["WP": 1])

    // The same model's predictions, scored by hand: a token is right when its
    // prediction equals its gold tag; "WP" is no tag the model has, so its token is wrong.
    let predicted = task.predict(dev.map(\.tokens)).tags
    #expect(!predicted.joined().contains("WP"))
    var correct = 0
    for (tags, gold) in zip(predicted, dev.map(\.tags)) {
      for (p, g) in zip(tags, gold) where p == g { correct += 1 }
    }
    #expect(report.metrics["token_accuracy"] == Double(correct) / 6)

    // metrics.json records the labels; a second fit on the same output resumes
    // from the finished checkpoint and keeps them.
    func recorded() throws -> Any? {
      let data = try Data(contentsOf: output.appendingPathComponent("metrics.json"))
      let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
      let evaluations = object?["evaluations"] as? [[String: Any]]
      return evaluations?.first?["unseenLabels"]
    }
    #expect(try recorded() as? [String: Int] == ["WP": 1])
    let again = try TaggingTask(directory: Self.base, train: train, evaluation: dev, maxLength: 16)
    let resumed = try Trainer(options: options, output: output).fit(again)
    #expect(resumed.steps == 2 && resumed.best?.unseenLabels == ["WP": 1])
    #expect(try recorded() as? [String: Int] == ["WP": 1])
  }

  @Test func reportsSavedBeforeUnseenLabelsStillDecode() throws {
    // An evaluation as an older trainer_state.json holds it: no unseenLabels.
    let json = """
      {"primaryMetric": "accuracy", "metrics": {"accuracy": 0.5}, "exampleCount": 4,
       "notes": {}, "epoch": 2}
      """
    let report = try JSONDecoder().decode(EvaluationReport.self, from: Data(json.utf8))
    #expect(report.unseenLabels.isEmpty && report.epoch == 2 && report.primaryScore == 0.5)
    var withLabels = report
    withLabels.unseenLabels = ["WP$": 3]
    let encoded = try JSONEncoder().encode(withLabels)
    #expect(try JSONDecoder().decode(EvaluationReport.self, from: encoded) == withLabels)
  }

  @Test func trainingLabelsOutsideAFixedSetAreAnError() throws {
    let fixed = LabelSet(ordered: ["NN", "DT"])
    let train = [
      TaggedSentence(tokens: ["the", "cat"], tags: ["DT", "NN"], line: 1),
      TaggedSentence(tokens: ["the", "cat", "sat"], tags: ["DT", "NN", "VBD"], line: 4),
    ]
    #expect(
      throws: DatasetError.unknownLabel(
        label: "VBD", file: "train.conll", line: 4, known: ["NN", "DT"])
    ) {
      _ = try TaggingTask(
        directory: Self.base, train: train, maxLength: 16, labels: fixed,
        trainSource: "train.conll")
    }
    let examples = [
      TextExample(text: "a good movie", label: "positive", line: 2),
      TextExample(text: "a movie", label: "neutral", line: 3),
    ]
    #expect(
      throws: DatasetError.unknownLabel(
        label: "neutral", file: "train.csv", line: 3, known: ["negative", "positive"])
    ) {
      _ = try TextClassificationTask(
        kind: .classification, directory: Self.base, train: examples, maxLength: 16,
        labels: LabelSet(ordered: ["negative", "positive"]), trainSource: "train.csv")
    }
    // A training set with fewer labels than the fixed set keeps the set and its order.
    let task = try TaggingTask(
      directory: Self.base, train: [train[0]], maxLength: 16,
      labels: LabelSet(ordered: ["VBD", "NN", "DT"]))
    #expect(task.labels.labels == ["VBD", "NN", "DT"] && task.model.labelCount == 3)
  }
}

/// The same through the `bert` command: `finetune --dev` and `evaluate` with
/// labels the training data lacks, and fine-tuning a fine-tuned model on data
/// outside its `id2label`.
@Suite struct UnseenLabelCLITests {
  typealias H = CLIHarness

  /// The gold tags of `Fixtures/cli/tags-dev-unseen.conll`.
  static let devTokens = [
    ["the", "man", "whose", "dog", "sat", "."], ["a", "cat", "was", "on", "the", "mat", "."],
  ]
  static let devTags = [
    ["DT", "NN", "WP$", "NN", "VBD", "."], ["DT", "NN", "VBD", "IN", "DT", "NN", "."],
  ]

  static func metricsFile(_ output: URL) throws -> [String: Any] {
    let data = try Data(contentsOf: output.appendingPathComponent("metrics.json"))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
  }

  @Test func taggingDevTagUnseenInTrainingTrainsAndCountsAsWrong() throws {
    let arguments = [
      "finetune", "--task", "tagging", "--model", H.tinyModel, "--train",
      H.data("tags-train.conll"), "--dev", H.data("tags-dev-unseen.conll"), "--epochs", "1",
      "--batch-size", "2", "--learning-rate", "1e-3",
    ]
    let output = H.temporaryDirectory("unseen-tags")
    defer { try? FileManager.default.removeItem(at: output) }
    let run = try H.run(arguments + ["--output", output.path])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(
      run.stderr.contains(
        "warning: --dev \(H.data("tags-dev-unseen.conll")): 1 token has a label absent from "
          + "the training data (\"WP$\": 1)"), "\(run.stderr)")
    #expect(try run.json()["unseen_labels"] as? [String: Int] == ["WP$": 1])
    let evaluations = try #require(try Self.metricsFile(output)["evaluations"] as? [[String: Any]])
    #expect(evaluations.first?["unseenLabels"] as? [String: Int] == ["WP$": 1])
    let trained = try #require(
      (evaluations.first?["metrics"] as? [String: Double])?["token_accuracy"])

    // The saved model's predictions, scored by hand over all 13 tokens.
    let predictions = try H.run(
      ["predict", "--model", output.path],
      stdin: Self.devTokens.map { $0.joined(separator: " ") }.joined(separator: "\n") + "\n")
    #expect(predictions.status == 0, "\(predictions.stderr)")
    let predicted = try predictions.jsonLines().map { try #require($0["tags"] as? [String]) }
    #expect(predicted.map(\.count) == [6, 7])
    var correct = 0
    for (tags, gold) in zip(predicted, Self.devTags) {
      for (p, g) in zip(tags, gold) where p == g { correct += 1 }
    }
    let expected = Double(correct) / 13

    let evaluation = try H.run(
      ["evaluate", "--model", output.path, "--data", H.data("tags-dev-unseen.conll")])
    #expect(evaluation.status == 0, "\(evaluation.stderr)")
    let report = try evaluation.json()
    #expect(report["unseen_labels"] as? [String: Int] == ["WP$": 1])
    #expect((report["metrics"] as? [String: Double])?["token_accuracy"] == expected)
    #expect(trained == expected)
    #expect(evaluation.stderr.contains("absent from the model's labels (\"WP$\": 1)"))

    // Running the same command again resumes from the finished checkpoint and
    // keeps the record.
    let again = try H.run(arguments + ["--output", output.path])
    #expect(again.status == 0, "\(again.stderr)")
    let kept = try #require(try Self.metricsFile(output)["evaluations"] as? [[String: Any]])
    #expect(kept.first?["unseenLabels"] as? [String: Int] == ["WP$": 1])
  }

  @Test func classificationDevClassUnseenInTrainingCountsAsWrong() throws {
    let output = H.temporaryDirectory("unseen-classes")
    defer { try? FileManager.default.removeItem(at: output) }
    let run = try H.run([
      "finetune", "--task", "classification", "--model", H.tinyModel, "--train",
      H.data("sentiment-train.csv"), "--dev", H.data("sentiment-dev-unseen.jsonl"), "--output",
      output.path, "--epochs", "1", "--batch-size", "4", "--learning-rate", "1e-3",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(
      run.stderr.contains("1 example has a label absent from the training data (\"neutral\": 1)"))
    let evaluations = try #require(try Self.metricsFile(output)["evaluations"] as? [[String: Any]])
    #expect(evaluations.first?["unseenLabels"] as? [String: Int] == ["neutral": 1])

    let texts = ["a great story", "the day was sad", "a movie about a city", "i love this film"]
    let gold = ["positive", "negative", "neutral", "positive"]
    let predictions = try H.run(
      ["predict", "--model", output.path], stdin: texts.joined(separator: "\n") + "\n")
    let predicted = try predictions.jsonLines().map { try #require($0["label"] as? String) }
    #expect(predicted.count == 4)
    let evaluation = try H.run(
      ["evaluate", "--model", output.path, "--data", H.data("sentiment-dev-unseen.jsonl")])
    #expect(evaluation.status == 0, "\(evaluation.stderr)")
    let report = try evaluation.json()
    #expect(report["unseen_labels"] as? [String: Int] == ["neutral": 1])
    let metrics = try #require(report["metrics"] as? [String: Double])
    // Accuracy over all 4 examples; macro-F1 over every class in gold or predictions
    // (neutral among them, with F1 0), 2·TP / (gold + predicted) each.
    let correct = zip(predicted, gold).filter { $0 == $1 }.count
    #expect(metrics["accuracy"] == Double(correct) / 4)
    let classes = Set(gold).union(predicted)
    let f1s = classes.map { label -> Double in
      let tp = zip(predicted, gold).filter { $0 == label && $1 == label }.count
      return 2 * Double(tp)
        / Double(gold.filter { $0 == label }.count + predicted.filter { $0 == label }.count)
    }
    #expect(abs(metrics["macro_f1"]! - f1s.reduce(0, +) / Double(classes.count)) < 1e-12)
  }

  @Test func pairClassificationEvaluatesAnUnseenClass() throws {
    let output = H.temporaryDirectory("unseen-pairs")
    defer { try? FileManager.default.removeItem(at: output) }
    let run = try H.run([
      "finetune", "--task", "pair-classification", "--model", H.tinyModel, "--train",
      H.data("pairs-train.tsv"), "--output", output.path, "--epochs", "1", "--batch-size", "4",
      "--max-steps", "1",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    let evaluation = try H.run(
      ["evaluate", "--model", output.path, "--data", H.data("pairs-dev-unseen.tsv")])
    #expect(evaluation.status == 0, "\(evaluation.stderr)")
    let report = try evaluation.json()
    #expect(report["unseen_labels"] as? [String: Int] == ["contradiction": 1])
    #expect(report["examples"] as? Int == 3)
    // The third example can never be right: at most 2 of 3.
    #expect(try #require((report["metrics"] as? [String: Double])?["accuracy"]) <= 2.0 / 3)
    #expect(
      evaluation.stderr.contains(
        "1 example has a label absent from the model's labels (\"contradiction\": 1)"))
  }

  @Test func aFineTunedModelFixesItsLabels() throws {
    let first = H.temporaryDirectory("fixed-first")
    let second = H.temporaryDirectory("fixed-second")
    let subset = FileManager.default.temporaryDirectory.appendingPathComponent(
      "bert-cli-subset-\(UUID().uuidString).conll")
    defer {
      for url in [first, second, subset] { try? FileManager.default.removeItem(at: url) }
    }
    func finetune(from model: String, train: String, output: URL) throws -> CLIHarness.Run {
      try H.run([
        "finetune", "--task", "tagging", "--model", model, "--train", train, "--output",
        output.path, "--epochs", "1", "--batch-size", "4", "--max-steps", "1",
      ])
    }
    let base = try finetune(from: H.tinyModel, train: H.data("tags-train.conll"), output: first)
    #expect(base.status == 0, "\(base.stderr)")
    // Its id2label is DT, IN, NN, VBD, "."  sorted: ".", "DT", "IN", "NN", "VBD".
    // Training it further on a file with the tag WP$ is refused, naming file, line and label.
    let refused = try finetune(
      from: first.path, train: H.data("tags-dev-unseen.conll"), output: second)
    #expect(refused.status != 0)
    #expect(
      refused.stderr.contains(
        "\(H.data("tags-dev-unseen.conll")), line 1: the label \"WP$\" is not one of the labels of "
          + "\(first.path) (id2label in config.json: \".\", \"DT\", \"IN\", \"NN\", \"VBD\")"),
      "\(refused.stderr)")
    // Data with a subset of its tags trains and keeps the model's five labels in order.
    try "the DT\ncat NN\n\na DT\ndog NN\n".write(to: subset, atomically: true, encoding: .utf8)
    let kept = try finetune(from: first.path, train: subset.path, output: second)
    #expect(kept.status == 0, "\(kept.stderr)")
    #expect(kept.stderr.contains("the labels are fixed by \(first.path)"))
    let config = try #require(
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: second.appendingPathComponent("config.json"))) as? [String: Any])
    #expect(
      config["id2label"] as? [String: String] == [
        "0": ".", "1": "DT", "2": "IN", "3": "NN", "4": "VBD",
      ])
  }
}
