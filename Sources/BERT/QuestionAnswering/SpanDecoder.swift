// Span decoding for extractive question answering: the best answer spans of an example from
// the start and end logits of its windows, as in the original BERT `run_squad.py`
// (`write_predictions`, `_check_is_max_context`) and Hugging Face's
// `postprocess_qa_predictions` (examples/pytorch/question-answering/utils_qa.py).
//
// W windows of one example, T tokens in a window.

import Foundation

/// One answer of an n-best list: the text cut from the original passage, where it is, and
/// how the model scored it.
public struct QAAnswer: Equatable, Sendable {
  /// The answer text, cut from the original passage on Unicode scalars ("" when no span qualifies).
  public var text: String
  /// The answer's half-open scalar range in the passage, `nil` when no span qualifies.
  public var scalarRange: Range<Int>?
  /// The index of the window the span was taken from, in the windows given to the decoder.
  public var window: Int?
  /// The span's first and last token in that window.
  public var tokens: QATokenSpan?
  /// The span score: start logit of the first token plus end logit of the last token.
  public var score: Float
  /// The softmax of `score` over the scores of the n-best list.
  public var probability: Float

  public init(
    text: String, scalarRange: Range<Int>?, window: Int?, tokens: QATokenSpan?,
    score: Float, probability: Float
  ) {
    self.text = text
    self.scalarRange = scalarRange
    self.window = window
    self.tokens = tokens
    self.score = score
    self.probability = probability
  }

  /// The answer given when no span qualifies: empty text, no span, score 0 and probability 1
  /// (Hugging Face's placeholder, with an empty text).
  public static let empty = QAAnswer(
    text: "", scalarRange: nil, window: nil, tokens: nil, score: 0, probability: 1)
}

/// Finds the best answer spans of question-answering examples from the logits of their windows.
public enum SpanDecoder {
  /// The number of start and end candidates per window, and the length of the n-best list.
  public static let defaultNBest = 20
  /// The longest answer considered, in tokens: ``TaskDefaults/maxAnswerLength``.
  public static let defaultMaxAnswerLength = TaskDefaults.maxAnswerLength

  // MARK: - Max context

  /// For each window of one example, which of its tokens have their maximum context there.
  ///
  /// A passage token that appears in several overlapping windows belongs to the window that
  /// maximises `min(left, right) + 0.01 × n`, where `left` and `right` count the window's
  /// passage tokens on either side of it and `n` is the window's passage length (the original
  /// BERT `_check_is_max_context`). The score is compared exactly, as the integer
  /// `100 × min(left, right) + n`, and a tie goes to the earlier window, as the original's
  /// strict `>` does.
  ///
  /// A token is identified across windows by the start of its passage offset; tokens that
  /// share a start within a window (a normaliser that expands one scalar into several tokens)
  /// are told apart by their order.
  ///
  /// - Parameter windows: the W windows of one example, in passage order.
  /// - Returns: W masks, each [T] of its window: `true` for a passage token whose
  ///   maximum-context window is this one, `false` for every other token.
  public static func maxContextMasks(_ windows: [QAWindow]) -> [[Bool]] {
    struct TokenKey: Hashable {
      var start: Int
      var ordinal: Int
    }
    var keys: [[TokenKey]] = []  // [W][passage tokens of the window]
    keys.reserveCapacity(windows.count)
    var best: [TokenKey: (score: Int, window: Int)] = [:]
    for (w, window) in windows.enumerated() {
      let passage = window.passageTokens
      let n = passage.count
      var windowKeys: [TokenKey] = []
      windowKeys.reserveCapacity(n)
      var previousStart = Int.min
      var ordinal = 0
      for (k, t) in passage.enumerated() {
        let start = window.offsets[t].lowerBound
        ordinal = start == previousStart ? ordinal + 1 : 0
        previousStart = start
        let key = TokenKey(start: start, ordinal: ordinal)
        windowKeys.append(key)
        let score = 100 * min(k, n - 1 - k) + n
        if let current = best[key], current.score >= score { continue }
        best[key] = (score, w)
      }
      keys.append(windowKeys)
    }
    var masks: [[Bool]] = []
    masks.reserveCapacity(windows.count)
    for (w, window) in windows.enumerated() {
      var mask = [Bool](repeating: false, count: window.count)
      for (k, t) in window.passageTokens.enumerated() where best[keys[w][k]]?.window == w {
        mask[t] = true
      }
      masks.append(mask)
    }
    return masks
  }

  // MARK: - Decoding

  /// The n-best answers of one example, best first; never empty.
  ///
  /// In each window, the `nBest` passage tokens with the highest start logits among those
  /// whose maximum context is this window (see `maxContextMasks`) are paired with the `nBest`
  /// passage tokens with the highest end logits. A pair qualifies when `start ≤ end`,
  /// `end − start + 1 ≤ maxAnswerLength`, and its scalar range lies inside the passage and is
  /// not empty; question, special and padding tokens never qualify. Its score is
  /// `startLogits[start] + endLogits[end]`, and a pair whose score is not finite is dropped. The pairs of all windows are sorted by score
  /// (ties: earlier window, then earlier start, then earlier end), the first `nBest` are kept,
  /// and each gets the softmax of its score over theirs.
  ///
  /// Hugging Face ranks all tokens and then drops the ineligible ones; ranking only eligible
  /// tokens keeps every pair Hugging Face would consider and its best answer whenever it has
  /// one, and question or special tokens with high logits cannot crowd the passage out.
  ///
  /// When no pair qualifies (no window, no passage token, offsets outside the passage), the
  /// list is `[QAAnswer.empty]`.
  ///
  /// - Parameters:
  ///   - passage: the original passage the offsets index, as Unicode scalars.
  ///   - windows: the W windows of the example, in passage order.
  ///   - startLogits: W rows, each [T] of its window.
  ///   - endLogits: W rows, each [T] of its window.
  ///   - nBest: candidates per window and the length of the list (default 20).
  ///   - maxAnswerLength: the longest answer in tokens (default 30).
  /// - Returns: up to `nBest` answers, best first, at least one.
  /// - Throws: `QAError` when the logits do not match the windows, when the windows belong to
  ///   different examples, or when a setting is below 1.
  public static func decode(
    passage: String, windows: [QAWindow], startLogits: [[Float]], endLogits: [[Float]],
    nBest: Int = defaultNBest, maxAnswerLength: Int = defaultMaxAnswerLength
  ) throws(QAError) -> [QAAnswer] {
    guard nBest >= 1 else { throw .invalidSetting(name: "nBest", value: nBest) }
    guard maxAnswerLength >= 1 else {
      throw .invalidSetting(name: "maxAnswerLength", value: maxAnswerLength)
    }
    guard startLogits.count == windows.count, endLogits.count == windows.count else {
      throw .logitsCountMismatch(
        windows: windows.count, startLogits: startLogits.count, endLogits: endLogits.count)
    }
    for (w, window) in windows.enumerated() {
      guard startLogits[w].count == window.count, endLogits[w].count == window.count else {
        throw .logitsLengthMismatch(
          window: w, tokens: window.count, startLogits: startLogits[w].count,
          endLogits: endLogits[w].count)
      }
      guard window.exampleIndex == windows[0].exampleIndex else {
        throw .mixedExamples(
          window: w, exampleIndex: window.exampleIndex, expected: windows[0].exampleIndex)
      }
    }

    let scalarCount = passage.unicodeScalars.count
    let masks = maxContextMasks(windows)
    var candidates: [Candidate] = []
    for (w, window) in windows.enumerated() {
      let starts = topTokens(startLogits[w], count: nBest) { t in masks[w][t] }
      let ends = topTokens(endLogits[w], count: nBest) { t in window.isPassageToken(t) }
      for start in starts {
        for end in ends where end >= start && end - start < maxAnswerLength {
          let lower = window.offsets[start].lowerBound
          let upper = window.offsets[end].upperBound
          let score = startLogits[w][start] + endLogits[w][end]
          guard lower >= 0, lower < upper, upper <= scalarCount, score.isFinite else { continue }
          candidates.append(
            Candidate(
              window: w, start: start, end: end, lower: lower, upper: upper, score: score))
        }
      }
    }
    guard !candidates.isEmpty else { return [.empty] }

    candidates.sort { a, b in
      if a.score != b.score { return a.score > b.score }
      if a.window != b.window { return a.window < b.window }
      if a.start != b.start { return a.start < b.start }
      return a.end < b.end
    }
    let kept = candidates.prefix(nBest)
    let top = Double(kept[kept.startIndex].score)
    var total = 0.0
    for candidate in kept { total += exp(Double(candidate.score) - top) }

    let scalars = passage.unicodeScalars
    return kept.map { candidate in
      let from = scalars.index(scalars.startIndex, offsetBy: candidate.lower)
      let to = scalars.index(from, offsetBy: candidate.upper - candidate.lower)
      return QAAnswer(
        text: String(scalars[from..<to]), scalarRange: candidate.lower..<candidate.upper,
        window: candidate.window,
        tokens: QATokenSpan(start: candidate.start, end: candidate.end),
        score: candidate.score,
        probability: Float(exp(Double(candidate.score) - top) / total))
    }
  }

  /// The n-best answers of several examples, whose windows come in one list (a batch, or a
  /// whole evaluation set) and name their example by `exampleIndex`.
  ///
  /// - Parameters:
  ///   - passages: the passage of each example, indexed by `exampleIndex`.
  ///   - windows: the windows of all examples; each example's windows in passage order.
  ///   - startLogits, endLogits: one row [T] per window.
  ///   - nBest, maxAnswerLength: as in `decode(passage:windows:...)`.
  /// - Returns: one n-best list per passage, in passage order (`[QAAnswer.empty]` for an
  ///   example with no window).
  public static func decodeAll(
    passages: [String], windows: [QAWindow], startLogits: [[Float]], endLogits: [[Float]],
    nBest: Int = defaultNBest, maxAnswerLength: Int = defaultMaxAnswerLength
  ) throws(QAError) -> [[QAAnswer]] {
    guard startLogits.count == windows.count, endLogits.count == windows.count else {
      throw .logitsCountMismatch(
        windows: windows.count, startLogits: startLogits.count, endLogits: endLogits.count)
    }
    var byExample = [[Int]](repeating: [], count: passages.count)
    for (w, window) in windows.enumerated() {
      guard window.exampleIndex >= 0, window.exampleIndex < passages.count else {
        throw .exampleOutOfRange(
          window: w, exampleIndex: window.exampleIndex, passages: passages.count)
      }
      byExample[window.exampleIndex].append(w)
    }
    var answers: [[QAAnswer]] = []
    answers.reserveCapacity(passages.count)
    for (example, members) in byExample.enumerated() {
      answers.append(
        try decode(
          passage: passages[example], windows: members.map { windows[$0] },
          startLogits: members.map { startLogits[$0] }, endLogits: members.map { endLogits[$0] },
          nBest: nBest, maxAnswerLength: maxAnswerLength))
    }
    return answers
  }

  // MARK: - Implementation details

  private struct Candidate {
    var window: Int
    var start: Int
    var end: Int
    var lower: Int
    var upper: Int
    var score: Float
  }

  /// The indices of the `count` highest logits among the tokens `eligible` accepts, highest
  /// first (ties: lower index first); NaN logits are never taken.
  private static func topTokens(
    _ logits: [Float], count: Int, eligible: (Int) -> Bool
  ) -> [Int] {
    var tokens: [Int] = []
    tokens.reserveCapacity(logits.count)
    for t in 0..<logits.count where eligible(t) && !logits[t].isNaN { tokens.append(t) }
    tokens.sort { a, b in logits[a] != logits[b] ? logits[a] > logits[b] : a < b }
    if tokens.count > count { tokens.removeLast(tokens.count - count) }
    return tokens
  }
}
