/// A padded batch of token sequences, the input of ``BertModel``.
///
/// B is the batch size and T the padded sequence length; every array is
/// [B, T] in row-major order.
public struct TextBatch: Sendable, Equatable {
  /// B
  public let batchSize: Int
  /// T
  public let sequenceLength: Int
  /// Vocabulary ids, [B, T].
  public var inputIDs: [Int]
  /// Segment ids (0 for the first text, 1 for the second), [B, T].
  public var tokenTypeIDs: [Int]
  /// 1 for a real token, 0 for padding, [B, T].
  public var attentionMask: [Int]

  /// A batch from flat [B, T] arrays. Token types default to 0 and the mask to all ones.
  public init(
    batchSize: Int, sequenceLength: Int, inputIDs: [Int], tokenTypeIDs: [Int]? = nil,
    attentionMask: [Int]? = nil
  ) {
    let count = batchSize * sequenceLength
    ensure(
      inputIDs.count == count,
      "TextBatch: \(inputIDs.count) input ids for \(batchSize) × \(sequenceLength)")
    ensure(
      tokenTypeIDs.map { $0.count == count } ?? true,
      "TextBatch: \(tokenTypeIDs?.count ?? 0) token type ids for \(batchSize) × \(sequenceLength)")
    ensure(
      attentionMask.map { $0.count == count } ?? true,
      "TextBatch: \(attentionMask?.count ?? 0) mask values for \(batchSize) × \(sequenceLength)")
    self.batchSize = batchSize
    self.sequenceLength = sequenceLength
    self.inputIDs = inputIDs
    self.tokenTypeIDs = tokenTypeIDs ?? Array(repeating: 0, count: count)
    self.attentionMask = attentionMask ?? Array(repeating: 1, count: count)
  }

  /// The value added to the attention scores of padded keys: the most negative
  /// finite Float, as Hugging Face uses (`torch.finfo(float32).min`).
  public static let maskedScore: Float = -Float.greatestFiniteMagnitude

  /// The additive attention mask, [B, T]: 0 where a key may be attended, ``maskedScore`` where not.
  public var additiveMask: Tensor {
    Tensor(
      shape: [batchSize, sequenceLength],
      scalars: attentionMask.map { $0 == 0 ? TextBatch.maskedScore : 0 })
  }

  /// The number of real (unpadded) tokens in each sequence, [B].
  public var lengths: [Int] {
    (0..<batchSize).map { row in
      attentionMask[(row * sequenceLength)..<((row + 1) * sequenceLength)].reduce(0, +)
    }
  }
}

extension TextBatch {
  /// Pads encodings to the longest (or to `length`) and stacks them into a batch.
  ///
  /// - Parameters:
  ///   - encodings: B encodings of any lengths up to T.
  ///   - paddingID: the id of `[PAD]`.
  ///   - length: T; defaults to the longest encoding.
  public init(encodings: [Encoding], paddingID: Int, length: Int? = nil) {
    let t = length ?? encodings.map(\.inputIDs.count).max() ?? 0
    var ids: [Int] = []
    var types: [Int] = []
    var mask: [Int] = []
    ids.reserveCapacity(encodings.count * t)
    types.reserveCapacity(encodings.count * t)
    mask.reserveCapacity(encodings.count * t)
    for (index, encoding) in encodings.enumerated() {
      let n = encoding.inputIDs.count
      ensure(
        n <= t, "TextBatch: encoding \(index) has \(n) tokens, more than the batch length \(t)")
      ids += encoding.inputIDs + Array(repeating: paddingID, count: t - n)
      types += encoding.tokenTypeIDs + Array(repeating: 0, count: t - n)
      mask += encoding.attentionMask + Array(repeating: 0, count: t - n)
    }
    self.init(
      batchSize: encodings.count, sequenceLength: t, inputIDs: ids, tokenTypeIDs: types,
      attentionMask: mask)
  }
}
