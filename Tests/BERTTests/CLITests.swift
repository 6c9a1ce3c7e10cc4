import Foundation
import Testing

/// The `bert` executable, run as a process on the tiny committed model and the
/// small data files in `Fixtures/cli`: every subcommand, every task, the files
/// a fine-tuned model directory holds, and a clear one-line error (and a
/// non-zero exit) for each kind of bad input.
@Suite struct CLITests {
  typealias H = CLIHarness

  /// The model files and training outputs every fine-tuned directory holds.
  static let savedFiles = [
    "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "metrics.json",
    "training_log.jsonl",
  ]

  /// Fine-tunes the tiny model for `task` for one epoch into a new directory.
  static func finetune(
    _ task: String, train: String, dev: String? = nil, extra: [String] = []
  ) throws -> (run: CLIHarness.Run, output: URL) {
    let output = H.temporaryDirectory(task)
    var arguments = [
      "finetune", "--task", task, "--model", H.tinyModel, "--train", H.data(train), "--output",
      output.path, "--epochs", "1", "--batch-size", "4", "--learning-rate", "1e-3",
    ]
    if let dev { arguments += ["--dev", H.data(dev)] }
    let run = try H.run(arguments + extra)
    return (run, output)
  }

  /// Checks a fine-tuned directory's files and its config's task.
  static func expectSavedModel(_ output: URL, task: String, architecture: String) throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: output.path)
    for file in savedFiles {
      #expect(names.contains(file), "\(file) missing from \(names)")
    }
    let config = try #require(
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: output.appendingPathComponent("config.json"))) as? [String: Any])
    #expect(config["architectures"] as? [String] == [architecture])
    let settings = try #require(config["bert_swift_task"] as? [String: Any])
    #expect(settings["task"] as? String == task)
    let log = try String(
      contentsOf: output.appendingPathComponent("training_log.jsonl"), encoding: .utf8)
    let first = try #require(log.split(separator: "\n").first)
    let entry = try #require(
      try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
    #expect(entry["loss"] is Double && entry["learning_rate"] is Double)
  }

  // MARK: - info, tokenize, encode

  @Test func infoDescribesTheModelAndBackend() throws {
    let text = try H.run(["info", "--model", H.tinyModel])
    #expect(text.status == 0, "\(text.stderr)")
    #expect(text.stdout.contains("2 layers, hidden 32"))
    #expect(text.stdout.contains("backend"))
    let json = try H.run(["info", "--model", H.tinyModel, "--json", "--backend", "swift"])
    #expect(json.status == 0, "\(json.stderr)")
    let object = try json.json()
    #expect(object["layers"] as? Int == 2)
    #expect(object["hidden_size"] as? Int == 32)
    #expect((object["parameters"] as? Int ?? 0) > 10_000)
    #expect(object["backend"] as? String == "swift")
    #expect(object["threads"] as? Int == 1)
  }

  @Test func tokenizeWritesIdsTypesAndOffsets() throws {
    let run = try H.run(
      ["tokenize", "--model", H.tinyModel], stdin: "the cat sat.\n\nhello world\n")
    #expect(run.status == 0, "\(run.stderr)")
    let objects = try run.jsonLines()
    try #require(objects.count == 3)
    let ids = try #require(objects[0]["input_ids"] as? [Int])
    // [CLS] the cat sat . [SEP], ids from the fixture's vocab.txt.
    #expect(ids == [2, 14, 42, 44, 5, 3])
    #expect(objects[0]["token_type_ids"] as? [Int] == [0, 0, 0, 0, 0, 0])
    let offsets = try #require(objects[0]["offsets"] as? [[Int]])
    #expect(offsets == [[0, 0], [0, 3], [4, 7], [8, 11], [11, 12], [0, 0]])
    #expect(objects[1]["input_ids"] as? [Int] == [2, 3])  // an empty line is an empty text

    let pair = try H.run(
      ["tokenize", "--model", H.tinyModel, "--pair"], stdin: "who sat ?\tthe cat sat\n")
    #expect(pair.status == 0, "\(pair.stderr)")
    let types = try #require(try pair.jsonLines().first?["token_type_ids"] as? [Int])
    #expect(types == [0, 0, 0, 0, 0, 1, 1, 1, 1])

    let truncated = try H.run(
      ["tokenize", "--model", H.tinyModel, "--max-length", "4"], stdin: "the cat sat on the mat\n")
    #expect(try truncated.jsonLines().first?["input_ids"] as? [Int] == [2, 14, 42, 3])
  }

  @Test func encodeWritesOneVectorPerLineInOrder() throws {
    let texts = "the cat sat on the mat\na dog\nhello world , a new city\n"
    let mean = try H.run(
      ["encode", "--model", H.tinyModel, "--batch-size", "2"], stdin: texts)
    #expect(mean.status == 0, "\(mean.stderr)")
    let vectors = try mean.jsonLines().map { try #require($0["embedding"] as? [Double]) }
    #expect(vectors.count == 3 && vectors.allSatisfy { $0.count == 32 })
    // Batching and the length sort must not change which vector goes with which line.
    let single = try H.run(
      ["encode", "--model", H.tinyModel, "--batch-size", "1"], stdin: texts)
    let again = try single.jsonLines().map { try #require($0["embedding"] as? [Double]) }
    for (a, b) in zip(vectors, again) {
      let difference = zip(a, b).map { abs($0 - $1) }.max() ?? 0
      #expect(difference < 1e-4)
    }

    let hidden = try H.run(
      ["encode", "--model", H.tinyModel, "--pooling", "none"], stdin: "the cat sat\n")
    #expect(hidden.status == 0, "\(hidden.stderr)")
    let states = try #require(try hidden.jsonLines().first?["hidden"] as? [[Double]])
    #expect(states.count == 5 && states.allSatisfy { $0.count == 32 })  // [CLS] the cat sat [SEP]

    for pooling in ["cls", "pooler"] {
      let run = try H.run(
        ["encode", "--model", H.tinyModel, "--pooling", pooling], stdin: "a dog\n")
      #expect(run.status == 0, "\(pooling): \(run.stderr)")
      #expect((try run.jsonLines().first?["embedding"] as? [Double])?.count == 32)
    }
  }

  @Test func encodeWhitensWithAFittedOrASavedWhitening() throws {
    let file = H.temporaryDirectory("whitening").appendingPathExtension("safetensors")
    defer { try? FileManager.default.removeItem(at: file) }
    let texts = "the cat sat\na dog\nhello world\nthe movie was good\na sad day\n"
    let fitted = try H.run(
      ["encode", "--model", H.tinyModel, "--whiten", file.path, "--whiten-dimensions", "3"],
      stdin: texts)
    #expect(fitted.status == 0, "\(fitted.stderr)")
    #expect(fitted.stderr.contains("fitted a whitening on 5 texts"))
    let vectors = try fitted.jsonLines().map { try #require($0["embedding"] as? [Double]) }
    try #require(vectors.count == 5 && vectors.allSatisfy { $0.count == 3 })
    // On the texts it was fitted on, each kept dimension has mean 0 and variance 1.
    for d in 0..<3 {
      let values = vectors.map { $0[d] }
      let mean = values.reduce(0, +) / 5
      let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
      #expect(abs(mean) < 1e-3 && abs(variance - 1) < 1e-2, "dimension \(d)")
    }
    // The saved whitening gives the same vector to the same text later.
    let applied = try H.run(
      ["encode", "--model", H.tinyModel, "--whiten", file.path], stdin: "the cat sat\n")
    #expect(applied.status == 0, "\(applied.stderr)")
    let again = try #require(try applied.jsonLines().first?["embedding"] as? [Double])
    #expect(zip(again, vectors[0]).allSatisfy { abs($0 - $1) < 1e-3 })
    try Self.expectError(
      ["encode", "--model", H.tinyModel, "--whiten", H.temporaryDirectory().path],
      stdin: "one text\n", "fitting a whitening needs at least two texts")
  }

  @Test func retrievalMinesHardNegativesOnceAndKeepsThem() throws {
    let (run, output) = try Self.finetune(
      "retrieval", train: "retrieval-train.jsonl",
      extra: ["--mine-hard-negatives", "2", "--negative-margin=-10", "--max-length", "32"])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(
      run.stderr.contains("mining 2 hard negatives per pair among 5 passages"), "\(run.stderr)")
    let mined = try String(
      contentsOf: output.appendingPathComponent("mined-negatives.jsonl"), encoding: .utf8
    ).split(separator: "\n").map {
      try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    #expect(mined.count == 6)
    let positivesOf = Dictionary(
      mined.map { ($0["query"] as! String, [$0["positive"] as! String]) }, uniquingKeysWith: +)
    for pair in mined {
      let negatives = try #require(pair["negatives"] as? [String])
      // A margin of -10 lets every other passage in: two of the four (three
      // for the cat's two queries) that are not a positive of the same query.
      #expect(negatives.count == 2, "\(pair)")
      #expect(Set(negatives).isDisjoint(with: positivesOf[pair["query"] as! String]!), "\(pair)")
      #expect(Set(negatives).count == 2)
    }
    #expect(
      FileManager.default.fileExists(atPath: output.appendingPathComponent("modules.json").path))
  }

  @Test func mineHardNegativesIsRefusedWhereItDoesNotApply() throws {
    let zero = try Self.finetune(
      "retrieval", train: "retrieval-train.jsonl", extra: ["--mine-hard-negatives", "0"])
    #expect(zero.run.status != 0)
    #expect(
      zero.run.stderr.contains("--mine-hard-negatives must be at least 1"), "\(zero.run.stderr)")
    let other = try Self.finetune(
      "classification", train: "sentiment-train.csv", extra: ["--mine-hard-negatives", "1"])
    #expect(other.run.status != 0)
    #expect(
      other.run.stderr.contains("--mine-hard-negatives applies to the retrieval task"),
      "\(other.run.stderr)")
  }

  // MARK: - finetune, evaluate, predict for every task

  @Test func classificationEndToEnd() throws {
    let (run, output) = try Self.finetune(
      "classification", train: "sentiment-train.csv", dev: "sentiment-dev.tsv")
    defer { try? FileManager.default.removeItem(at: output) }
    #expect(run.status == 0, "\(run.stderr)")
    let summary = try run.json()
    #expect(summary["primary_metric"] as? String == "accuracy")
    #expect((summary["metrics"] as? [String: Double])?["accuracy"] != nil)
    try Self.expectSavedModel(
      output, task: "classification", architecture: "BertForSequenceClassification")

    let evaluation = try H.run(
      ["evaluate", "--model", output.path, "--data", H.data("sentiment-dev.jsonl")])
    #expect(evaluation.status == 0, "\(evaluation.stderr)")
    let report = try evaluation.json()
    #expect(report["task"] as? String == "classification")
    #expect(report["examples"] as? Int == 2)
    let metrics = try #require(report["metrics"] as? [String: Double])
    #expect(Set(metrics.keys) == ["accuracy", "macro_f1", "mcc"])

    let predictions = try H.run(
      ["predict", "--model", output.path], stdin: "a good film\na sad story\n")
    #expect(predictions.status == 0, "\(predictions.stderr)")
    let objects = try predictions.jsonLines()
    #expect(objects.count == 2)
    for object in objects {
      let label = try #require(object["label"] as? String)
      let probabilities = try #require(object["probabilities"] as? [String: Double])
      #expect(Set(probabilities.keys) == ["negative", "positive"])
      #expect(abs(probabilities.values.reduce(0, +) - 1) < 1e-4)
      #expect(probabilities[label] == probabilities.values.max())
    }
    // A labelled file works as input too; its labels are ignored.
    let fromFile = try H.run(
      ["predict", "--model", output.path, "--input", H.data("sentiment-dev.tsv")])
    #expect(try fromFile.jsonLines().count == 6)
  }

  @Test func pairClassificationEndToEnd() throws {
    let (run, output) = try Self.finetune("pair-classification", train: "pairs-train.tsv")
    defer { try? FileManager.default.removeItem(at: output) }
    #expect(run.status == 0, "\(run.stderr)")
    try Self.expectSavedModel(
      output, task: "pair-classification", architecture: "BertForSequenceClassification")
    let evaluation = try H.run(
      ["evaluate", "--model", output.path, "--data", H.data("pairs-train.tsv")])
    #expect(evaluation.status == 0, "\(evaluation.stderr)")
    #expect(try evaluation.json()["examples"] as? Int == 8)
    let predictions = try H.run(
      ["predict", "--model", output.path], stdin: "who sat ?\tthe cat sat .\n")
    #expect(predictions.status == 0, "\(predictions.stderr)")
    let label = try predictions.jsonLines().first?["label"] as? String
    #expect(label == "entailment" || label == "not_entailment")
  }

  @Test func pairRegressionEndToEnd() throws {
    let (run, output) = try Self.finetune("pair-regression", train: "similarity-train.csv")
    defer { try? FileManager.default.removeItem(at: output) }
    #expect(run.status == 0, "\(run.stderr)")
    try Self.expectSavedModel(
      output, task: "pair-regression", architecture: "BertForSequenceClassification")
    let evaluation = try H.run(
      ["evaluate", "--model", output.path, "--data", H.data("similarity-train.csv")])
    #expect(evaluation.status == 0, "\(evaluation.stderr)")
    let metrics = try #require(try evaluation.json()["metrics"] as? [String: Double])
    #expect(Set(metrics.keys) == ["mse", "pearson", "spearman"])
    let predictions = try H.run(
      ["predict", "--model", output.path],
      stdin: "{\"text_a\": \"a cat\", \"text_b\": \"a dog\"}\n")
    #expect(predictions.status == 0, "\(predictions.stderr)")
    #expect(try predictions.jsonLines().first?["score"] is Double)
  }

  @Test func regressionEndToEnd() throws {
    let (run, output) = try Self.finetune("regression", train: "scores-train.jsonl")
    defer { try? FileManager.default.removeItem(at: output) }
    #expect(run.status == 0, "\(run.stderr)")
    try Self.expectSavedModel(
      output, task: "regression", architecture: "BertForSequenceClassification")
    let predictions = try H.run(["predict", "--model", output.path], stdin: "a good movie\n")
    #expect(try predictions.jsonLines().first?["score"] is Double)
  }

  @Test func taggingEndToEnd() throws {
    let (run, output) = try Self.finetune(
      "tagging", train: "tags-train.conll", dev: "tags-dev.jsonl")
    defer { try? FileManager.default.removeItem(at: output) }
    #expect(run.status == 0, "\(run.stderr)")
    try Self.expectSavedModel(output, task: "tagging", architecture: "BertForTokenClassification")
    let evaluation = try H.run(
      ["evaluate", "--model", output.path, "--data", H.data("tags-dev.jsonl")])
    #expect(evaluation.status == 0, "\(evaluation.stderr)")
    #expect((try evaluation.json()["metrics"] as? [String: Double])?["token_accuracy"] != nil)
    let predictions = try H.run(
      ["predict", "--model", output.path], stdin: "the dog sat on the mat .\n")
    #expect(predictions.status == 0, "\(predictions.stderr)")
    let object = try #require(try predictions.jsonLines().first)
    #expect(object["tokens"] as? [String] == ["the", "dog", "sat", "on", "the", "mat", "."])
    let tags = try #require(object["tags"] as? [String])
    #expect(tags.count == 7 && tags.allSatisfy { ["DT", "NN", "VBD", "IN", "."].contains($0) })
  }

  @Test func questionAnsweringEndToEnd() throws {
    let (run, output) = try Self.finetune(
      "qa", train: "squad-train.json", dev: "squad-dev.json",
      extra: ["--max-length", "32", "--doc-stride", "8"])
    defer { try? FileManager.default.removeItem(at: output) }
    #expect(run.status == 0, "\(run.stderr)")
    try Self.expectSavedModel(output, task: "qa", architecture: "BertForQuestionAnswering")
    let evaluation = try H.run(
      ["evaluate", "--model", output.path, "--data", H.data("squad-dev.json")])
    #expect(evaluation.status == 0, "\(evaluation.stderr)")
    let metrics = try #require(try evaluation.json()["metrics"] as? [String: Double])
    #expect(Set(metrics.keys) == ["exact_match", "f1"])

    let predictions = try H.run(
      ["predict", "--model", output.path, "--input", H.data("questions.jsonl")])
    #expect(predictions.status == 0, "\(predictions.stderr)")
    let objects = try predictions.jsonLines()
    #expect(objects.map { $0["id"] as? String } == ["q1", "2"])
    let context = "the cat sat on the mat ."
    for object in objects.prefix(1) {
      let answer = try #require(object["answer"] as? String)
      let start = try #require(object["start"] as? Int)
      let end = try #require(object["end"] as? Int)
      let scalars = Array(context.unicodeScalars)
      #expect(String(String.UnicodeScalarView(scalars[start..<end])) == answer)
      #expect(object["score"] is Double)
    }
    let squad = try H.run(
      ["predict", "--model", output.path, "--input", H.data("squad-dev.json")])
    #expect(try squad.jsonLines().map { $0["id"] as? String } == ["d1", "d2"])
  }

  @Test func tsvQuotingOption() throws {
    // A TSV written by Python's csv.writer: quoted fields, TABs and line breaks inside.
    let quoted = ModelFixtures.url("tsv/csv-writer.tsv").path
    let output = H.temporaryDirectory("tsv")
    defer { try? FileManager.default.removeItem(at: output) }
    let run = try H.run([
      "finetune", "--task", "pair-classification", "--model", H.tinyModel, "--train", quoted,
      "--output", output.path, "--epochs", "1", "--batch-size", "8",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stderr.contains("csv-writer.tsv: 15 examples, 16 csv-quoted TSV field unquoted"))
    // evaluate and predict take the option too; pandas' file reads to the same 15 rows.
    let evaluation = try H.run(
      ["evaluate", "--model", output.path, "--data", ModelFixtures.url("tsv/pandas.tsv").path])
    #expect(evaluation.status == 0, "\(evaluation.stderr)")
    #expect(try evaluation.json()["examples"] as? Int == 15)
    let plain = ModelFixtures.url("tsv/plain.tsv").path
    let predictions = try H.run(
      ["predict", "--model", output.path, "--input", plain, "--tsv-quoting", "none"])
    #expect(predictions.status == 0, "\(predictions.stderr)")
    #expect(try predictions.jsonLines().count == 11)
    // By default the literal reading of plain.tsv says why its quotes stay.
    let noted = try H.run(["predict", "--model", output.path, "--input", plain])
    #expect(noted.stderr.contains("read literally, keeping the quotes of 4 fields"))

    // none on the quoted file: the TAB inside quotes splits the line.
    try Self.expectError(
      [
        "evaluate", "--model", output.path, "--data", quoted, "--tsv-quoting", "none",
      ], "csv-writer.tsv, line 8: expected 3 fields as in the header, found 6")
    // csv on GLUE-style data, which is not valid csv.
    let glue = H.temporaryDirectory("glue").appendingPathExtension("tsv")
    defer { try? FileManager.default.removeItem(at: glue) }
    try Data(
      "text_a\ttext_b\tlabel\nwho ?\t\"Hello,\" he said.\tentailment\n".utf8
    ).write(to: glue)
    try Self.expectError(
      ["evaluate", "--model", output.path, "--data", glue.path, "--tsv-quoting", "csv"],
      "line 2: unexpected text after the closing quote of a field (read with --tsv-quoting csv; "
        + "--tsv-quoting none reads quotes as ordinary characters)")
    let literal = try H.run(["evaluate", "--model", output.path, "--data", glue.path])
    #expect(literal.status == 0, "\(literal.stderr)")
    try Self.expectError(
      ["evaluate", "--model", output.path, "--data", glue.path, "--tsv-quoting", "maybe"],
      "--tsv-quoting")
  }

  @Test func finetuneResumesFromItsOutput() throws {
    let (first, output) = try Self.finetune(
      "classification", train: "sentiment-train.csv", extra: ["--max-steps", "2"])
    defer { try? FileManager.default.removeItem(at: output) }
    #expect(first.status == 0, "\(first.stderr)")
    #expect(
      FileManager.default.fileExists(
        atPath: output.appendingPathComponent("checkpoint/trainer_state.json").path))
    let second = try H.run([
      "finetune", "--task", "classification", "--model", H.tinyModel, "--train",
      H.data("sentiment-train.csv"), "--output", output.path, "--epochs", "1", "--batch-size", "4",
      "--learning-rate", "1e-3", "--max-steps", "2",
    ])
    #expect(second.status == 0, "\(second.stderr)")
    #expect(second.stderr.contains("resuming from"))
  }

  @Test func interruptSavesACheckpointAndSaysHowToResume() throws {
    let output = H.temporaryDirectory("interrupt")
    defer { try? FileManager.default.removeItem(at: output) }
    let process = try H.start([
      "finetune", "--task", "classification", "--model", H.tinyModel, "--train",
      H.data("sentiment-train.csv"), "--output", output.path, "--epochs", "100000",
      "--batch-size", "4",
    ])
    // Wait for training to start (the first progress line), then press Ctrl-C.
    let deadline = Date().addingTimeInterval(20)
    while !process.stderrSoFar.contains("step 1/") && Date() < deadline
      && process.process.isRunning
    {
      Thread.sleep(forTimeInterval: 0.02)
    }
    process.process.interrupt()
    process.process.waitUntilExit()
    let run = process.finish()
    #expect(run.status == 130, "\(run.stderr)")
    #expect(run.stderr.contains("Run the same command again to resume"))
    #expect(
      FileManager.default.fileExists(
        atPath: output.appendingPathComponent("checkpoint/trainer_state.json").path))
  }

  // MARK: - Bad input

  /// Expects a non-zero exit and one line on stderr that contains `message`.
  static func expectError(
    _ arguments: [String], stdin: String? = nil, _ message: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let run = try H.run(arguments, stdin: stdin)
    #expect(run.status != 0, "exit status 0 for \(arguments)", sourceLocation: sourceLocation)
    #expect(
      run.stderr.contains(message), "stderr: \(run.stderr)", sourceLocation: sourceLocation)
    #expect(
      !run.stderr.contains("Fatal error") && !run.stderr.contains("Stack dump"),
      sourceLocation: sourceLocation)
  }

  @Test func badModelDirectories() throws {
    try Self.expectError(["info", "--model", "/no/such/model"], "does not exist")
    try Self.expectError(
      ["info", "--model", H.data("sentiment-train.csv")], "is a file, not a model directory")
    let notModel = H.temporaryDirectory("not-a-model")
    try FileManager.default.createDirectory(at: notModel, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: notModel) }
    try Data("hello".utf8).write(to: notModel.appendingPathComponent("README.md"))
    try Self.expectError(
      ["encode", "--model", notModel.path], stdin: "a\n", "is not a BERT model directory")
    // The default model, when the asset cache does not have it.
    try Self.expectError(["info"], "scripts/fetch-assets model")
    // A base checkpoint has no task to evaluate or predict.
    try Self.expectError(
      ["predict", "--model", H.tinyModel], stdin: "a\n", "it is a base checkpoint")
  }

  @Test func badStdinAndLengths() throws {
    try Self.expectError(["tokenize", "--model", H.tinyModel], "no input on stdin")
    try Self.expectError(["encode", "--model", H.tinyModel], stdin: "", "no input on stdin")
    try Self.expectError(
      ["tokenize", "--model", H.tinyModel, "--pair"], stdin: "a\tb\nno tab here\n",
      "stdin, line 2: --pair expects two texts separated by one TAB")
    try Self.expectError(
      ["tokenize", "--model", H.tinyModel, "--max-length", "65"], stdin: "a\n",
      "over the model's limit of 64")
    try Self.expectError(
      ["encode", "--model", H.tinyModel, "--max-length", "2"], stdin: "a\n",
      "--max-length 2 leaves no room for text")
    try Self.expectError(
      ["tokenize", "--model", H.tinyModel, "--pair", "--max-length", "3"], stdin: "a\tb\n",
      "use at least 4")
  }

  @Test func badFinetuneArguments() throws {
    let output = H.temporaryDirectory("bad")
    defer { try? FileManager.default.removeItem(at: output) }
    func finetune(_ task: String, _ train: String, _ extra: [String] = []) -> [String] {
      [
        "finetune", "--task", task, "--model", H.tinyModel, "--train", H.data(train),
        "--output", output.path,
      ] + extra
    }
    try Self.expectError(finetune("summarization", "sentiment-train.csv"), "summarization")
    try Self.expectError(
      finetune("classification", "bad-fields.csv"), "bad-fields.csv, line 4: expected 2 fields")
    try Self.expectError(finetune("classification", "bad-json.jsonl"), "bad-json.jsonl, line 3")
    try Self.expectError(finetune("classification", "no-label.csv"), "no label field")
    try Self.expectError(
      finetune("tagging", "sentiment-train.csv"), "the task is tagging, which reads CoNLL")
    try Self.expectError(finetune("qa", "sentiment-train.csv"), "SQuAD v1.1 JSON")
    try Self.expectError(
      finetune("classification", "sentiment-train.csv", ["--max-length", "100"]),
      "--max-length 100 is over the model's limit of 64")
    try Self.expectError(
      finetune("qa", "squad-train.json", ["--max-length", "32", "--doc-stride", "32"]),
      "--doc-stride 32 must be below --max-length 32")
    try Self.expectError(
      finetune("classification", "missing.csv"), "does not exist")
    // An output directory under a regular file cannot be created.
    let blocked = H.data("sentiment-train.csv") + "/output"
    try Self.expectError(
      [
        "finetune", "--task", "classification", "--model", H.tinyModel, "--train",
        H.data("sentiment-train.csv"), "--output", blocked,
      ],
      "cannot write to the --output directory")
  }

  @Test func taskThatDoesNotFitTheModel() throws {
    let (run, output) = try Self.finetune("tagging", train: "tags-train.conll")
    defer { try? FileManager.default.removeItem(at: output) }
    try #require(run.status == 0, "\(run.stderr)")
    try Self.expectError(
      ["evaluate", "--model", output.path, "--data", H.data("sentiment-dev.tsv")],
      "holds a tagging model")
    try Self.expectError(
      ["evaluate", "--model", output.path, "--data", H.data("tags-dev.jsonl"), "--task", "qa"],
      "holds a tagging model (bert_swift_task in config.json), not a qa one")
    try Self.expectError(
      [
        "finetune", "--task", "classification", "--model", output.path, "--train",
        H.data("sentiment-train.csv"), "--output", H.temporaryDirectory().path,
      ],
      "is already fine-tuned for tagging")
  }
}
