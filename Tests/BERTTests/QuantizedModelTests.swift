import BERTAssets
import Foundation
import TestSupport
import Testing

@testable import BERT

/// The model at ``Precision/int8``: which projections are quantized, the
/// outputs against fp32 with stated tolerances, the two int8 kernels giving
/// the same bits, and an int8 model refused for training.
@Suite struct QuantizedModelTests {
  typealias Keys = LayerOwnershipTests

  static func tinyModel() throws -> BertModel {
    try BertModel.load(directory: ModelFixtures.tinyModel).model
  }

  /// The projection of every slot, by key.
  static func projections(_ layer: some Layer) -> [(key: String, kind: String)] {
    var copy = layer
    var found: [(String, String)] = []
    copy.mapProjections { key, projection in
      found.append((key, "\(type(of: projection))"))
      return projection
    }
    return found
  }

  static func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
    var (dot, na, nb) = (0.0, 0.0, 0.0)
    for (x, y) in zip(a, b) {
      dot += Double(x) * Double(y)
      na += Double(x) * Double(x)
      nb += Double(y) * Double(y)
    }
    return dot / max((na * nb).squareRoot(), 1e-30)
  }

  /// Every projection of the tiny model becomes a QuantizedLinear, except the
  /// ones kept in float, and converting twice changes nothing more.
  @Test func int8QuantizesEveryProjectionButThoseKeptInFloat() throws {
    var model = try Self.tinyModel()
    #expect(model.projectionPrecision == .fp32)
    let kept: Set = ["encoder.layer.1.output.dense"]
    try model.convert(to: .int8, keepingFloat: kept)
    let found = Self.projections(model)
    #expect(found.map(\.key) == Keys.modelProjectionKeys)
    for (key, kind) in found {
      #expect(kind == (kept.contains(key) ? "Linear" : "QuantizedLinear"), "\(key)")
    }
    #expect(model.projectionPrecision == .int8)
    try model.convert(to: .int8)
    #expect(Self.projections(model).allSatisfy { $0.kind == "QuantizedLinear" })
    // The quantized parameters are no longer trainable parameters.
    #expect(!model.namedParameters.contains { $0.key.hasSuffix("query.weight") })
    #expect(
      model.namedParameters.contains {
        $0.key == "encoder.layer.0.attention.output.LayerNorm.weight"
      })
  }

  /// A projection that is neither float32 nor quantized is named, not guessed at.
  @Test func otherProjectionsAreRefusedByKey() throws {
    var model = try Self.tinyModel()
    model.encoder.layers[0].attention.selfAttention.key = AffineProjection(
      inner: model.encoder.layers[0].attention.selfAttention.key, scale: 1, offset: 0)
    let error = #expect(throws: QuantizationError.self) { try model.convert(to: .int8) }
    #expect(
      error == .notFloat(key: "encoder.layer.0.attention.self.key", kind: "AffineProjection"))
    #expect(error?.description.contains("encoder.layer.0.attention.self.key") == true)
  }

  /// The int8 tiny model against the fp32 one on the parity batch (3 × 12
  /// tokens, H 32). Each projection quantizes the weight to 8 bits and the
  /// input to 8 (steps of 1/254 and 1/255 of the row ranges), so a
  /// token's state moves by about a percent after LayerNorm; stated bounds:
  /// cosine ≥ 0.999 per real token, and at most 0.1 absolute per value (the
  /// states are LayerNorm outputs of size about 1).
  @Test(arguments: BackendKind.allAvailable)
  func int8TracksFP32OnTheTinyModel(_ backend: BackendKind) throws {
    let (model, batch) = try LayerOwnershipTests.fixture()
    var quantized = model
    try quantized.convert(to: .int8)
    let (float, int8) = Compute.withBackend(backend) {
      withoutGradients { (model(batch), quantized(batch)) }
    }
    let (a, b) = (float.lastHiddenState.scalars, int8.lastHiddenState.scalars)  // [3, 12, 32]
    let largest = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    #expect(largest <= 0.1, "largest difference \(largest)")
    var worst = 1.0
    for row in 0..<3 {
      for position in 0..<12 where batch.attentionMask[row * 12 + position] != 0 {
        let start = (row * 12 + position) * 32
        worst = min(worst, Self.cosine(a[start..<(start + 32)], b[start..<(start + 32)]))
      }
    }
    #expect(worst >= 0.999, "worst token cosine \(worst), largest difference \(largest)")
    // It is not fp32 in disguise.
    #expect(largest > 0, "int8 gave the fp32 result bit for bit")
  }

  /// The AVX2 and the portable int8 kernels sum exactly, so the whole int8
  /// model gives the same bits on both.
  @Test func int8KernelsGiveTheSameModelOutput() throws {
    let (model, batch) = try LayerOwnershipTests.fixture()
    var quantized = model
    try quantized.convert(to: .int8)
    let outputs = Int8GEMM.Kernel.allAvailable.map { kernel in
      Int8GEMM.withKernel(kernel) { withoutGradients { quantized(batch).lastHiddenState.scalars } }
    }
    for (kernel, output) in zip(Int8GEMM.Kernel.allAvailable, outputs).dropFirst() {
      let largest = zip(outputs[0], output).map { abs($0 - $1) }.max() ?? 0
      #expect(
        output == outputs[0], "\(kernel) against \(Int8GEMM.Kernel.allAvailable[0]): \(largest)")
    }
  }

  /// Every transformers head fixture opens at int8; its logits stay near
  /// fp32's (0.08 absolute on logits of size about 0.1–1 from a random head;
  /// every projection and the word embeddings add a rounding step of their own)
  /// and classification picks the same label.
  @Test(
    arguments: DirectoryFixtures.heads.filter {
      $0.hasSuffix("f32-uncased") || $0.hasSuffix("f32-cased")
    })
  func headsOpenAtInt8NearFP32(_ name: String) throws {
    let directory = try DirectoryFixtures.copy("heads/\(name)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let float = try FineTunedTask.openApplication(directory: directory)
    let int8 = try FineTunedTask.openApplication(directory: directory, precision: .int8)
    #expect(float.fineTunedTask.map { Self.precision(of: $0) } == .fp32)
    #expect(int8.fineTunedTask.map { Self.precision(of: $0) } == .int8)
    let texts = ["the cat sat on the mat", "hello world", "a new city , and a dog"]
    switch (float.fineTunedTask, int8.fineTunedTask) {
    case (.text(let a), .text(let b)):
      let examples = texts.map { TextExample(text: $0) }
      let (x, y) = (a.logits(examples), b.logits(examples))
      let largest = zip(x.joined(), y.joined()).map { abs($0 - $1) }.max() ?? 0
      #expect(largest <= 0.08, "\(name): largest logit difference \(largest)")
      if a.labels != nil {
        #expect(a.predict(examples).map(\.label) == b.predict(examples).map(\.label), "\(name)")
      }
    case (.tagging(let a), .tagging(let b)):
      let sentences = texts.map { $0.split(separator: " ").map(String.init) }
      let (x, y) = (a.predict(sentences).tags, b.predict(sentences).tags)
      let agree = zip(x.joined(), y.joined()).filter { $0 == $1 }.count
      #expect(
        agree * 10 >= x.joined().count * 9, "\(name): \(agree) of \(x.joined().count) tags agree")
    case (.questionAnswering(let a), .questionAnswering(let b)):
      let example = QAExample(
        id: "q", title: "", question: "where did the cat sit ?",
        context: "the cat sat on the mat . a dog ran in the new city .", answers: [])
      let (x, y) = (try a.predict([example]), try b.predict([example]))
      #expect(!x[0].isEmpty && !y[0].isEmpty, "\(name): both give answers")
      // The start and end logits themselves, on the same question and passage.
      let batch = TextBatch(
        encodings: a.tokenizer.encodeBatch(
          [example.question], pairs: [example.context], maxLength: 64),
        paddingID: a.tokenizer.paddingTokenID)
      var context = ForwardContext.inference
      let (p, q) = withoutGradients {
        (a.model(batch, context: &context), b.model(batch, context: &context))
      }
      let largest =
        zip(p.0.scalars + p.1.scalars, q.0.scalars + q.1.scalars)
        .map { abs($0 - $1) }.max() ?? .infinity
      #expect(largest <= 0.08, "\(name): largest start/end logit difference \(largest)")
    default:
      Issue.record("\(name): fp32 and int8 opened as different tasks")
    }
  }

  static func precision(of task: FineTunedTask) -> Precision {
    switch task {
    case .text(let t): t.precision
    case .tagging(let t): t.precision
    case .questionAnswering(let t): t.precision
    }
  }

  /// Fine-tuning stays fp32: an int8 task is refused before anything is written.
  @Test func int8IsNotTrained() throws {
    let train = [
      TextExample(text: "good", label: "positive"), TextExample(text: "bad", label: "negative"),
    ]
    let task = try TextClassificationTask(
      kind: .classification, directory: ModelFixtures.tinyModel, train: train, maxLength: 16)
    try task.convert(to: .int8)
    let output = FileManager.default.temporaryDirectory.appendingPathComponent(
      "int8-train-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: output) }
    var options = TrainingOptions()
    options.epochs = 1
    let error = #expect(throws: TrainingError.self) {
      try Trainer(options: options, output: output).fit(task)
    }
    #expect(error?.description.contains("int8, which is for inference only") == true)
    #expect(!FileManager.default.fileExists(atPath: output.path))
  }

  /// The real all-MiniLM-L6-v2 at int8 keeps a cosine of at least 0.99 to its
  /// fp32 sentence embeddings (the model's own mean pooling and
  /// normalisation), on every distinct text of the tokenizer test corpus.
  @Test(
    .enabled(if: AssetCache.hasDefaultModel, "needs the real model: scripts/fetch-assets model"))
  func realMiniLMEmbeddingsAtInt8() throws {
    let directory = AssetCache.defaultModelDirectory
    let float = try BertPipeline(directory: directory)
    let int8 = try BertPipeline(directory: directory, precision: .int8)
    #expect(float.precision == .fp32 && int8.precision == .int8)
    var seen = Set<String>()
    let texts = try TokenizerFixtures.load().encode.map(\.text).filter { seen.insert($0).inserted }
    let (a, b) = (float.embed(texts), int8.embed(texts))
    let cosines = zip(a, b).map { Self.cosine($0[...], $1[...]) }
    let worst = cosines.min() ?? 0
    let mean = cosines.reduce(0, +) / Double(cosines.count)
    #expect(worst >= 0.99, "worst cosine \(worst) (mean \(mean)) over \(texts.count) texts")
  }
}
