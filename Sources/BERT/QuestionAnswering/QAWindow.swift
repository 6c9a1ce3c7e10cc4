// One window of a question-answering example as the model sees it, held as
// plain arrays so that any tokenizer can fill it, and the errors of the QA
// post-processing.
//
// T tokens in the window (question, passage, special tokens and padding).

/// One window of a question-answering example: `[CLS] question [SEP] passage [SEP]`,
/// padded to T tokens, as a fast tokenizer produces it with `truncation="only_second"`,
/// `return_overflowing_tokens` and `stride`.
///
/// A long passage gives several windows, one per `doc_stride` step; `exampleIndex` says which
/// example a window belongs to (Hugging Face's `overflow_to_sample_mapping`). Offsets of
/// passage tokens are half-open ranges of Unicode-scalar indices into the original passage
/// (Python string indices); the offsets of question, special and padding tokens are never read.
public struct QAWindow: Equatable, Hashable, Sendable {
  /// The sequence id that marks passage tokens (Hugging Face's `sequence_ids()` gives 0 to
  /// the question and 1 to the passage).
  public static let passageSequence = 1

  /// The example this window was cut from.
  public var exampleIndex: Int
  /// For each token, `nil` for special tokens and padding, 0 for the question, 1 for the
  /// passage. [T]
  public private(set) var sequenceIDs: [Int?]
  /// For each token, its half-open scalar range in the passage (passage tokens only). [T]
  public private(set) var offsets: [Range<Int>]

  /// Makes a window; `sequenceIDs` and `offsets` must have one entry per token.
  /// - Parameters:
  ///   - exampleIndex: the example the window was cut from.
  ///   - sequenceIDs: [T], `nil` (special or padding), 0 (question) or 1 (passage).
  ///   - offsets: [T], scalar ranges in the passage for passage tokens, anything for the others.
  /// - Throws: `QAError.windowLengthMismatch` when the two arrays differ in length.
  public init(exampleIndex: Int, sequenceIDs: [Int?], offsets: [Range<Int>]) throws(QAError) {
    guard sequenceIDs.count == offsets.count else {
      throw .windowLengthMismatch(
        exampleIndex: exampleIndex, sequenceIDs: sequenceIDs.count, offsets: offsets.count)
    }
    self.exampleIndex = exampleIndex
    self.sequenceIDs = sequenceIDs
    self.offsets = offsets
  }

  /// The number of tokens T, padding included.
  public var count: Int { sequenceIDs.count }

  /// Whether token `t` is a passage token (never a question, special or padding token).
  @inlinable
  public func isPassageToken(_ t: Int) -> Bool { sequenceIDs[t] == Self.passageSequence }

  /// The indices of the passage tokens, in order.
  public var passageTokens: [Int] {
    var tokens: [Int] = []
    tokens.reserveCapacity(count)
    for t in 0..<count where isPassageToken(t) { tokens.append(t) }
    return tokens
  }
}

/// A token span in a window: the first and the last token, both included.
public struct QATokenSpan: Equatable, Hashable, Sendable {
  /// The first token of the span.
  public var start: Int
  /// The last token of the span (included).
  public var end: Int

  public init(start: Int, end: Int) {
    self.start = start
    self.end = end
  }
}

/// A problem with the inputs of question-answering labelling or decoding. Each case names
/// the window or example it is about, so the message can be acted on.
public enum QAError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A window's `sequenceIDs` and `offsets` have different lengths.
  case windowLengthMismatch(exampleIndex: Int, sequenceIDs: Int, offsets: Int)
  /// A window's start or end logits do not have one entry per token.
  case logitsLengthMismatch(window: Int, tokens: Int, startLogits: Int, endLogits: Int)
  /// The number of logit rows differs from the number of windows.
  case logitsCountMismatch(windows: Int, startLogits: Int, endLogits: Int)
  /// Windows decoded as one example belong to different examples.
  case mixedExamples(window: Int, exampleIndex: Int, expected: Int)
  /// A window's example index has no passage.
  case exampleOutOfRange(window: Int, exampleIndex: Int, passages: Int)
  /// A decoding setting such as `nBest` or `maxAnswerLength` is below 1.
  case invalidSetting(name: String, value: Int)

  public var description: String {
    switch self {
    case .windowLengthMismatch(let example, let ids, let offsets):
      return "A window of example \(example) has \(ids) sequence ids but \(offsets) offsets; "
        + "both need one entry per token."
    case .logitsLengthMismatch(let window, let tokens, let start, let end):
      return "Window \(window) has \(tokens) tokens but \(start) start logits and \(end) end "
        + "logits; each needs one per token."
    case .logitsCountMismatch(let windows, let start, let end):
      return "\(windows) windows were given with \(start) rows of start logits and \(end) rows "
        + "of end logits; each window needs one row of each."
    case .mixedExamples(let window, let example, let expected):
      return "Window \(window) belongs to example \(example), but the windows decoded together "
        + "belong to example \(expected)."
    case .exampleOutOfRange(let window, let example, let passages):
      return "Window \(window) belongs to example \(example), but only \(passages) passages "
        + "were given."
    case .invalidSetting(let name, let value):
      return "\(name) is \(value); it must be at least 1."
    }
  }
}
