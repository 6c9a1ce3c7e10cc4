import Foundation
import Testing

/// `--precision int8` on `encode`, `predict` and `evaluate`.
@Suite struct CLIPrecisionTests {
  typealias H = CLIHarness

  static func cosine(_ a: [Double], _ b: [Double]) -> Double {
    let dot = zip(a, b).map { $0 * $1 }.reduce(0, +)
    let norms = (a.map { $0 * $0 }.reduce(0, +) * b.map { $0 * $0 }.reduce(0, +)).squareRoot()
    return dot / max(norms, 1e-30)
  }

  /// int8 embeddings of the tiny model stay within cosine 0.999 of fp32's
  /// (the bound of QuantizedModelTests), and are not the fp32 ones.
  @Test func encodeAtInt8() throws {
    let texts = "the cat sat on the mat\na dog\nhello world , a new city\n"
    let float = try H.run(["encode", "--model", H.tinyModel], stdin: texts)
    let int8 = try H.run(["encode", "--model", H.tinyModel, "--precision", "int8"], stdin: texts)
    #expect(float.status == 0 && int8.status == 0, "\(int8.stderr)")
    let a = try float.jsonLines().map { try #require($0["embedding"] as? [Double]) }
    let b = try int8.jsonLines().map { try #require($0["embedding"] as? [Double]) }
    #expect(a.count == 3 && b.count == 3)
    for (index, (x, y)) in zip(a, b).enumerated() {
      #expect(Self.cosine(x, y) >= 0.999, "line \(index): cosine \(Self.cosine(x, y))")
    }
    #expect(a != b)
  }

  /// evaluate --precision int8 reports the int8 metrics, the fp32 ones (those
  /// of a plain evaluate) and their difference; predict writes the same kind
  /// of lines at int8.
  @Test func evaluateReportsInt8BesideFP32() throws {
    let (run, output) = try CLITests.finetune(
      "classification", train: "sentiment-train.csv", dev: "sentiment-dev.tsv")
    defer { try? FileManager.default.removeItem(at: output) }
    try #require(run.status == 0, "\(run.stderr)")
    let arguments = ["evaluate", "--model", output.path, "--data", H.data("sentiment-dev.tsv")]
    let float = try H.run(arguments)
    let int8 = try H.run(arguments + ["--precision", "int8"])
    #expect(float.status == 0 && int8.status == 0, "\(int8.stderr)")
    let plain = try float.json()
    let report = try int8.json()
    #expect(plain["precision"] as? String == "fp32")
    #expect(report["precision"] as? String == "int8")
    let fp32 = try #require(plain["metrics"] as? [String: Double])
    let reference = try #require(report["fp32_metrics"] as? [String: Double])
    let metrics = try #require(report["metrics"] as? [String: Double])
    let difference = try #require(report["difference"] as? [String: Double])
    #expect(reference == fp32, "the fp32 metrics are those of a plain evaluate")
    #expect(Set(metrics.keys) == ["accuracy", "macro_f1", "mcc"])
    for (key, value) in metrics {
      #expect(abs(difference[key]! - (value - fp32[key]!)) < 1e-12, "\(key)")
    }
    #expect(int8.stderr.contains("accuracy") && int8.stderr.contains("at fp32"), "\(int8.stderr)")

    let predictions = try H.run(
      ["predict", "--model", output.path, "--precision", "int8"], stdin: "a good film\n")
    #expect(predictions.status == 0, "\(predictions.stderr)")
    let line = try #require(try predictions.jsonLines().first)
    #expect(line["label"] is String && line["probabilities"] is [String: Double])
  }

  @Test func unknownPrecisionIsRefused() throws {
    let run = try H.run(
      ["encode", "--model", H.tinyModel, "--precision", "int4"], stdin: "a\n")
    #expect(run.status != 0)
    #expect(run.stderr.contains("int4") && run.stderr.contains("fp32"), "\(run.stderr)")
  }

  /// `bert info` names the int8 kernel in use and those the CPU can run; the
  /// portable one is always among them.
  @Test func infoNamesTheInt8Kernel() throws {
    let run = try H.run(["info", "--model", H.tinyModel, "--json"])
    #expect(run.status == 0, "\(run.stderr)")
    let object = try run.json()
    let kernel = try #require(object["int8_kernel"] as? String)
    let available = try #require(object["int8_kernels_available"] as? [String])
    #expect(available.contains("portable") && available.contains(kernel), "\(available)")
  }

  /// `bert quantize` writes an int8 directory that the commands run at int8
  /// without being asked, with the embeddings of `--precision int8` on the
  /// source; fine-tuning it, fp32 of it and a second write over it are
  /// refused, naming the option.
  @Test func quantizeWritesADirectoryTheCommandsRun() throws {
    let output = H.temporaryDirectory("int8")
    defer { try? FileManager.default.removeItem(at: output) }
    let run = try H.run(["quantize", "--model", H.tinyModel, "--output", output.path])
    #expect(run.status == 0, "\(run.stderr)")
    let summary = try run.json()
    #expect(summary["quantized_projections"] as? Int == 13)
    #expect(summary["quantized_tables"] as? [String] == ["embeddings.word_embeddings"])
    let ratio = try #require(summary["ratio"] as? Double)
    // The tiny model's float position table, LayerNorms and biases weigh
    // more than a real model's (MiniLM's bound is in QuantizedDirectoryTests).
    #expect(ratio > 0.25 && ratio < 0.5, "ratio \(ratio)")
    let bytes = try #require(summary["weight_bytes"] as? Int)
    let sourceBytes = try #require(summary["source_weight_bytes"] as? Int)
    #expect(abs(Double(bytes) / Double(sourceBytes) - ratio) < 1e-12)
    #expect(run.stderr.contains("quantize: 13 projections"), "\(run.stderr)")

    let texts = "the cat sat on the mat\na dog\n"
    let stored = try H.run(["encode", "--model", output.path], stdin: texts)
    let converted = try H.run(
      ["encode", "--model", H.tinyModel, "--precision", "int8"], stdin: texts)
    #expect(stored.status == 0, "\(stored.stderr)")
    #expect(stored.stdout == converted.stdout)

    let fp32 = try H.run(["encode", "--model", output.path, "--precision", "fp32"], stdin: texts)
    #expect(fp32.status != 0 && fp32.stderr.contains("holds int8 weights"), "\(fp32.stderr)")
    let again = try H.run(["quantize", "--model", H.tinyModel, "--output", output.path])
    #expect(again.status != 0 && again.stderr.contains("--output"), "\(again.stderr)")
    #expect(again.stderr.contains("exists"), "\(again.stderr)")
    let finetune = try H.run([
      "finetune", "--task", "classification", "--model", output.path, "--train",
      H.data("sentiment-train.csv"), "--output", H.temporaryDirectory().path,
    ])
    #expect(finetune.status != 0, "\(finetune.stderr)")
    #expect(
      finetune.stderr.contains("--model") && finetune.stderr.contains("int8 directory"),
      "\(finetune.stderr)")
  }

  /// evaluate on a fine-tuned model's int8 directory reports int8 metrics
  /// equal to `--precision int8` on the source, with no fp32 beside them.
  @Test func evaluateRunsAnInt8DirectoryAsStored() throws {
    let (run, source) = try CLITests.finetune(
      "classification", train: "sentiment-train.csv", dev: "sentiment-dev.tsv")
    let output = H.temporaryDirectory("int8")
    defer { for url in [source, output] { try? FileManager.default.removeItem(at: url) } }
    try #require(run.status == 0, "\(run.stderr)")
    let quantize = try H.run(["quantize", "--model", source.path, "--output", output.path])
    try #require(quantize.status == 0, "\(quantize.stderr)")
    let data = ["--data", H.data("sentiment-dev.tsv")]
    let stored = try H.run(["evaluate", "--model", output.path] + data).json()
    let converted = try H.run(
      ["evaluate", "--model", source.path, "--precision", "int8"] + data
    ).json()
    #expect(stored["precision"] as? String == "int8")
    #expect(stored["fp32_metrics"] == nil)
    #expect(
      stored["metrics"] as? [String: Double] == converted["metrics"] as? [String: Double])
  }
}
