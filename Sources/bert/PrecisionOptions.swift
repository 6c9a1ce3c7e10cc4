// `--precision`, taken by the subcommands that run inference.

import ArgumentParser
import BERT

extension Precision: ExpressibleByArgument {}

/// The precision inference runs at. int8 quantizes every projection as the
/// model loads (see `Precision`); training stays fp32. Without the option, a
/// directory runs as stored: int8 for one `bert quantize` wrote, else fp32.
struct PrecisionOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "fp32, or int8: every projection and the word embeddings quantized as the model loads "
        + "(weights per output channel, activations per token; LayerNorm and attention stay "
        + "fp32). Default: as the directory is stored (int8 for one bert quantize wrote).",
      valueName: "precision"))
  var precision: Precision?

  /// Makes `application` run at the precision asked, if any.
  ///
  /// - Throws: `QuantizationError` for fp32 asked of an int8 directory (`path`).
  func apply(to application: any FineTunedApplication, path: String) throws {
    try application.convert(toRequested: precision, path: path)
  }
}
