// `bert quantize`: a model directory to an int8 one.

import ArgumentParser
import BERT
import Foundation

struct Quantize: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write a model directory as an int8 one that loads directly.",
    discussion: """
      Quantizes every projection (symmetric int8, one float32 scale per output channel) \
      and the word embeddings (one scale per token row) of --model, a base, \
      sentence-transformers or fine-tuned directory, and writes --output: the same \
      directory with int8 weights in model.safetensors (K.weight as I8, K.weight_scale \
      as F32), quantization_config in config.json, and a README.md. The weights take \
      about a quarter of the float32 ones. encode, predict and evaluate run it at int8 \
      without --precision, with the same numbers as --precision int8 on the source. \
      transformers cannot read it, and it cannot be fine-tuned.

      Prints a JSON summary on stdout.

      Examples:
        bert quantize --model all-MiniLM-L6-v2 --output minilm-int8
        bert quantize --model polarity --output polarity-int8 \
          --keep-float bert.encoder.layer.5.output.dense
      """)

  @OptionGroup var compute: ComputeOptions
  @OptionGroup var modelOptions: ModelOptions

  @Option(help: ArgumentHelp("The int8 directory to write; it must not exist.", valueName: "dir"))
  var output: String

  @Option(
    name: .customLong("keep-float"),
    help: ArgumentHelp(
      "A projection to keep in float32, keyed as in the checkpoint "
        + "(encoder.layer.9.output.dense); repeatable.", valueName: "key"))
  var keepFloat: [String] = []

  func run() throws {
    try reportingErrors("quantize") {
      try compute.apply()
      let directory = try modelOptions.directory()
      let target = URL(fileURLWithPath: output, isDirectory: true).standardizedFileURL
      let summary: QuantizationSummary
      do {
        summary = try QuantizedModelDirectory.write(
          from: directory, to: target, keepingFloat: Set(keepFloat))
      } catch let error as QuantizedModelDirectoryError {
        switch error {
        case .outputExists: throw CLIError("--output \(error)")
        case .unknownProjection: throw CLIError("--keep-float \(error)")
        case .alreadyQuantized: throw CLIError("--model \(error)")
        }
      }
      let ratio = Double(summary.writtenWeightBytes) / Double(max(summary.sourceWeightBytes, 1))
      Console.err(
        "quantize: \(summary.quantizedProjections.count) projections and "
          + "\(summary.quantizedTables.count) embedding table to int8; weights "
          + "\(summary.writtenWeightBytes) bytes, \(String(format: "%.2f", ratio))× the source's "
          + "\(summary.sourceWeightBytes); wrote \(target.path)")
      Console.out(
        JSONOut.object([
          ("model", .string(modelOptions.model ?? directory.path)),
          ("output", .string(target.path)),
          ("quantized_projections", .int(summary.quantizedProjections.count)),
          ("quantized_tables", .array(summary.quantizedTables.map { .string($0) })),
          ("kept_in_float", .array(summary.keptInFloat.map { .string($0) })),
          ("source_weight_bytes", .int(summary.sourceWeightBytes)),
          ("weight_bytes", .int(summary.writtenWeightBytes)),
          ("ratio", .double(ratio)),
        ]).pretty)
    }
  }
}
