/// One encoded input, ready for the model: BERT's `[CLS] a [SEP]` or
/// `[CLS] a [SEP] b [SEP]`, with its masks and offsets. Every array has
/// ``count`` elements, one per token (T below).
public struct Encoding: Sendable, Equatable {
  /// Token ids.
  public var inputIDs: [Int]  // [T]
  /// 0 for `[CLS]`, the first text and its `[SEP]`; 1 for the second text and
  /// its `[SEP]`; 0 for padding.
  public var tokenTypeIDs: [Int]  // [T]
  /// 1 for real tokens, 0 for padding.
  public var attentionMask: [Int]  // [T]
  /// 1 for `[CLS]`, `[SEP]` and padding, 0 for tokens of the texts.
  public var specialTokensMask: [Int]  // [T]
  /// Each token's half-open range of Unicode scalar indices in its own text
  /// (the same as Python string indices); empty `0..<0` for special tokens and
  /// padding.
  public var offsets: [Range<Int>]  // [T]
  /// Which text each token comes from: 0, 1, or nil for special tokens and
  /// padding (HF's `sequence_ids()`).
  public var sequenceIDs: [Int?]  // [T]

  /// The number of tokens, padding included.
  public var count: Int { inputIDs.count }

  public init(
    inputIDs: [Int], tokenTypeIDs: [Int], attentionMask: [Int], specialTokensMask: [Int],
    offsets: [Range<Int>], sequenceIDs: [Int?]
  ) {
    self.inputIDs = inputIDs
    self.tokenTypeIDs = tokenTypeIDs
    self.attentionMask = attentionMask
    self.specialTokensMask = specialTokensMask
    self.offsets = offsets
    self.sequenceIDs = sequenceIDs
  }

  /// Appends `n` padding tokens with id `paddingID`.
  mutating func pad(to length: Int, paddingID: Int) {
    let n = length - count
    guard n > 0 else { return }
    inputIDs += repeatElement(paddingID, count: n)
    tokenTypeIDs += repeatElement(0, count: n)
    attentionMask += repeatElement(0, count: n)
    specialTokensMask += repeatElement(1, count: n)
    offsets += repeatElement(0..<0, count: n)
    sequenceIDs += repeatElement(nil, count: n)
  }
}

/// How to shorten inputs that exceed the maximum length (HF's `truncation`).
public enum Truncation: Sendable, Equatable {
  /// Remove one token at a time from the longer text, from the second on a tie
  /// (HF's slow `longest_first`; the fast tokenizer removes from the first on a tie).
  case longestFirst
  /// Remove tokens from the end of the first text only.
  case onlyFirst
  /// Remove tokens from the end of the second text only (question answering).
  /// A single text is not truncated, as in HF.
  case onlySecond
  /// Never truncate.
  case doNotTruncate
}

/// How to pad inputs (HF's `padding`).
public enum Padding: Sendable, Equatable {
  /// No padding.
  case doNotPad
  /// Pad a batch to its longest input; a single input is not padded.
  case longest
  /// Pad to the maximum length: the call's `maxLength`, else the tokenizer's
  /// ``BertTokenizer/modelMaxLength``.
  case maxLength
  /// Pad to this many tokens.
  case length(Int)
}
