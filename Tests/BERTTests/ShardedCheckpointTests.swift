import Foundation
import TestSupport
import Testing

@testable import BERT

/// Sharded checkpoints (`model.safetensors.index.json` and its shards) load as
/// the single file does: the same tensors, outputs and key reports; every way
/// an index can disagree with its shards is its own typed error; and a
/// directory with weights in another format is told how to convert them.
@Suite struct ShardedCheckpointTests {
  /// Catches the `ShardIndexError` that `body` throws.
  static func shardIndexError(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
  ) throws -> ShardIndexError {
    let error = try #require(throws: CheckpointError.self, sourceLocation: sourceLocation) {
      try body()
    }
    guard case .shardIndex(let indexError) = error else {
      Issue.record("expected a shard index error, got: \(error)", sourceLocation: sourceLocation)
      throw error
    }
    return indexError
  }

  // MARK: - Loading

  /// The tiny model split into three shards gives the same hidden states, bit
  /// for bit, as the single file, and so transformers' outputs to 1e-5, as
  /// `BertModelParityTests` checks for the single file.
  @Test func shardedBaseModelGivesTheSingleFilesOutputsBitForBit() throws {
    let copy = try ShardedCopy(of: ModelFixtures.tinyModel)
    let weights = try SafeTensorsCheckpoint(directory: copy.url)
    #expect(weights.isSharded && weights.files.count == 3)
    #expect(weights.url.lastPathComponent == "model.safetensors.index.json")
    #expect(weights.names.count == 39 && weights.warnings.isEmpty)
    // Every shard stays a memory-mapped file of its own.
    #expect(weights.files.map(\.url.lastPathComponent) == copy.shards)

    let (sharded, report) = try BertModel.load(directory: copy.url)
    let (single, singleReport) = try BertModel.load(directory: ModelFixtures.tinyModel)
    #expect(!report.hasProblems && report.warnings.isEmpty)
    #expect(report.loaded.sorted() == singleReport.loaded.sorted())
    #expect(report.loaded.count == 39)

    let reference = try ModelFixtures.reference("tiny-bert/reference.safetensors")
    let batch = try BertModelParityTests.fixtureBatch(reference)
    let lengths = try reference.ints("lengths")
    let output = sharded(batch)
    let expected = single(batch)
    #expect(
      output.lastHiddenState.scalars.map(\.bitPattern)
        == expected.lastHiddenState.scalars.map(\.bitPattern))
    #expect(
      output.poolerOutput!.scalars.map(\.bitPattern)
        == expected.poolerOutput!.scalars.map(\.bitPattern))
    expectClose(
      realRows(output.lastHiddenState, lengths: lengths),
      realRows(try reference.tensor(named: "last_hidden_state"), lengths: lengths),
      rtol: 0, atol: 1e-5, "sharded last_hidden_state vs transformers:")
  }

  /// A sharded head checkpoint (keys under `bert.`) keeps its head.
  @Test func shardedHeadGivesTheSingleFilesLogits() throws {
    let source = ModelFixtures.url("tiny-bert/heads/sequence-classification")
    let copy = try ShardedCopy(of: source, shardCount: 4)
    let (model, report) = try BertForSequenceClassification.load(directory: copy.url)
    #expect(!report.hasProblems && report.newlyInitialized.isEmpty)
    #expect(model.labelCount == 3 && model.head == .pooler)
    let single = try BertForSequenceClassification.load(directory: source).model
    let reference = try ModelFixtures.reference(
      "tiny-bert/heads/sequence-classification/reference.safetensors")
    let batch = try BertModelParityTests.fixtureBatch(reference)
    var context = ForwardContext.inference
    let logits = withoutGradients { model(batch, context: &context) }
    let expected = withoutGradients { single(batch, context: &context) }
    #expect(logits.scalars.map(\.bitPattern) == expected.scalars.map(\.bitPattern))
    expectClose(logits, try reference.tensor(named: "logits"), rtol: 0, atol: 1e-5, "logits:")
  }

  /// transformers 5's own sharded save (`save_pretrained(max_shard_size="30KB")`)
  /// against the logits transformers computed from it.
  @Test func transformersShardedDirectoryMatchesItsReference() throws {
    let directory = ModelFixtures.url("directories/sharded")
    let weights = try SafeTensorsCheckpoint(directory: directory)
    #expect(weights.files.count == 3 && weights.names.count == 41)
    // Its total_size agrees with the shards' data as this package counts it,
    // and the elements add up to transformers' total_parameters (20077).
    #expect(weights.warnings.isEmpty, "\(weights.warnings)")
    let elements = weights.names.compactMap { weights.info(for: $0)?.elementCount }
    #expect(elements.reduce(0, +) == 20077)

    let (model, report) = try BertForSequenceClassification.load(directory: directory)
    #expect(!report.hasProblems && report.newlyInitialized.isEmpty, "\(report)")
    #expect(model.labelCount == 3)
    let reference = try #require(
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: directory.appendingPathComponent("reference.json")))
        as? [String: Any])
    let inputs = try #require(reference["inputs"] as? [[String: Any]])
    #expect(inputs.count >= 10)
    var context = ForwardContext.inference
    for (index, input) in inputs.enumerated() {
      let ids = try #require(input["input_ids"] as? [Int])
      let types = try #require(input["token_type_ids"] as? [Int])
      let expected = try #require(input["logits"] as? [Double]).map(Float.init)
      let batch = TextBatch(
        batchSize: 1, sequenceLength: ids.count, inputIDs: ids, tokenTypeIDs: types)
      let logits = withoutGradients { model(batch, context: &context) }
      expectClose(logits.scalars, expected, rtol: 0, atol: 1e-5, "input \(index):")
    }
  }

  /// With both `model.safetensors` and an index, the single file is read and
  /// the index is not even parsed, as in transformers.
  @Test func theSingleFileWinsOverAnIndex() throws {
    let copy = try ShardedCopy(of: ModelFixtures.tinyModel)
    try FileManager.default.copyItem(
      at: ModelFixtures.tinyModel.appendingPathComponent("model.safetensors"),
      to: copy.url.appendingPathComponent("model.safetensors"))
    try copy.writeIndex(text: "not JSON")
    let weights = try SafeTensorsCheckpoint(directory: copy.url)
    #expect(!weights.isSharded && weights.url.lastPathComponent == "model.safetensors")
    #expect(try !BertModel.load(directory: copy.url).report.hasProblems)
  }

  /// Missing, unexpected and mis-shaped keys are reported across shards
  /// exactly as the same change to the single file is reported.
  @Test func keyProblemsAreReportedAcrossShardsAsForOneFile() throws {
    let source = ModelFixtures.url("tiny-bert/heads/sequence-classification")
    let single = try SafeTensorsFile(contentsOf: source.appendingPathComponent("model.safetensors"))
    let removed = "bert.encoder.layer.1.output.dense.bias"
    let reshaped = "bert.pooler.dense.bias"
    let extra = "bert.encoder.layer.2.output.dense.bias"

    let copy = try ShardedCopy(of: source)
    let removedShard = copy.weightMap[removed]!
    let reshapedShard = copy.weightMap[reshaped]!
    try copy.rewriteShard(removedShard, removing: [removed])
    copy.weightMap[removed] = nil
    try copy.rewriteShard(
      reshapedShard, adding: [(reshaped, .float32(Tensor(zeros: [31])))])
    try copy.rewriteShard(copy.shards[0], adding: [(extra, .float32(Tensor(zeros: [32])))])
    copy.weightMap[extra] = copy.shards[0]
    try copy.writeIndex()

    // The same three changes to one file.
    let flat = try ShardedCopy(of: source, shardCount: 1)
    let flatURL = flat.url.appendingPathComponent("model.safetensors")
    try FileManager.default.moveItem(
      at: flat.url.appendingPathComponent(flat.shards[0]), to: flatURL)
    try FileManager.default.removeItem(at: flat.indexURL)
    try SafeTensors.write(
      entries: try single.names.filter { $0 != removed && $0 != reshaped }.map {
        ($0, .float32(try single.tensor(named: $0)))
      } + [
        (reshaped, .float32(Tensor(zeros: [31]))), (extra, .float32(Tensor(zeros: [32]))),
      ], to: flatURL)

    func report(_ directory: URL, file: String) throws -> CheckpointLoadReport {
      let error = try #require(throws: CheckpointError.self) {
        _ = try BertForSequenceClassification.load(directory: directory)
      }
      guard case .incompatible(let path, let report) = error else {
        Issue.record("expected incompatible, got \(error)")
        return CheckpointLoadReport()
      }
      #expect(path == directory.appendingPathComponent(file).path)
      #expect("\(error)".contains(file) && "\(error)".contains(removed))
      return report
    }
    let sharded = try report(copy.url, file: "model.safetensors.index.json")
    let flatReport = try report(flat.url, file: "model.safetensors")
    #expect(sharded.missing == [removed])
    #expect(sharded.unexpected == [extra])
    #expect(sharded.mismatched.map(\.key) == [reshaped])
    #expect(sharded.mismatched.first?.checkpoint == [31])
    #expect(sharded.mismatched.first?.model == [32])
    #expect(sharded.missing == flatReport.missing)
    #expect(sharded.unexpected == flatReport.unexpected)
    #expect(sharded.mismatched.map(\.key) == flatReport.mismatched.map(\.key))
    #expect(sharded.loaded.sorted() == flatReport.loaded.sorted())
    #expect(sharded.ignored.sorted() == flatReport.ignored.sorted())

    // allowingProblems loads the rest from the shards.
    let (_, allowed) = try BertForSequenceClassification.load(
      directory: copy.url, allowingProblems: true)
    #expect(allowed.loaded.count == 39)
  }

  /// transformers writes `total_size` and never reads it: a wrong one is a
  /// warning in the load report, and the checkpoint loads.
  @Test func aWrongTotalSizeIsOnlyAWarning() throws {
    let copy = try ShardedCopy(of: ModelFixtures.tinyModel)
    let right = try #require(copy.metadata["total_size"] as? Int)
    copy.metadata["total_size"] = right + 4
    try copy.writeIndex()
    let (_, report) = try BertModel.load(directory: copy.url)
    #expect(!report.hasProblems)
    #expect(report.warnings.count == 1)
    let warning = try #require(report.warnings.first)
    #expect(warning.contains("model.safetensors.index.json"))
    #expect(warning.contains("total_size says \(right + 4) bytes of tensor data"))
    #expect(warning.contains("the shards hold \(right);"))
    #expect(report.description.contains("warning: "))

    copy.metadata["total_size"] = "many"
    try copy.writeIndex()
    let text = try BertModel.load(directory: copy.url).report.warnings
    #expect(text.count == 1 && text[0].contains("not a non-negative integer"))

    // No total_size, or no metadata at all: nothing to say.
    copy.metadata = [:]
    try copy.writeIndex()
    #expect(try BertModel.load(directory: copy.url).report.warnings.isEmpty)
  }

  // MARK: - Malformed indexes and shards

  @Test func anIndexThatIsNotValidIsRefusedSayingWhatIsWrong() throws {
    let copy = try ShardedCopy(of: ModelFixtures.tinyModel)
    let path = copy.indexURL.path
    let cases: [(text: String, reason: ShardIndexError.Reason, message: String)] = [
      (
        "{\"weight_map\": ", .notJSON("the text ends where a value should be"),
        "the index is not valid JSON: the text ends where a value should be."
      ),
      (
        "{\"weight_map\": {}} x", .notJSON("text after the JSON value at byte 19"),
        "text after the JSON value"
      ),
      ("[1, 2]", .invalidField("the index is an array, not an object"), "not an object"),
      (
        "{\"metadata\": {}}", .invalidField("the index has no \"weight_map\" object"),
        "the index has no \"weight_map\" object."
      ),
      (
        "{\"weight_map\": []}", .invalidField("\"weight_map\" is an array, not an object"),
        "\"weight_map\" is an array, not an object."
      ),
      ("{\"weight_map\": {}}", .invalidField("\"weight_map\" is empty"), "is empty"),
      (
        "{\"metadata\": [], \"weight_map\": {\"a\": \"s\"}}",
        .invalidField("\"metadata\" is an array, not an object"), "\"metadata\" is an array"
      ),
      (
        "{\"weight_map\": {\"a\": 3}}",
        .invalidField("\"weight_map\" maps \"a\" to a number, not a shard's file name"),
        "maps \"a\" to a number"
      ),
      (
        "{\"weight_map\": {\"a\": \"x.safetensors\", \"a\": \"y.safetensors\"}}",
        .duplicateKey("a"), "the index has the key \"a\" more than once"
      ),
    ]
    for (text, reason, message) in cases {
      try copy.writeIndex(text: text)
      let error = try Self.shardIndexError { _ = try SafeTensorsCheckpoint(directory: copy.url) }
      #expect(error.path == path, "\(text)")
      #expect(error.reason == reason, "\(text)")
      #expect(
        "\(error)".hasPrefix("sharded checkpoint index \(path)"), "\(text): \(error)")
      #expect("\(error)".contains(message), "\(text): \(error)")
    }
    try Data([0x7B, 0xFF, 0x7D]).write(to: copy.indexURL)
    #expect(
      try Self.shardIndexError { _ = try SafeTensorsCheckpoint(directory: copy.url) }.reason
        == .notUTF8)
  }

  @Test func aMissingShardIsNamedWithATensorThatLivesInIt() throws {
    let copy = try ShardedCopy(of: ModelFixtures.tinyModel)
    let shard = copy.shards[1]
    try FileManager.default.removeItem(at: copy.url.appendingPathComponent(shard))
    let held = copy.tensorsOfShard[shard]!
    let error = try Self.shardIndexError { _ = try BertModel.load(directory: copy.url) }
    #expect(error.shard == shard)
    #expect(error.tensor.map(held.contains) == true)
    #expect(error.reason == .missingShard(tensorCount: held.count))
    let message = "\(error)"
    #expect(message.contains("shard \"\(shard)\", tensor \"\(error.tensor!)\""))
    #expect(message.contains("the shard is missing; the index puts \(held.count) tensors in it"))
  }

  @Test func anIndexThatDisagreesWithItsShardsIsRefused() throws {
    let base = ModelFixtures.tinyModel
    let single = try SafeTensorsFile(contentsOf: base.appendingPathComponent("model.safetensors"))

    // Listed in the first shard, but it is in the second.
    do {
      let copy = try ShardedCopy(of: base)
      let moved = copy.tensorsOfShard[copy.shards[1]]![0]
      copy.weightMap[moved] = copy.shards[0]
      try copy.writeIndex()
      let error = try Self.shardIndexError { _ = try SafeTensorsCheckpoint(directory: copy.url) }
      #expect(error.shard == copy.shards[0] && error.tensor == moved)
      #expect(error.reason == .tensorNotInShard(heldBy: copy.shards[1]))
      #expect(
        "\(error)".contains(
          "weight_map puts this tensor in \"\(copy.shards[0])\", which does not hold it; "
            + "it is in \"\(copy.shards[1])\""))
    }
    // Listed, but in no shard at all.
    do {
      let copy = try ShardedCopy(of: base)
      let gone = copy.tensorsOfShard[copy.shards[2]]!.last!
      try copy.rewriteShard(copy.shards[2], removing: [gone])
      let error = try Self.shardIndexError { _ = try SafeTensorsCheckpoint(directory: copy.url) }
      #expect(error.shard == copy.shards[2] && error.tensor == gone)
      #expect(error.reason == .tensorNotInShard(heldBy: nil))
      #expect("\(error)".contains("no shard holds it"))
    }
    // In a shard, but not in the weight map.
    do {
      let copy = try ShardedCopy(of: base)
      let unlisted = copy.tensorsOfShard[copy.shards[0]]![1]
      copy.weightMap[unlisted] = nil
      try copy.writeIndex()
      let error = try Self.shardIndexError { _ = try SafeTensorsCheckpoint(directory: copy.url) }
      #expect(error.shard == copy.shards[0] && error.tensor == unlisted)
      #expect(error.reason == .tensorNotInWeightMap)
      #expect("\(error)".contains("the index's weight_map does not list it"))
    }
    // The same tensor in two shards.
    do {
      let copy = try ShardedCopy(of: base)
      let twice = copy.tensorsOfShard[copy.shards[0]]![0]
      try copy.rewriteShard(
        copy.shards[2], adding: [(twice, .float32(try single.tensor(named: twice)))])
      let error = try Self.shardIndexError { _ = try SafeTensorsCheckpoint(directory: copy.url) }
      #expect(error.shard == copy.shards[2] && error.tensor == twice)
      #expect(error.reason == .tensorInTwoShards(other: copy.shards[0]))
      #expect("\(error)".contains("it must be in one shard only"))
    }
    // A shard outside the directory.
    do {
      let copy = try ShardedCopy(of: base)
      let name = copy.tensorsOfShard[copy.shards[0]]![0]
      copy.weightMap[name] = "../elsewhere.safetensors"
      try copy.writeIndex()
      let error = try Self.shardIndexError { _ = try SafeTensorsCheckpoint(directory: copy.url) }
      #expect(error.shard == "../elsewhere.safetensors")
      #expect(error.reason == .shardOutsideDirectory)
    }
  }

  /// A shard that is not a valid safetensors file is reported as a malformed
  /// single file is: a `SafeTensorsError` naming the shard.
  @Test func aMalformedShardIsASafeTensorsErrorNamingIt() throws {
    let copy = try ShardedCopy(of: ModelFixtures.tinyModel)
    let shardURL = copy.url.appendingPathComponent(copy.shards[1])
    let last = try #require(try SafeTensorsFile(contentsOf: shardURL).names.last)
    let bytes = try Data(contentsOf: shardURL)
    let headerSize = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
    let bufferSize = bytes.count - 8 - headerSize
    try bytes.prefix(bytes.count - 4).write(to: shardURL)  // cut into the last tensor
    let error = try #require(throws: CheckpointError.self) {
      _ = try BertModel.load(directory: copy.url)
    }
    guard case .safetensors(let fileError) = error else {
      Issue.record("expected a safetensors error, got \(error)")
      return
    }
    #expect(fileError.path == shardURL.path)
    #expect(fileError.tensor == last)
    #expect(
      fileError.reason == .offsetsOutOfRange(end: bufferSize, bufferByteCount: bufferSize - 4))
    #expect("\(error)".hasPrefix("safetensors file \(shardURL.path)"))
  }

  // MARK: - Other formats

  /// Writes a directory with `config.json` (of `architecture`, if any) and
  /// `file`, whose bytes are not a valid file of any format: reading it would fail.
  static func directory(holding file: String?, architecture: String?) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "bert-old-format-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    var config =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: ModelFixtures.tinyModel.appendingPathComponent("config.json")))
      as! [String: Any]
    config["architectures"] = architecture.map { [$0] }
    try JSONSerialization.data(withJSONObject: config).write(
      to: url.appendingPathComponent("config.json"))
    if let file {
      try Data("never read".utf8).write(to: url.appendingPathComponent(file))
    }
    return url
  }

  @Test func weightsInAnotherFormatGetTheCommandThatConvertsThem() throws {
    let cases: [(file: String, architecture: String?, format: UnconvertedWeights, python: String)] =
      [
        (
          "pytorch_model.bin", "BertForSequenceClassification", .pytorch,
          "from transformers import AutoModelForSequenceClassification; "
            + "AutoModelForSequenceClassification.from_pretrained('DIR')"
            + ".save_pretrained('DIR', safe_serialization=True)"
        ),
        (
          "pytorch_model.bin.index.json", "BertForTokenClassification", .pytorchSharded,
          "from transformers import AutoModelForTokenClassification; "
            + "AutoModelForTokenClassification.from_pretrained('DIR')"
            + ".save_pretrained('DIR', safe_serialization=True)"
        ),
        (
          "tf_model.h5", "BertForQuestionAnswering", .tensorFlow,
          "from transformers import AutoModelForQuestionAnswering; "
            + "AutoModelForQuestionAnswering.from_pretrained('DIR', from_tf=True)"
            + ".save_pretrained('DIR', safe_serialization=True)"
        ),
        (
          "model.ckpt.index", "BertForPreTraining", .tensorFlowCheckpoint,
          "from transformers import AutoModelForPreTraining; "
            + "AutoModelForPreTraining.from_pretrained('DIR', from_tf=True)"
            + ".save_pretrained('DIR', safe_serialization=True)"
        ),
        (
          "flax_model.msgpack", "BertModel", .flax,
          "from transformers import AutoModel; "
            + "AutoModel.from_pretrained('DIR', from_flax=True)"
            + ".save_pretrained('DIR', safe_serialization=True)"
        ),
        (
          "pytorch_model.bin", nil, .pytorch,
          "from transformers import AutoModel; "
            + "AutoModel.from_pretrained('DIR').save_pretrained('DIR', safe_serialization=True)"
        ),
      ]
    for (file, architecture, format, python) in cases {
      let directory = try Self.directory(holding: file, architecture: architecture)
      defer { try? FileManager.default.removeItem(at: directory) }
      let command =
        "python3 -c \"" + python.replacingOccurrences(of: "DIR", with: directory.path) + "\""
      let error = try #require(throws: CheckpointError.self) {
        _ = try BertForSequenceClassification.load(directory: directory)
      }
      guard case .unconvertedWeights(let path, let found, let given) = error else {
        Issue.record("\(file): expected unconvertedWeights, got \(error)")
        continue
      }
      #expect(path == directory.appendingPathComponent(file).path)
      #expect(found == format)
      #expect(given == command, "\(file)")
      let message = "\(error)"
      #expect(message.hasPrefix("\(path) is \(format.formatName)"), "\(message)")
      #expect(message.hasSuffix(": " + command), "\(message)")
      if format == .tensorFlow || format == .tensorFlowCheckpoint {
        #expect(message.contains("with transformers 4 and TensorFlow installed"))
      }
    }
  }

  /// The directory is quoted for Python inside the shell's double quotes.
  @Test func theConversionCommandQuotesTheDirectory() throws {
    let directory = URL(fileURLWithPath: "/tmp/it's \"$HOME\" `x` \\", isDirectory: true)
    let command = UnconvertedWeights.pytorch.conversionCommand(directory: directory)
    let quoted = #"'/tmp/it\\'s \"\$HOME\" \`x\` \\\\'"#
    #expect(
      command
        == "python3 -c \"from transformers import AutoModel; AutoModel.from_pretrained(\(quoted))"
        + ".save_pretrained(\(quoted), safe_serialization=True)\"")
  }

  @Test func aDirectoryWithoutWeightsSaysWhatItLookedFor() throws {
    let directory = try Self.directory(holding: nil, architecture: "BertModel")
    defer { try? FileManager.default.removeItem(at: directory) }
    let error = try #require(throws: CheckpointError.self) {
      _ = try BertModel.load(directory: directory)
    }
    guard case .noWeights(let path, let lookedFor) = error else {
      Issue.record("expected noWeights, got \(error)")
      return
    }
    #expect(path == directory.path)
    #expect(
      lookedFor == [
        "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
        "pytorch_model.bin.index.json", "tf_model.h5", "model.ckpt.index", "flax_model.msgpack",
      ])
    #expect(
      "\(error)"
        == "\(directory.path) holds no model weights: none of model.safetensors, "
        + "model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json, "
        + "tf_model.h5, model.ckpt.index, flax_model.msgpack is there")
  }
}

/// The `bert` executable on sharded directories and on directories whose
/// weights need converting.
@Suite struct ShardedCheckpointCLITests {
  typealias H = CLIHarness

  @Test func infoAndEncodeReadAShardedDirectory() throws {
    let copy = try ShardedCopy(of: ModelFixtures.tinyModel)
    let text = try H.run(["info", "--model", copy.url.path])
    #expect(text.status == 0, "\(text.stderr)")
    #expect(text.stdout.contains("2 layers, hidden 32"))
    #expect(
      text.stdout.contains("F32 in 3 shards of model.safetensors.index.json"), "\(text.stdout)")

    let sharded = try H.run(["info", "--model", copy.url.path, "--json"]).json()
    let single = try H.run(["info", "--model", H.tinyModel, "--json"]).json()
    #expect(sharded["weights"] as? String == "model.safetensors.index.json")
    #expect(sharded["shards"] as? Int == 3)
    #expect(single["weights"] as? String == "model.safetensors")
    #expect(single["shards"] as? Int == 0)
    #expect((sharded["parameters"] as? Int).map { $0 > 10_000 } == true)
    #expect(sharded["parameters"] as? Int == single["parameters"] as? Int)

    let input = "the cat sat.\nhello world\n"
    let fromShards = try H.run(["encode", "--model", copy.url.path], stdin: input)
    let fromFile = try H.run(["encode", "--model", H.tinyModel], stdin: input)
    #expect(fromShards.status == 0, "\(fromShards.stderr)")
    #expect(fromShards.lines.count == 2)
    #expect(fromShards.stdout == fromFile.stdout)
  }

  /// Fine-tuning from a sharded base writes one `model.safetensors`, the same
  /// bytes as fine-tuning from the single file.
  @Test func finetuningFromAShardedDirectoryWritesOneFile() throws {
    let copy = try ShardedCopy(of: ModelFixtures.tinyModel)
    var outputs: [URL] = []
    defer { for output in outputs { try? FileManager.default.removeItem(at: output) } }
    for model in [copy.url.path, H.tinyModel] {
      let output = H.temporaryDirectory("sharded-finetune")
      outputs.append(output)
      let run = try H.run([
        "finetune", "--task", "classification", "--model", model, "--train",
        H.data("sentiment-train.csv"), "--output", output.path, "--epochs", "1",
        "--batch-size", "4", "--learning-rate", "1e-3",
      ])
      #expect(run.status == 0, "\(run.stderr)")
      let names = try FileManager.default.contentsOfDirectory(atPath: output.path)
      #expect(names.contains("model.safetensors") && names.contains("vocab.txt"))
      #expect(!names.contains { $0.hasPrefix("model-") || $0.hasSuffix(".index.json") })
    }
    let weights = try outputs.map {
      try Data(contentsOf: $0.appendingPathComponent("model.safetensors"))
    }
    #expect(weights[0] == weights[1], "fine-tuned weights differ between sharded and single")
  }

  @Test func aDirectoryOfPyTorchWeightsIsToldHowToConvertThem() throws {
    let directory = try ShardedCheckpointTests.directory(
      holding: "pytorch_model.bin", architecture: "BertForSequenceClassification")
    defer { try? FileManager.default.removeItem(at: directory) }
    try FileManager.default.copyItem(
      at: ModelFixtures.tinyModel.appendingPathComponent("vocab.txt"),
      to: directory.appendingPathComponent("vocab.txt"))
    let command =
      "python3 -c \"from transformers import AutoModelForSequenceClassification; "
      + "AutoModelForSequenceClassification.from_pretrained('\(directory.path)')"
      + ".save_pretrained('\(directory.path)', safe_serialization=True)\""
    let run = try H.run(["info", "--model", directory.path])
    #expect(run.status != 0)
    #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    #expect(run.stderr.contains("pytorch_model.bin is a PyTorch pickle"), "\(run.stderr)")
    #expect(run.stderr.contains(command), "\(run.stderr)")

    // Without any weights, the message lists what was looked for.
    try FileManager.default.removeItem(at: directory.appendingPathComponent("pytorch_model.bin"))
    let none = try H.run(["info", "--model", directory.path])
    #expect(none.status != 0)
    #expect(
      none.stderr.contains(
        "holds no model weights: none of model.safetensors, model.safetensors.index.json, "
          + "pytorch_model.bin"), "\(none.stderr)")
  }

  @Test func aMissingShardIsOneLineNamingIt() throws {
    let copy = try ShardedCopy(of: ModelFixtures.tinyModel)
    try FileManager.default.removeItem(at: copy.url.appendingPathComponent(copy.shards[2]))
    for arguments in [["info"], ["encode"]] {
      let run = try H.run(arguments + ["--model", copy.url.path], stdin: "a\n")
      #expect(run.status != 0)
      #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
      #expect(
        run.stderr.contains("shard \"\(copy.shards[2])\", tensor \"")
          && run.stderr.contains("the shard is missing"), "\(run.stderr)")
    }
  }
}
