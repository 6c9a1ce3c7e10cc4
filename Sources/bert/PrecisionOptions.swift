// `--precision`, taken by the subcommands that run inference.

import ArgumentParser
import BERT

extension Precision: ExpressibleByArgument {}

/// The precision inference runs at. int8 quantizes every projection as the
/// model loads (see `Precision`); training stays fp32.
struct PrecisionOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "fp32, or int8: every projection quantized as the model loads (weights per output "
        + "channel, activations per token; embeddings, LayerNorm and attention stay fp32).",
      valueName: "precision"))
  var precision: Precision = .fp32
}
