import BERTAssets
import Foundation
import TestSupport
import Testing

@testable import BERT

/// sentence-transformers directories: `modules.json`, the Pooling config,
/// Normalize and `max_seq_length` set the embedding defaults, and the outputs
/// agree with sentence-transformers' `encode` (reference.json).
@Suite struct SentenceTransformersDirectoryTests {
  /// sentence-transformers 6's pooling names, as this package's.
  static let poolingNames: [String: Pooling] = [
    "cls": .cls, "mean": .mean, "max": .max, "mean_sqrt_len_tokens": .meanSqrtLength,
  ]

  @Test(arguments: DirectoryFixtures.sentenceTransformers)
  func embeddingsMatchSentenceTransformers(_ name: String) throws {
    let path = "sentence-transformers/\(name)"
    let reference = try DirectoryFixtures.reference(path)
    let directory = try DirectoryFixtures.copy(path)
    defer { try? FileManager.default.removeItem(at: directory) }

    let layout = try ModelDirectoryLayout(directory: directory)
    let transformerPath = try #require(reference["transformer_path"] as? String)
    #expect(layout.sentenceTransformers?.transformerPath == transformerPath)
    #expect(
      layout.transformer.standardizedFileURL
        == (transformerPath.isEmpty
        ? directory : directory.appendingPathComponent(transformerPath)).standardizedFileURL)

    let pipeline = try BertPipeline(directory: directory)
    let expectedPooling = try #require(Self.poolingNames[reference["pooling"] as! String])
    #expect(pipeline.embedding.pooling == [expectedPooling])
    #expect(pipeline.embedding.normalize == (reference["normalize"] as! Bool))
    #expect(pipeline.defaultMaxLength == reference["max_seq_length"] as! Int)

    let texts = try #require(reference["texts"] as? [String])
    let ids = try #require(reference["input_ids"] as? [[Int]])
    let batch = pipeline.batch(texts)
    #expect(batch.lengths == ids.map(\.count), "truncation to max_seq_length")
    for (row, expected) in ids.enumerated() {
      let t = batch.sequenceLength
      #expect(Array(batch.inputIDs[(row * t)..<(row * t + expected.count)]) == expected)
    }

    let embeddings = pipeline.embed(texts)
    let expected = (reference["embeddings"] as! [Any]).map(floats)
    let norms = floats(reference["norms"])
    for (index, (actual, wanted)) in zip(embeddings, expected).enumerated() {
      #expect(cosine(actual, wanted) >= 0.99999, "text \(index): cosine")
      #expect(abs(norm(actual) - Double(norms[index])) <= 1e-5 * Double(norms[index]) + 1e-6)
      expectClose(actual, wanted, rtol: 1e-4, atol: 1e-5, "\(name) text \(index)")
    }
  }

  /// The real all-MiniLM-L6-v2 with its sentence-transformers files, against
  /// sentence-transformers' encode (cut to 256 tokens, normalised).
  @Test(
    .enabled(
      if: AssetCache.hasDefaultModel,
      "Skipped: all-MiniLM-L6-v2 is not in the asset cache; run scripts/fetch-assets model"))
  func realMiniLMMatchesSentenceTransformers() throws {
    let data = try Data(contentsOf: ModelFixtures.url("minilm/sentence-transformers.json"))
    let reference = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let pipeline = try BertPipeline(directory: AssetCache.defaultModelDirectory)
    #expect(pipeline.embedding.pooling == [.mean])
    #expect(pipeline.embedding.normalize)
    #expect(pipeline.defaultMaxLength == 256)
    let texts = try #require(reference["texts"] as? [String])
    let ids = try #require(reference["input_ids"] as? [[Int]])
    #expect(pipeline.batch(texts).lengths == ids.map(\.count))
    let embeddings = pipeline.embed(texts, batchSize: 8)
    let expected = (reference["embeddings"] as! [Any]).map(floats)
    let norms = floats(reference["norms"])
    for (index, (actual, wanted)) in zip(embeddings, expected).enumerated() {
      #expect(cosine(actual, wanted) >= 0.99999, "text \(index): cosine")
      #expect(abs(norm(actual) - Double(norms[index])) <= 1e-5, "text \(index): norm")
    }
    let raw = pipeline.embed(texts, normalize: false, batchSize: 8)
    for (index, wanted) in floats(reference["unnormalized_norms"]).enumerated() {
      #expect(abs(norm(raw[index]) - Double(wanted)) <= 1e-4 * Double(wanted), "text \(index)")
    }
  }

  /// A hand-made sentence-transformers directory around the tiny model.
  static func handMade(
    modules: [[String: Any]], pooling: [String: Any]?, sentenceConfig: [String: Any]? = nil
  ) throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "bert-st-\(UUID().uuidString)")
    try FileManager.default.copyItem(at: ModelFixtures.tinyModel, to: directory)
    try DirectoryFixtures.write(modules, to: directory.appendingPathComponent("modules.json"))
    if let pooling {
      try DirectoryFixtures.write(
        pooling, to: directory.appendingPathComponent("1_Pooling/config.json"))
    }
    if let sentenceConfig {
      try DirectoryFixtures.write(
        sentenceConfig, to: directory.appendingPathComponent("sentence_bert_config.json"))
    }
    return directory
  }

  static let transformer: [String: Any] = [
    "idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer",
  ]
  static let pooling: [String: Any] = [
    "idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling",
  ]

  /// Several legacy flags concatenate in sentence-transformers' order (cls,
  /// max, mean, mean_sqrt_len_tokens), whatever the order of the keys; each
  /// part is derived here from the hidden states.
  @Test func severalModesConcatenateInSentenceTransformersOrder() throws {
    let directory = try Self.handMade(
      modules: [Self.pooling, Self.transformer],  // listed out of order; idx decides
      pooling: [
        "pooling_mode_mean_sqrt_len_tokens": true, "pooling_mode_mean_tokens": false,
        "pooling_mode_max_tokens": true, "pooling_mode_cls_token": true,
      ])
    defer { try? FileManager.default.removeItem(at: directory) }
    let pipeline = try BertPipeline(directory: directory)
    #expect(pipeline.embedding.pooling == [.cls, .max, .meanSqrtLength])
    #expect(!pipeline.embedding.normalize)
    let texts = ["the cat sat on the mat", "hello"]
    let vectors = pipeline.embed(texts)
    let states = pipeline.hiddenStates(texts)
    for (vector, tokens) in zip(vectors, states) {
      let h = tokens[0].count
      let cls = tokens[0]
      let max = (0..<h).map { k in tokens.map { $0[k] }.max()! }
      let sqrtLength = Float(Double(tokens.count).squareRoot())
      let meanSqrt = (0..<h).map { k in tokens.map { $0[k] }.reduce(0, +) / sqrtLength }
      expectClose(vector, cls + max + meanSqrt, rtol: 1e-5, atol: 1e-5, "cls | max | sqrt")
    }
    // --pooling overrides the directory's choice, and normalisation can be asked for.
    let mean = pipeline.embed(texts, pooling: .mean, normalize: true)
    for (vector, tokens) in zip(mean, states) {
      let h = tokens[0].count
      let sum = (0..<h).map { k in tokens.map { $0[k] }.reduce(0, +) / Float(tokens.count) }
      let length = Float(norm(sum))
      expectClose(vector, sum.map { $0 / length }, rtol: 1e-5, atol: 1e-6, "mean, normalised")
    }
  }

  @Test func noModeSetMeansMeanAndNoFilesKeepTheDefaults() throws {
    let directory = try Self.handMade(
      modules: [Self.transformer, Self.pooling],
      pooling: ["word_embedding_dimension": 32, "pooling_mode_cls_token": false],
      sentenceConfig: ["max_seq_length": 8, "do_lower_case": false])
    defer { try? FileManager.default.removeItem(at: directory) }
    let pipeline = try BertPipeline(directory: directory)
    #expect(pipeline.embedding.pooling == [.mean])
    #expect(pipeline.defaultMaxLength == 8)
    #expect(pipeline.batch(["one two three four five six seven eight nine"]).sequenceLength == 8)

    let plain = try BertPipeline(directory: ModelFixtures.tinyModel)
    #expect(plain.layout?.sentenceTransformers == nil)
    #expect(plain.embedding == .standard)
    #expect(plain.defaultMaxLength == plain.maxLength)
  }

  @Test func newPoolingModeKeyWins() throws {
    let directory = try Self.handMade(
      modules: [Self.transformer, Self.pooling],
      pooling: ["pooling_mode": ["max", "cls"], "pooling_mode_mean_tokens": true])
    defer { try? FileManager.default.removeItem(at: directory) }
    let settings = try #require(try SentenceTransformersSettings.read(directory: directory))
    #expect(settings.pooling == [.max, .cls])
  }

  @Test func unknownModulesAndModesAreRefusedByName() throws {
    let dense: [String: Any] = [
      "idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense",
    ]
    let withDense = try Self.handMade(
      modules: [Self.transformer, Self.pooling, dense], pooling: ["pooling_mode": "mean"])
    defer { try? FileManager.default.removeItem(at: withDense) }
    let modulesPath = withDense.appendingPathComponent("modules.json").path
    #expect(
      throws: ModelDirectoryError.unsupportedModule(
        path: modulesPath, type: "sentence_transformers.models.Dense")
    ) { try ModelDirectoryLayout(directory: withDense) }
    #expect(throws: ModelDirectoryError.self) { try BertPipeline(directory: withDense) }
    let message = ModelDirectoryError.unsupportedModule(
      path: modulesPath, type: "sentence_transformers.models.Dense"
    ).description
    #expect(message.contains("modules.json") && message.contains("Dense"))

    let weighted = try Self.handMade(
      modules: [Self.transformer, Self.pooling],
      pooling: ["pooling_mode_weightedmean_tokens": true])
    defer { try? FileManager.default.removeItem(at: weighted) }
    #expect(
      throws: ModelDirectoryError.unsupportedPooling(
        path: weighted.appendingPathComponent("1_Pooling/config.json").path,
        mode: "weightedmean")
    ) { try ModelDirectoryLayout(directory: weighted) }

    let missingPooling = try Self.handMade(
      modules: [Self.transformer, Self.pooling], pooling: nil)
    defer { try? FileManager.default.removeItem(at: missingPooling) }
    #expect(
      throws: ModelDirectoryError.missingFile(
        path: missingPooling.appendingPathComponent("1_Pooling/config.json").path)
    ) { try ModelDirectoryLayout(directory: missingPooling) }
  }

  /// `do_lower_case` lower-cases texts before a cased tokenizer sees them.
  @Test func doLowerCaseLowerCasesTheInput() throws {
    let directory = try DirectoryFixtures.copy("heads/sequence-classification-f32-cased") { url in
      try DirectoryFixtures.write(
        [Self.transformer], to: url.appendingPathComponent("modules.json"))
      try DirectoryFixtures.write(
        ["max_seq_length": 32, "do_lower_case": true],
        to: url.appendingPathComponent("sentence_bert_config.json"))
    }
    defer { try? FileManager.default.removeItem(at: directory) }
    let pipeline = try BertPipeline(directory: directory)
    #expect(!pipeline.tokenizer.doLowerCase)
    #expect(pipeline.embedding.lowercasesInput)
    let upper = pipeline.batch(["Hello New York"]).inputIDs
    let lower = pipeline.batch(["hello new york"]).inputIDs
    #expect(upper == lower)
    #expect(pipeline.tokenizer.encode("Hello New York").inputIDs != upper)
  }

  /// A model fine-tuned from a sentence-transformers directory keeps its
  /// pooling files, with the transformer's files moved to the root; without
  /// training, it embeds as sentence-transformers did.
  @Test func fineTunedDirectoryKeepsThePoolingFiles() throws {
    let source = try DirectoryFixtures.copy("sentence-transformers/cls-subfolder")
    let output = FileManager.default.temporaryDirectory.appendingPathComponent(
      "bert-st-fine-tuned-\(UUID().uuidString)")
    defer {
      try? FileManager.default.removeItem(at: source)
      try? FileManager.default.removeItem(at: output)
    }
    let task = try TextClassificationTask(
      kind: .classification, directory: source,
      train: [TextExample(text: "a cat", label: "yes"), TextExample(text: "a dog", label: "no")],
      maxLength: 16)
    try task.save(to: output)
    let modules = try #require(
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: output.appendingPathComponent("modules.json"))) as? [[String: Any]])
    #expect(modules.map { $0["path"] as? String } == ["", "1_Pooling"])
    #expect(
      try Data(contentsOf: output.appendingPathComponent("1_Pooling/config.json"))
        == Data(contentsOf: source.appendingPathComponent("1_Pooling/config.json")))
    #expect(
      try Data(contentsOf: output.appendingPathComponent("sentence_bert_config.json"))
        == Data(
          contentsOf: source.appendingPathComponent("0_Transformer/sentence_bert_config.json")))

    let reference = try DirectoryFixtures.reference("sentence-transformers/cls-subfolder")
    let pipeline = try BertPipeline(directory: output)
    #expect(pipeline.embedding.pooling == [.cls])
    #expect(pipeline.defaultMaxLength == 32)
    let texts = try #require(reference["texts"] as? [String])
    let expected = (reference["embeddings"] as! [Any]).map(floats)
    for (index, (actual, wanted)) in zip(pipeline.embed(texts), expected).enumerated() {
      #expect(cosine(actual, wanted) >= 0.99999, "text \(index)")
    }

    // A Normalize folder that sentence-transformers 1.x listed but never wrote is created.
    let minimal = try Self.handMade(
      modules: [
        Self.transformer, Self.pooling,
        [
          "idx": 2, "name": "2", "path": "2_Normalize",
          "type": "sentence_transformers.models.Normalize",
        ],
      ], pooling: ["pooling_mode": "mean"])
    let second = output.appendingPathComponent("second")
    defer { try? FileManager.default.removeItem(at: minimal) }
    let layout = try ModelDirectoryLayout(directory: minimal)
    try FileManager.default.createDirectory(at: second, withIntermediateDirectories: true)
    try layout.copySentenceTransformersFiles(to: second)
    var isDirectory: ObjCBool = false
    #expect(
      FileManager.default.fileExists(
        atPath: second.appendingPathComponent("2_Normalize").path, isDirectory: &isDirectory)
        && isDirectory.boolValue)
  }
}
