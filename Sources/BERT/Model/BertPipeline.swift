import Foundation

// B batch, T tokens, H hidden.

/// How to turn a sequence's hidden states into one vector.
public enum Pooling: String, CaseIterable, Sendable {
  /// The `[CLS]` token's last hidden state.
  case cls
  /// The mean of the real tokens' last hidden states (padding excluded), as
  /// sentence-transformers does for all-MiniLM-L6-v2.
  case mean
  /// The pooler's output: tanh(dense([CLS])).
  case pooler
  /// No pooling: every token's hidden state.
  case none
}

/// A model directory ready for inference: tokenizer plus encoder.
///
/// ```swift
/// let pipeline = try BertPipeline(directory: AssetCache.defaultModelDirectory)
/// let vectors = pipeline.embed(["A sentence.", "Another one."], pooling: .mean)  // 2 × 384
/// ```
public struct BertPipeline {
  public let model: BertModel
  public let tokenizer: BertTokenizer
  /// What loading found in the checkpoint.
  public let loadReport: CheckpointLoadReport

  /// Loads `config.json`, `vocab.txt` (with `tokenizer_config.json`) and `model.safetensors`.
  public init(directory: URL) throws {
    (model, loadReport) = try BertModel.load(directory: directory)
    tokenizer = try BertTokenizer(directory: directory)
  }

  public init(model: BertModel, tokenizer: BertTokenizer) {
    self.model = model
    self.tokenizer = tokenizer
    loadReport = CheckpointLoadReport()
  }

  /// The longest input the model accepts, in tokens.
  public var maxLength: Int {
    min(model.config.maxPositionEmbeddings, tokenizer.modelMaxLength ?? Int.max)
  }

  /// Tokenizes texts (or pairs) into one padded batch of length ≤ `maxLength`.
  public func batch(_ texts: [String], pairs: [String]? = nil, maxLength: Int? = nil) -> TextBatch {
    let encodings = tokenizer.encodeBatch(
      texts, pairs: pairs, maxLength: min(maxLength ?? self.maxLength, self.maxLength))
    return TextBatch(encodings: encodings, paddingID: tokenizer.paddingTokenID)
  }

  /// Runs the encoder on texts, without dropout and without an autograd graph.
  ///
  /// - Returns: the batch and the model's output (hidden states [B, T, H],
  ///   pooled output [B, H]).
  public func run(
    _ texts: [String], pairs: [String]? = nil, maxLength: Int? = nil
  ) -> (batch: TextBatch, output: BertModelOutput) {
    let batch = batch(texts, pairs: pairs, maxLength: maxLength)
    return (batch, model(batch))
  }

  /// One vector per text, computed `batchSize` texts at a time.
  ///
  /// - Parameter pooling: `.cls`, `.mean` or `.pooler` (H values each); `.none`
  ///   is not a vector: use ``hiddenStates(_:pairs:maxLength:batchSize:)``.
  /// - Returns: texts.count vectors of H values, in input order.
  public func embed(
    _ texts: [String], pairs: [String]? = nil, pooling: Pooling = .mean, maxLength: Int? = nil,
    batchSize: Int = 32
  ) -> [[Float]] {
    ensure(
      pooling != .none, "embed: pooling .none gives one vector per token; use hiddenStates")
    return chunks(texts.count, batchSize).flatMap { range -> [[Float]] in
      let (batch, output) = run(
        Array(texts[range]), pairs: pairs.map { Array($0[range]) }, maxLength: maxLength)
      return Self.pool(output, batch: batch, pooling: pooling)
    }
  }

  /// Every real token's last hidden state, per text (padding removed).
  ///
  /// - Returns: texts.count arrays of Tᵢ × H values.
  public func hiddenStates(
    _ texts: [String], pairs: [String]? = nil, maxLength: Int? = nil, batchSize: Int = 32
  ) -> [[[Float]]] {
    chunks(texts.count, batchSize).flatMap { range -> [[[Float]]] in
      let (batch, output) = run(
        Array(texts[range]), pairs: pairs.map { Array($0[range]) }, maxLength: maxLength)
      let hidden = output.lastHiddenState  // [B, T, H]
      let (t, h) = (batch.sequenceLength, hidden.shape[2])
      return hidden.withUnsafeBufferPointer { values in
        batch.lengths.enumerated().map { row, length in
          (0..<length).map { position in
            let start = (row * t + position) * h
            return Array(values[start..<(start + h)])
          }
        }
      }
    }
  }

  /// Pools a batch's output into one vector per sequence.
  public static func pool(_ output: BertModelOutput, batch: TextBatch, pooling: Pooling)
    -> [[Float]]
  {
    let hidden = output.lastHiddenState  // [B, T, H]
    let (b, t, h) = (hidden.shape[0], hidden.shape[1], hidden.shape[2])
    switch pooling {
    case .pooler:
      guard let pooled = output.poolerOutput else {
        ensureFailure("pooling .pooler: this model has no pooler")
      }
      return pooled.withUnsafeBufferPointer { v in
        (0..<b).map { Array(v[($0 * h)..<(($0 + 1) * h)]) }
      }
    case .cls:
      return hidden.withUnsafeBufferPointer { v in
        (0..<b).map { Array(v[($0 * t * h)..<($0 * t * h + h)]) }
      }
    case .mean:
      return hidden.withUnsafeBufferPointer { v in
        (0..<b).map { row in
          var sum = [Double](repeating: 0, count: h)
          var count = 0
          for position in 0..<t where batch.attentionMask[row * t + position] != 0 {
            count += 1
            let start = (row * t + position) * h
            for k in 0..<h { sum[k] += Double(v[start + k]) }
          }
          return sum.map { Float($0 / Double(max(count, 1))) }
        }
      }
    case .none:
      ensureFailure("pooling .none gives one vector per token")
    }
  }

  private func chunks(_ count: Int, _ size: Int) -> [Range<Int>] {
    stride(from: 0, to: count, by: max(size, 1)).map { $0..<min(count, $0 + max(size, 1)) }
  }
}
