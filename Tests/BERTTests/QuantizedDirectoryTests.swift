import BERTAssets
import Foundation
import TestSupport
import Testing

@testable import BERT

/// `bert quantize`'s int8 directories: what they store (checked against the
/// source's float weights by the rounding bound), that they run bit for bit
/// as the source at `--precision int8`, and every way a broken one is refused.
@Suite struct QuantizedDirectoryTests {
  /// A fresh path for an int8 directory (not created).
  static func output() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("bert-int8-\(UUID().uuidString)")
  }

  /// Quantizes `source` into a fresh directory, removed by the caller.
  static func quantized(_ source: URL, keepingFloat: Set<String> = []) throws -> URL {
    let target = output()
    try QuantizedModelDirectory.write(from: source, to: target, keepingFloat: keepingFloat)
    return target
  }

  /// Every tensor of a safetensors file, I8 or float, as entries to write again.
  static func entries(of url: URL) throws -> [(name: String, entry: SafeTensors.Entry)] {
    let file = try SafeTensorsFile(contentsOf: url)
    return try file.names.map { name in
      let info = try #require(file.info(for: name))
      if info.dtype == .i8 {
        return (name, .int8(try file.int8Values(named: name), shape: info.shape))
      }
      return (name, .float32(try file.tensor(named: name)))
    }
  }

  /// The stored weights against the source's: each quantized row has
  /// |W − s·q| ≤ s/2 (rounding to nearest moves a value by at most half a
  /// step), its largest |q| is 127 (the scale is the row's largest |W| / 127),
  /// and every float tensor is the source's exactly.
  @Test func storedValuesAreTheSourceRoundedPerRow() throws {
    let target = try Self.quantized(ModelFixtures.tinyModel)
    defer { try? FileManager.default.removeItem(at: target) }
    let stored = try SafeTensorsFile(contentsOf: target.appendingPathComponent("model.safetensors"))
    let source = try SafeTensorsFile(
      contentsOf: ModelFixtures.tinyModel.appendingPathComponent("model.safetensors"))
    let quantizedNames = stored.names.filter { stored.info(for: $0)?.dtype == .i8 }
    // 6 projections per layer × 2 layers, the pooler, and the word embeddings.
    #expect(quantizedNames.count == 6 * 2 + 1 + 1, "\(quantizedNames)")
    #expect(quantizedNames.contains("embeddings.word_embeddings.weight"))
    for name in quantizedNames {
      let shape = try #require(stored.info(for: name)).shape
      let q = try stored.int8Values(named: name)
      let s = try stored.tensor(named: name + "_scale").scalars
      #expect(s.count == shape[0], "\(name): \(s.count) scales for \(shape[0]) rows")
      let w = try source.tensor(named: name).scalars
      var worst = 0.0
      for row in 0..<shape[0] {
        var largest: Int8 = 0
        for column in 0..<shape[1] {
          let index = row * shape[1] + column
          let error = abs(Double(w[index]) - Double(s[row]) * Double(q[index]))
          worst = max(worst, error - Double(s[row]) / 2)
          largest = max(largest, q[index] == Int8.min ? 127 : abs(q[index]))
        }
        #expect(largest == 127, "\(name) row \(row): largest |q| \(largest)")
      }
      #expect(worst <= 1e-9, "\(name): an error exceeds half a step by \(worst)")
    }
    for name in stored.names
    where stored.info(for: name)?.dtype == .f32 && !name.hasSuffix("_scale") {
      guard !quantizedNames.contains(String(name.dropLast("bias".count)) + "weight") else {
        continue
      }
      #expect(
        try stored.tensor(named: name).scalars == source.tensor(named: name).scalars, "\(name)")
    }
  }

  /// The config says how the weights are stored; the README says that
  /// transformers cannot read them; the tokenizer files are copied.
  @Test func configAndReadmeDescribeTheDirectory() throws {
    let target = try Self.quantized(ModelFixtures.tinyModel)
    defer { try? FileManager.default.removeItem(at: target) }
    let config = try BertConfig(contentsOf: target.appendingPathComponent("config.json"))
    #expect(config.quantization == QuantizationConfig(keptInFloat: []))
    let json = try String(contentsOf: target.appendingPathComponent("config.json"), encoding: .utf8)
    #expect(json.contains("\"quant_method\" : \"bert_swift_int8\""), "\(json)")
    let readme = try String(contentsOf: target.appendingPathComponent("README.md"), encoding: .utf8)
    #expect(readme.contains("transformers and sentence-transformers cannot read it"))
    for name in ["vocab.txt", "tokenizer_config.json"] {
      #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent(name).path))
    }
  }

  /// A base model's int8 directory embeds exactly as the source does at
  /// int8, and is refused at fp32.
  @Test func baseDirectoryRunsAsTheSourceAtInt8() throws {
    let target = try Self.quantized(ModelFixtures.tinyModel)
    defer { try? FileManager.default.removeItem(at: target) }
    let stored = try BertPipeline(directory: target)
    let converted = try BertPipeline(directory: ModelFixtures.tinyModel, precision: .int8)
    #expect(stored.precision == .int8)
    #expect(stored.model.embeddings.wordEmbeddings is QuantizedEmbedding)
    let texts = ["the cat sat on the mat", "hello", "a dog ran in the new city , and the cat"]
    #expect(stored.embed(texts) == converted.embed(texts))
    let error = #expect(throws: QuantizationError.self) {
      try BertPipeline(directory: target, precision: .fp32)
    }
    #expect(error == .storedAsInt8(path: target.path))
  }

  /// Every transformers head fixture and a sentence-transformers directory
  /// with its transformer in a subfolder: the int8 directory opens as the same
  /// task and gives the same outputs, bit for bit, as the source at int8.
  @Test(
    arguments: DirectoryFixtures.heads.filter {
      $0.hasSuffix("-cased") || $0.hasSuffix("bf16-uncased")
    }
    .map { "heads/\($0)" } + ["sentence-transformers/cls-subfolder"])
  func directoryRunsAsTheSourceAtInt8(_ path: String) throws {
    let source = try DirectoryFixtures.copy(path)
    let target = try Self.quantized(source)
    defer { for url in [source, target] { try? FileManager.default.removeItem(at: url) } }
    let texts = ["the cat sat on the mat", "hello world", "a new city , and a dog"]
    guard path.hasPrefix("heads/") else {
      let (a, b) = (
        try BertPipeline(directory: target), try BertPipeline(directory: source, precision: .int8)
      )
      #expect(a.embedding == b.embedding)
      #expect(a.embed(texts) == b.embed(texts))
      return
    }
    let stored = try FineTunedTask.open(directory: target)
    let converted = try FineTunedTask.open(directory: source, precision: .int8)
    switch (stored, converted) {
    case (.text(let a), .text(let b)):
      #expect(a.precision == .int8)
      let examples = texts.map { TextExample(text: $0) }
      #expect(a.logits(examples) == b.logits(examples), "\(path)")
    case (.tagging(let a), .tagging(let b)):
      let sentences = texts.map { $0.split(separator: " ").map(String.init) }
      #expect(a.predict(sentences).tags == b.predict(sentences).tags, "\(path)")
      let batch = TextBatch(
        encodings: a.tokenizer.encodeBatch(texts, maxLength: 32),
        paddingID: a.tokenizer.paddingTokenID)
      var context = ForwardContext.inference
      let (p, q) = withoutGradients {
        (a.model(batch, context: &context), b.model(batch, context: &context))
      }
      #expect(p.scalars == q.scalars, "\(path)")
    case (.questionAnswering(let a), .questionAnswering(let b)):
      let example = QAExample(
        id: "q", title: "", question: "where did the cat sit ?",
        context: "the cat sat on the mat . a dog ran in the new city .", answers: [])
      let batch = TextBatch(
        encodings: a.tokenizer.encodeBatch(
          [example.question], pairs: [example.context], maxLength: 64),
        paddingID: a.tokenizer.paddingTokenID)
      var context = ForwardContext.inference
      let (p, q) = withoutGradients {
        (a.model(batch, context: &context), b.model(batch, context: &context))
      }
      #expect(p.0.scalars == q.0.scalars && p.1.scalars == q.1.scalars, "\(path)")
    default:
      Issue.record("\(path): the int8 directory opened as another task")
    }
  }

  /// A projection kept in float is stored in F32 and loads as a `Linear`,
  /// as `convert(to:keepingFloat:)` keeps it.
  @Test func keptProjectionsStayFloat() throws {
    let kept = "encoder.layer.1.output.dense"
    let target = try Self.quantized(ModelFixtures.tinyModel, keepingFloat: [kept])
    defer { try? FileManager.default.removeItem(at: target) }
    let file = try SafeTensorsFile(contentsOf: target.appendingPathComponent("model.safetensors"))
    #expect(file.info(for: "\(kept).weight")?.dtype == .f32)
    #expect(file.info(for: "\(kept).weight_scale") == nil)
    let stored = try BertPipeline(directory: target)
    #expect(
      QuantizedModelTests.projections(stored.model).first { $0.key == kept }?.kind == "Linear")
    var converted = try BertModel.load(directory: ModelFixtures.tinyModel).model
    try converted.convert(to: .int8, keepingFloat: [kept])
    let batch = stored.batch(["the cat sat on the mat", "hello"])
    #expect(stored.model(batch).lastHiddenState.scalars == converted(batch).lastHiddenState.scalars)
    let config = try BertConfig(contentsOf: target.appendingPathComponent("config.json"))
    #expect(config.quantization?.keptInFloat == [kept])
  }

  /// An int8 directory with a tensor edited: `edit` changes the entries of
  /// its `model.safetensors`.
  static func broken(
    _ edit: (inout [(name: String, entry: SafeTensors.Entry)]) -> Void
  ) throws -> URL {
    let target = try quantized(ModelFixtures.tinyModel)
    let weights = target.appendingPathComponent("model.safetensors")
    var entries = try Self.entries(of: weights)
    edit(&entries)
    try SafeTensors.write(entries: entries, to: weights)
    return target
  }

  static let query = "encoder.layer.0.attention.self.query.weight"

  @Test func missingScalesAreNamed() throws {
    let target = try Self.broken { $0.removeAll { $0.name == Self.query + "_scale" } }
    defer { try? FileManager.default.removeItem(at: target) }
    let error = #expect(throws: QuantizedCheckpointError.self) {
      try BertPipeline(directory: target)
    }
    let path = target.appendingPathComponent("model.safetensors").path
    #expect(error == .missingScale(file: path, tensor: Self.query, scale: Self.query + "_scale"))
    #expect(error?.description.contains("bert quantize") == true)
  }

  @Test func outOfRangeValuesAndBadScalesAreNamed() throws {
    let low = try Self.broken { entries in
      let index = entries.firstIndex { $0.name == Self.query }!
      guard case .int8(var values, let shape) = entries[index].entry else { return }
      values[5] = Int8.min
      entries[index].entry = .int8(values, shape: shape)
    }
    let negative = try Self.broken { entries in
      let index = entries.firstIndex { $0.name == Self.query + "_scale" }!
      guard case .float32(let scales) = entries[index].entry else { return }
      var values = scales.scalars
      values[2] = -1
      entries[index].entry = .float32(Tensor(shape: scales.shape, scalars: values))
    }
    let misshapen = try Self.broken { entries in
      let index = entries.firstIndex { $0.name == Self.query + "_scale" }!
      entries[index].entry = .float32(Tensor(zeros: [3]))
    }
    defer {
      for url in [low, negative, misshapen] { try? FileManager.default.removeItem(at: url) }
    }
    let path = { (url: URL) in url.appendingPathComponent("model.safetensors").path }
    let a = #expect(throws: QuantizedCheckpointError.self) { try BertPipeline(directory: low) }
    #expect(a == .valueOutOfRange(file: path(low), tensor: Self.query, index: 5, value: Int8.min))
    let b = #expect(throws: QuantizedCheckpointError.self) { try BertPipeline(directory: negative) }
    #expect(b == .badScale(file: path(negative), tensor: Self.query + "_scale", row: 2, value: -1))
    let c = #expect(throws: QuantizedCheckpointError.self) {
      try BertPipeline(directory: misshapen)
    }
    #expect(
      c?.description.contains("\(Self.query)_scale is F32 [3]") == true, "\(String(describing: c))")
  }

  /// An int8 base directory cannot start a new head (its weights would be
  /// uninitialised), and an existing directory is never overwritten.
  @Test func newHeadsAndExistingOutputsAreRefused() throws {
    let target = try Self.quantized(ModelFixtures.tinyModel)
    defer { try? FileManager.default.removeItem(at: target) }
    let error = #expect(throws: QuantizedCheckpointError.self) {
      try BertForSequenceClassification.load(directory: target, labelCount: 2)
    }
    #expect(error?.description.contains("cannot start a new head") == true)
    let again = #expect(throws: QuantizedModelDirectoryError.self) {
      try QuantizedModelDirectory.write(from: ModelFixtures.tinyModel, to: target)
    }
    #expect(again == .outputExists(path: target.path))
    let twice = #expect(throws: QuantizedModelDirectoryError.self) {
      try QuantizedModelDirectory.write(from: target, to: Self.output())
    }
    #expect(twice == .alreadyQuantized(path: target.path))
    let unknown = #expect(throws: QuantizedModelDirectoryError.self) {
      try QuantizedModelDirectory.write(
        from: ModelFixtures.tinyModel, to: Self.output(), keepingFloat: ["encoder.layer.7.output"])
    }
    #expect(unknown?.description.contains("encoder.layer.7.output is not a projection") == true)
  }

  /// The word-embedding lookup returns s[v]·q[v, h], written out by hand for
  /// a 3 × 2 table.
  @Test func quantizedEmbeddingLooksUpDequantizedRows() {
    let table = QuantizedEmbedding(
      count: 3, size: 2, values: [127, -64, 0, 0, -127, 1], scales: [0.5, 0, 0.25])
    let rows = table([2, 0, 2]).scalars
    #expect(rows == [-31.75, 0.25, 63.5, -32, -31.75, 0.25])
  }

  /// The real all-MiniLM-L6-v2: its int8 directory's weights take at most
  /// 0.27 of the float32 file (a quarter for the int8 values, plus scales and
  /// the float LayerNorm, position and segment tensors: 0.26 by hand from the
  /// shapes), and it embeds as the source at int8, bit for bit.
  @Test(
    .enabled(if: AssetCache.hasDefaultModel, "needs the real model: scripts/fetch-assets model"))
  func realMiniLMDirectory() throws {
    let source = AssetCache.defaultModelDirectory
    let target = Self.output()
    defer { try? FileManager.default.removeItem(at: target) }
    let summary = try QuantizedModelDirectory.write(from: source, to: target)
    let ratio = Double(summary.writtenWeightBytes) / Double(summary.sourceWeightBytes)
    #expect(ratio <= 0.27, "weights \(summary.writtenWeightBytes) of \(summary.sourceWeightBytes)")
    let texts = ["A man is playing a guitar.", "The weather is lovely today, isn't it?"]
    let (a, b) = (
      try BertPipeline(directory: target), try BertPipeline(directory: source, precision: .int8)
    )
    #expect(a.embedding == b.embedding)
    #expect(a.embed(texts) == b.embed(texts))
  }
}
