// `bert encode --whiten FILE`: whitened sentence embeddings, with the whitening
// fitted on the input (and saved) or read from a file written before.

import BERT
import Foundation

extension Encode {
  /// Embeds every text, whitens the vectors and writes them in input order.
  ///
  /// With an existing FILE, the whitening saved there is applied. Otherwise
  /// it is fitted on these texts' embeddings (at least two), saved to FILE for
  /// later inputs, and applied.
  func runWhitened(
    _ path: String, pipeline: BertPipeline, texts: [String], pairs: [String]?, limit: Int
  ) throws {
    let url = URL(fileURLWithPath: path)
    var vectors = pipeline.embed(
      texts, pairs: pairs, pooling: pooling, normalize: normalize, maxLength: limit,
      batchSize: batchSize, maxBatchTokens: batching.maxBatchTokens)
    let whitening: EmbeddingWhitening
    if FileManager.default.fileExists(atPath: url.path) {
      do {
        whitening = try EmbeddingWhitening(contentsOf: url)
      } catch {
        throw CLIError("cannot read the whitening in \(path): \(describe(error))")
      }
      guard whitening.inputDimensions == vectors.first?.count else {
        throw CLIError(
          "the whitening in \(path) takes vectors of \(whitening.inputDimensions) values, "
            + "but this model's embeddings have \(vectors.first?.count ?? 0)")
      }
    } else {
      guard texts.count >= 2 else {
        throw CLIError(
          "\(path) does not exist, and fitting a whitening needs at least two texts; "
            + "give more lines, or a whitening file written by an earlier run")
      }
      whitening = try EmbeddingWhitening(fitting: vectors, dimensions: whitenDimensions)
      do {
        try whitening.save(to: url)
      } catch {
        throw CLIError("cannot write the whitening to \(path): \(describe(error))")
      }
      Console.err(
        "fitted a whitening on \(texts.count) texts (\(whitening.inputDimensions) → "
          + "\(whitening.outputDimensions) dimensions) and saved it to \(path)")
    }
    vectors = try whitening.apply(vectors)
    let lines = vectors.map { JSONOut.object([("embedding", .floats($0))]).compact }
    FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
  }
}
