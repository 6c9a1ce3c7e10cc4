// Training labels for extractive question answering: where a gold answer's first and last
// tokens are in a window, following `prepare_train_features` in Hugging Face's
// examples/pytorch/question-answering/run_qa.py.
//
// T tokens in the window.

extension QAWindow {
  /// The token span of a gold answer in this window, or `nil` when the answer is not wholly
  /// inside the window's passage tokens.
  ///
  /// The start token is the first passage token that ends after `answerStart`, and the end
  /// token the last passage token that begins before `answerEnd`. When the answer starts and
  /// ends inside tokens, these are the tokens that contain `answerStart` and `answerEnd − 1`,
  /// as in Hugging Face's `prepare_train_features`, including when either falls inside a word
  /// piece. Where offsets skip white space and the answer starts or ends in it, the span
  /// shrinks to the tokens the answer overlaps (Hugging Face would widen it by one token).
  /// When the answer starts in the window's last passage token, Hugging Face's search runs on
  /// into the `[SEP]` (its offset (0, 0) passes the test) and labels a start after the end;
  /// here the start is that last passage token.
  ///
  /// The answer is inside the window when the first passage token starts at or before
  /// `answerStart` and the last passage token ends at or after `answerEnd` (Hugging Face's
  /// test). It is `nil` when it is not, when the window holds no passage token, when the
  /// range is empty, or when the answer overlaps no token (it lies in white space).
  ///
  /// `nil` is a label the loss must ignore: `BertForQuestionAnswering` clamps gold positions
  /// to [0, T] and ignores T, so the caller maps `nil` to `(T, T)` for this window. (The
  /// Hugging Face script instead labels such windows with the `[CLS]` index; a caller that
  /// wants that maps `nil` to `(0, 0)`.)
  ///
  /// - Parameters:
  ///   - answerStart: the answer's first scalar in the passage.
  ///   - answerEnd: one past the answer's last scalar in the passage.
  /// - Returns: the answer's first and last token indices in [0, T), or `nil`.
  public func answerTokens(answerStart: Int, answerEnd: Int) -> QATokenSpan? {
    guard answerStart < answerEnd else { return nil }
    var first = -1
    var last = -1
    for t in 0..<count where isPassageToken(t) {
      if first < 0 { first = t }
      last = t
    }
    guard first >= 0,
      offsets[first].lowerBound <= answerStart,
      offsets[last].upperBound >= answerEnd
    else { return nil }

    var start = -1
    for t in first...last where isPassageToken(t) && offsets[t].upperBound > answerStart {
      start = t
      break
    }
    var end = -1
    for t in stride(from: last, through: first, by: -1)
    where isPassageToken(t) && offsets[t].lowerBound < answerEnd {
      end = t
      break
    }
    guard start >= 0, end >= start else { return nil }
    return QATokenSpan(start: start, end: end)
  }

  /// The token span of a SQuAD gold answer in this window, or `nil` when it is not wholly
  /// inside (see `answerTokens(answerStart:answerEnd:)` for the rules and what `nil` means).
  ///
  /// White space at either end of the answer text is trimmed first, so that an answer given
  /// as `" Denver "` is found in a window that begins or ends at `Denver`.
  public func answerTokens(for answer: QAExample.Answer) -> QATokenSpan? {
    let scalars = Array(answer.text.unicodeScalars)
    var lower = 0
    var upper = scalars.count
    while lower < upper && scalars[lower].properties.isWhitespace { lower += 1 }
    while upper > lower && scalars[upper - 1].properties.isWhitespace { upper -= 1 }
    return answerTokens(answerStart: answer.start + lower, answerEnd: answer.start + upper)
  }
}
