import Foundation

// B batch, T tokens, H hidden.

/// How to turn a sequence's hidden states into one vector.
public enum Pooling: String, CaseIterable, Sendable {
  /// The `[CLS]` token's last hidden state.
  case cls
  /// The mean of the real tokens' last hidden states (padding excluded), as
  /// sentence-transformers does for all-MiniLM-L6-v2.
  case mean
  /// The largest value of each dimension over the real tokens
  /// (sentence-transformers' `pooling_mode_max_tokens`).
  case max
  /// The sum of the real tokens' last hidden states divided by the square root
  /// of their count (sentence-transformers' `pooling_mode_mean_sqrt_len_tokens`).
  case meanSqrtLength = "mean-sqrt-len"
  /// The pooler's output: tanh(dense([CLS])).
  case pooler
  /// No pooling: every token's hidden state.
  case none
}

/// How ``BertPipeline/embed(_:pairs:pooling:normalize:maxLength:batchSize:)``
/// turns texts into vectors when the call does not say: a sentence-transformers
/// directory's own recipe, else mean pooling of up to the model's limit, not normalised.
public struct EmbeddingSettings: Sendable, Equatable {
  /// The pooling modes; several are concatenated in this order.
  public var pooling: [Pooling]
  /// Whether each vector is scaled to unit L2 norm.
  public var normalize: Bool
  /// Inputs are truncated to this many tokens (special tokens included); nil
  /// for the model's limit.
  public var maxLength: Int?
  /// Whether texts are lower-cased before tokenizing (`do_lower_case`).
  public var lowercasesInput: Bool

  /// Mean pooling, not normalised, the model's whole length.
  public static let standard = EmbeddingSettings(
    pooling: [.mean], normalize: false, maxLength: nil, lowercasesInput: false)

  public init(pooling: [Pooling], normalize: Bool, maxLength: Int?, lowercasesInput: Bool) {
    self.pooling = pooling
    self.normalize = normalize
    self.maxLength = maxLength
    self.lowercasesInput = lowercasesInput
  }

  /// The recipe of sentence-transformers' files; ``standard`` without them.
  public init(_ settings: SentenceTransformersSettings?) {
    guard let settings else {
      self = .standard
      return
    }
    self.init(
      pooling: settings.pooling ?? [.mean], normalize: settings.normalize,
      maxLength: settings.maxSequenceLength, lowercasesInput: settings.lowercasesInput)
  }
}

/// A model directory ready for inference: tokenizer plus encoder.
///
/// ```swift
/// let pipeline = try BertPipeline(directory: URL(fileURLWithPath: "all-MiniLM-L6-v2"))
/// let vectors = pipeline.embed(["A sentence.", "Another one."], pooling: .mean)  // 2 × 384
/// ```
public struct BertPipeline {
  public let model: BertModel
  public let tokenizer: BertTokenizer
  /// What loading found in the checkpoint.
  public let loadReport: CheckpointLoadReport
  /// Where the directory keeps its files, and its sentence-transformers recipe.
  public let layout: ModelDirectoryLayout?
  /// What ``embed(_:pairs:pooling:normalize:maxLength:batchSize:maxBatchTokens:)`` does by default.
  public var embedding: EmbeddingSettings
  /// The precision the encoder's projections run at.
  public var precision: Precision { model.projectionPrecision }

  /// Loads `config.json`, the tokenizer (`tokenizer.json`, else `vocab.txt`
  /// with `tokenizer_config.json`) and the weights (`model.safetensors`, or the
  /// shards that `model.safetensors.index.json` names), from the directory or
  /// from the `Transformer` folder its `modules.json` names. A
  /// sentence-transformers directory's pooling, normalisation and
  /// `max_seq_length` become ``embedding``. A fine-tuned head's weights
  /// (`classifier.*`, `qa_outputs.*`) are listed in ``loadReport`` as ignored.
  /// With `precision` ``Precision/int8``, the projections are quantized as
  /// they load (see ``Precision``); nil runs the directory as it is stored
  /// (int8 for a directory `bert quantize` wrote, else fp32).
  ///
  /// - Throws: `CheckpointError` for missing, misshapen or unconverted weights;
  ///   `TokenizerError` for a missing or unsupported tokenizer;
  ///   `ModelDirectoryError` for unreadable sentence-transformers files;
  ///   `QuantizationError` for fp32 asked of an int8 directory.
  public init(directory: URL, precision: Precision? = nil) throws {
    let layout = try ModelDirectoryLayout(directory: directory)
    // A fine-tuned directory's head (classifier, qa_outputs) goes unused, as
    // when transformers' AutoModel loads it; any other problem is refused.
    var (model, report) = try BertModel.load(directory: layout.transformer, allowingProblems: true)
    let headKeys = Set(
      report.unexpected.filter { $0.hasPrefix("classifier.") || $0.hasPrefix("qa_outputs.") })
    report.unexpected.removeAll { headKeys.contains($0) }
    report.ignored += headKeys.sorted()
    if report.hasProblems { (model, report) = try BertModel.load(directory: layout.transformer) }
    let stored = model.projectionPrecision
    let target = try Precision.resolving(precision, stored: stored, path: directory.path)
    // A directory runs as stored (an int8 one keeps the projections it stores in float).
    if target != stored { try model.convert(to: target) }
    self.model = model
    loadReport = report
    tokenizer = try BertTokenizer(directory: layout.transformer)
    self.layout = layout
    embedding = EmbeddingSettings(layout.sentenceTransformers)
  }

  public init(model: BertModel, tokenizer: BertTokenizer, embedding: EmbeddingSettings = .standard)
  {
    self.model = model
    self.tokenizer = tokenizer
    loadReport = CheckpointLoadReport()
    layout = nil
    self.embedding = embedding
  }

  /// The longest input the model accepts, in tokens.
  public var maxLength: Int {
    min(model.config.maxPositionEmbeddings, tokenizer.modelMaxLength ?? Int.max)
  }

  /// The length inputs are truncated to when a call names none: the
  /// directory's `max_seq_length` when it has one (it replaces the tokenizer's
  /// `model_max_length`, as in sentence-transformers), else ``maxLength``;
  /// never more than the model's positions.
  public var defaultMaxLength: Int {
    guard let length = embedding.maxLength else { return maxLength }
    return min(length, model.config.maxPositionEmbeddings)
  }

  /// Tokenizes texts (or pairs) into one padded batch of length ≤ `maxLength`
  /// (by default ``defaultMaxLength``; at most the larger of ``maxLength`` and
  /// ``defaultMaxLength``). Texts are lower-cased first (with
  /// `String.lowercased()`) when ``embedding`` says so and the tokenizer does
  /// not lower-case already.
  public func batch(_ texts: [String], pairs: [String]? = nil, maxLength: Int? = nil) -> TextBatch {
    TextBatch(
      encodings: encode(texts, pairs: pairs, maxLength: maxLength),
      paddingID: tokenizer.paddingTokenID)
  }

  /// The encodings ``batch(_:pairs:maxLength:)`` pads into a batch, and
  /// ``embed(_:pairs:pooling:normalize:maxLength:batchSize:maxBatchTokens:)`` runs.
  public func encode(_ texts: [String], pairs: [String]? = nil, maxLength: Int? = nil)
    -> [Encoding]
  {
    let lower = embedding.lowercasesInput && !tokenizer.doLowerCase
    let limit = Swift.max(self.maxLength, defaultMaxLength)
    return tokenizer.encodeBatch(
      lower ? texts.map { $0.lowercased() } : texts,
      pairs: lower ? pairs?.map { $0.lowercased() } : pairs,
      maxLength: min(maxLength ?? defaultMaxLength, limit))
  }

  /// The tokens ``encode(_:pairs:maxLength:)`` gives a text (or pair) before
  /// any truncation, special tokens included.
  public func tokenCount(_ text: String, pair: String? = nil) -> Int {
    let lower = embedding.lowercasesInput && !tokenizer.doLowerCase
    return tokenizer.encode(
      lower ? text.lowercased() : text, pair: lower ? pair?.lowercased() : pair,
      maxLength: Int.max, truncation: .doNotTruncate
    ).count
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

  /// Runs the encoder over all texts in length-sorted batches (see
  /// ``Batching``) and returns `transform`'s result for every text, in input
  /// order. `transform` gets each batch, its output and the batch's row of
  /// every text it covers.
  func runSorted<Result>(
    _ texts: [String], pairs: [String]?, maxLength: Int?, batching: Batching,
    statistics: inout BatchingStatistics,
    _ transform: (TextBatch, BertModelOutput) -> [Result]
  ) -> [Result] {
    let encodings = encode(texts, pairs: pairs, maxLength: maxLength)
    return batching.map(encodings, paddingID: tokenizer.paddingTokenID) { batch, _ in
      statistics.record(lengths: batch.lengths)
      return transform(batch, model(batch))
    }
  }

  /// One vector per text, computed in length-sorted batches of at most
  /// `batchSize` texts and, when `maxBatchTokens` is given, at most that many
  /// padded tokens (see ``Batching``).
  ///
  /// - Parameters:
  ///   - pooling: `.cls`, `.mean`, `.max`, `.meanSqrtLength` or `.pooler` (H
  ///     values each); nil for ``embedding``'s modes (several are concatenated).
  ///     `.none` is not a vector: use ``hiddenStates(_:pairs:maxLength:batchSize:maxBatchTokens:)``.
  ///   - normalize: whether to scale each vector to unit L2 norm; nil for ``embedding``'s choice.
  ///   - maxLength: tokens per input; nil for ``defaultMaxLength``.
  /// - Returns: texts.count vectors, in input order.
  public func embed(
    _ texts: [String], pairs: [String]? = nil, pooling: Pooling? = nil, normalize: Bool? = nil,
    maxLength: Int? = nil, batchSize: Int = 32, maxBatchTokens: Int? = nil
  ) -> [[Float]] {
    var statistics = BatchingStatistics()
    return embed(
      texts, pairs: pairs, pooling: pooling, normalize: normalize, maxLength: maxLength,
      batchSize: batchSize, maxBatchTokens: maxBatchTokens, statistics: &statistics)
  }

  /// ``embed(_:pairs:pooling:normalize:maxLength:batchSize:maxBatchTokens:)``,
  /// adding the batches it ran, and their padding, to `statistics`.
  public func embed(
    _ texts: [String], pairs: [String]? = nil, pooling: Pooling? = nil, normalize: Bool? = nil,
    maxLength: Int? = nil, batchSize: Int = 32, maxBatchTokens: Int? = nil,
    statistics: inout BatchingStatistics
  ) -> [[Float]] {
    let modes = pooling.map { [$0] } ?? embedding.pooling
    ensure(
      !modes.contains(.none), "embed: pooling .none gives one vector per token; use hiddenStates")
    let normalize = normalize ?? embedding.normalize
    return runSorted(
      texts, pairs: pairs, maxLength: maxLength,
      batching: Batching(maxSequences: batchSize, maxTokens: maxBatchTokens),
      statistics: &statistics
    ) { batch, output in
      let vectors = Self.pool(output, batch: batch, modes: modes)
      return normalize ? vectors.map(Self.normalized) : vectors
    }
  }

  /// Several poolings of a batch's output, concatenated per sequence in the
  /// order of `modes` (as sentence-transformers concatenates them).
  public static func pool(_ output: BertModelOutput, batch: TextBatch, modes: [Pooling])
    -> [[Float]]
  {
    ensure(!modes.isEmpty, "pool: no pooling mode")
    let pooled = modes.map { pool(output, batch: batch, pooling: $0) }
    guard pooled.count > 1 else { return pooled[0] }
    return pooled[0].indices.map { row in pooled.flatMap { $0[row] } }
  }

  /// `vector` scaled to unit L2 norm, as `torch.nn.functional.normalize`
  /// (which divides by max(‖v‖, 1e-12)).
  public static func normalized(_ vector: [Float]) -> [Float] {
    let norm = vector.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    let scale = 1 / Swift.max(norm, 1e-12)
    return vector.map { Float(Double($0) * scale) }
  }

  /// Every real token's last hidden state, per text (padding removed),
  /// computed in length-sorted batches as
  /// ``embed(_:pairs:pooling:normalize:maxLength:batchSize:maxBatchTokens:)`` is.
  ///
  /// - Returns: texts.count arrays of Tᵢ × H values, in input order.
  public func hiddenStates(
    _ texts: [String], pairs: [String]? = nil, maxLength: Int? = nil, batchSize: Int = 32,
    maxBatchTokens: Int? = nil
  ) -> [[[Float]]] {
    var statistics = BatchingStatistics()
    return hiddenStates(
      texts, pairs: pairs, maxLength: maxLength, batchSize: batchSize,
      maxBatchTokens: maxBatchTokens, statistics: &statistics)
  }

  /// ``hiddenStates(_:pairs:maxLength:batchSize:maxBatchTokens:)``, adding the
  /// batches it ran, and their padding, to `statistics`.
  public func hiddenStates(
    _ texts: [String], pairs: [String]? = nil, maxLength: Int? = nil, batchSize: Int = 32,
    maxBatchTokens: Int? = nil, statistics: inout BatchingStatistics
  ) -> [[[Float]]] {
    runSorted(
      texts, pairs: pairs, maxLength: maxLength,
      batching: Batching(maxSequences: batchSize, maxTokens: maxBatchTokens),
      statistics: &statistics
    ) { batch, output in
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
    case .mean, .meanSqrtLength:
      return hidden.withUnsafeBufferPointer { v in
        (0..<b).map { row in
          var sum = [Double](repeating: 0, count: h)
          var count = 0
          for position in 0..<t where batch.attentionMask[row * t + position] != 0 {
            count += 1
            let start = (row * t + position) * h
            for k in 0..<h { sum[k] += Double(v[start + k]) }
          }
          let divisor = Swift.max(Double(count), 1e-9)
          let denominator = pooling == .mean ? divisor : divisor.squareRoot()
          return sum.map { Float($0 / denominator) }
        }
      }
    case .max:
      return hidden.withUnsafeBufferPointer { v in
        (0..<b).map { row in
          var peak = [Float](repeating: -.infinity, count: h)
          for position in 0..<t where batch.attentionMask[row * t + position] != 0 {
            let start = (row * t + position) * h
            for k in 0..<h { peak[k] = Swift.max(peak[k], v[start + k]) }
          }
          return peak
        }
      }
    case .none:
      ensureFailure("pooling .none gives one vector per token")
    }
  }
}
