import BERT
import Foundation
import Testing

/// Question-answering labels and span decoding work on plain arrays and use no backend, so
/// these tests run once rather than per backend. Every window is written out by hand as
/// `[CLS] question [SEP] passage [SEP] [PAD]...`, with its token offsets, and every expected
/// value is derived in a comment.
@Suite struct QuestionAnsweringTests {
  // MARK: - Passages and windows

  // "The cat sat on the mat."
  //  T h e _ c a t _ s a t _  o  n  _  t  h  e  _  m  a  t  .
  //  0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22   (23 scalars)
  // Tokens p0..p6: the 0..<3, cat 4..<7, sat 8..<11, on 12..<14, the 15..<18, mat 19..<22,
  // . 22..<23.
  static let catPassage = "The cat sat on the mat."
  static let catTokens: [Range<Int>] = [0..<3, 4..<7, 8..<11, 12..<14, 15..<18, 19..<22, 22..<23]
  // The question "what sat" has offsets in the question text that reuse the passage's numbers
  // (what 0..<4, sat 5..<8): they must never be read as passage positions.
  static let question: [Range<Int>] = [0..<4, 5..<8]

  /// `[CLS] question [SEP] passage [SEP]` and `padding` pad tokens; special tokens get the
  /// offset 0..<0 and sequence id nil, question tokens 0, passage tokens 1.
  static func window(
    example: Int = 0, question: [Range<Int>] = question, passage: [Range<Int>], padding: Int = 0
  ) throws -> QAWindow {
    var ids: [Int?] = [nil]
    var offsets: [Range<Int>] = [0..<0]
    for range in question {
      ids.append(0)
      offsets.append(range)
    }
    ids.append(nil)
    offsets.append(0..<0)
    for range in passage {
      ids.append(1)
      offsets.append(range)
    }
    ids.append(nil)
    offsets.append(0..<0)
    for _ in 0..<padding {
      ids.append(nil)
      offsets.append(0..<0)
    }
    return try QAWindow(exampleIndex: example, sequenceIDs: ids, offsets: offsets)
  }

  /// `count` logits equal to `base`, with the given entries set.
  static func logits(_ count: Int, base: Float = -10, _ set: [Int: Float]) -> [Float] {
    var values = [Float](repeating: base, count: count)
    for (t, value) in set { values[t] = value }
    return values
  }

  /// The whole cat passage in one window:
  ///   0 [CLS]  1 what  2 sat  3 [SEP]  4 the  5 cat  6 sat  7 on  8 the  9 mat  10 .
  ///   11 [SEP]  12 [PAD]  13 [PAD]
  static func fullWindow() throws -> QAWindow {
    try window(passage: catTokens, padding: 2)
  }

  /// Two windows of the cat passage, p0..p4 and p2..p6 (an overlap of three tokens):
  ///   A: 0 [CLS] 1 what 2 sat 3 [SEP] 4 the 5 cat 6 sat 7 on 8 the 9 [SEP]
  ///   B: 0 [CLS] 1 what 2 sat 3 [SEP] 4 sat 5 on 6 the 7 mat 8 . 9 [SEP]
  /// Max context, score 100·min(left, right) + n with n = 5 in both:
  ///   sat (p2): A min(2, 2) = 2 → 205;  B min(0, 4) = 0 → 5    → A
  ///   on  (p3): A min(3, 1) = 1 → 105;  B min(1, 3) = 1 → 105  → tie → A (earlier)
  ///   the (p4): A min(4, 0) = 0 → 5;    B min(2, 2) = 2 → 205  → B
  static func overlappingWindows() throws -> [QAWindow] {
    [
      try window(passage: Array(catTokens[0...4])),
      try window(passage: Array(catTokens[2...6])),
    ]
  }

  // "Tokyo is enormous."
  //  T o k y o _ i s _ e n  o  r  m  o  u  s  .
  //  0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17   (18 scalars)
  // Word pieces: tok 0..<3, ##yo 3..<5, is 6..<8, enorm 9..<14, ##ous 14..<17, . 17..<18;
  // the offsets skip the spaces at 5 and 8.
  //   0 [CLS]  1 where  2 [SEP]  3 tok  4 ##yo  5 is  6 enorm  7 ##ous  8 .  9 [SEP]
  static func tokyoWindow() throws -> QAWindow {
    try window(
      question: [0..<5], passage: [0..<3, 3..<5, 6..<8, 9..<14, 14..<17, 17..<18])
  }

  // MARK: - Training labels

  @Test func labelsAtWindowStartAndEnd() throws {
    let w = try Self.fullWindow()
    // "The" 0..<3 is p0 at token 4; "The cat" 0..<7 ends in cat at token 5.
    #expect(w.answerTokens(answerStart: 0, answerEnd: 3) == QATokenSpan(start: 4, end: 4))
    #expect(w.answerTokens(answerStart: 0, answerEnd: 7) == QATokenSpan(start: 4, end: 5))
    // "mat." 19..<23: mat (token 9) to "." (token 10), the last passage token.
    #expect(w.answerTokens(answerStart: 19, answerEnd: 23) == QATokenSpan(start: 9, end: 10))
    #expect(w.answerTokens(answerStart: 22, answerEnd: 23) == QATokenSpan(start: 10, end: 10))
    // "cat" 4..<7: the question token "sat" has the offset 5..<8, but only passage tokens
    // count, so the span is cat at token 5.
    #expect(w.answerTokens(answerStart: 4, answerEnd: 7) == QATokenSpan(start: 5, end: 5))
  }

  @Test func labelsInsideWordPieces() throws {
    let w = try Self.tokyoWindow()
    // "normous" 10..<17: 10 is inside enorm 9..<14 (token 6), 16 inside ##ous (token 7).
    #expect(w.answerTokens(answerStart: 10, answerEnd: 17) == QATokenSpan(start: 6, end: 7))
    // "Tok" 0..<3 is exactly tok (token 3); "kyo" 2..<5 runs from tok into ##yo (3, 4).
    #expect(w.answerTokens(answerStart: 0, answerEnd: 3) == QATokenSpan(start: 3, end: 3))
    #expect(w.answerTokens(answerStart: 2, answerEnd: 5) == QATokenSpan(start: 3, end: 4))
    // "norm" 10..<14 lies inside enorm alone.
    #expect(w.answerTokens(answerStart: 10, answerEnd: 14) == QATokenSpan(start: 6, end: 6))
    // "yo is" 3..<8: ##yo (4) to is (5), across the skipped space at 5.
    #expect(w.answerTokens(answerStart: 3, answerEnd: 8) == QATokenSpan(start: 4, end: 5))
  }

  @Test func labelsWithSkippedWhitespace() throws {
    let w = try Self.tokyoWindow()
    // " is " 5..<9 starts and ends on spaces no token covers. The first token ending after 5
    // is "is" (6..<8, token 5); the last starting before 9 is also "is". (Hugging Face would
    // take ##yo, whose start 3 ≤ 5, and enorm, the first token ending at or after 9.)
    #expect(w.answerTokens(answerStart: 5, answerEnd: 9) == QATokenSpan(start: 5, end: 5))
    // Given as a SQuAD answer, the text is trimmed to "is" 6..<8 first: the same span.
    let answer = QAExample.Answer(text: " is ", start: 5)
    #expect(w.answerTokens(for: answer) == QATokenSpan(start: 5, end: 5))
    // An answer that is only a space (5..<6) overlaps no token; an empty one is no answer.
    #expect(w.answerTokens(answerStart: 5, answerEnd: 6) == nil)
    #expect(w.answerTokens(answerStart: 6, answerEnd: 6) == nil)
  }

  @Test func labelsAcrossTwoWindows() throws {
    let windows = try Self.overlappingWindows()
    let (a, b) = (windows[0], windows[1])
    // "cat sat on the mat" 4..<22: A ends at 18 (the), B starts at 8 (sat): whole in neither.
    #expect(a.answerTokens(answerStart: 4, answerEnd: 22) == nil)
    #expect(b.answerTokens(answerStart: 4, answerEnd: 22) == nil)
    // "the mat" 15..<22: A's passage ends at 18 < 22, so nil there; in B it is the (6) to
    // mat (7).
    #expect(a.answerTokens(answerStart: 15, answerEnd: 22) == nil)
    #expect(b.answerTokens(answerStart: 15, answerEnd: 22) == QATokenSpan(start: 6, end: 7))
    // "sat on" 8..<14 is in the overlap: tokens 6, 7 in A and 4, 5 in B.
    #expect(a.answerTokens(answerStart: 8, answerEnd: 14) == QATokenSpan(start: 6, end: 7))
    #expect(b.answerTokens(answerStart: 8, answerEnd: 14) == QATokenSpan(start: 4, end: 5))
    // "The cat" 0..<7 through the SQuAD overload: in A, not in B.
    let answer = QAExample.Answer(text: "The cat", start: 0)
    #expect(a.answerTokens(for: answer) == QATokenSpan(start: 4, end: 5))
    #expect(b.answerTokens(for: answer) == nil)
  }

  @Test func labelsWithoutPassageTokens() throws {
    // [CLS] what sat [SEP] [SEP]: the passage was truncated away.
    let w = try Self.window(passage: [])
    #expect(w.answerTokens(answerStart: 0, answerEnd: 3) == nil)
  }

  // MARK: - Max context

  @Test func maxContextOnEqualWindows() throws {
    // See `overlappingWindows`: A owns p0..p3 (tokens 4..7, "on" by the tie), B owns p4..p6
    // (tokens 6..8). Question, special and padding tokens are never marked.
    let masks = SpanDecoder.maxContextMasks(try Self.overlappingWindows())
    let f = false
    let t = true
    #expect(masks[0] == [f, f, f, f, t, t, t, t, f, f])
    #expect(masks[1] == [f, f, f, f, f, f, t, t, t, f])
  }

  @Test func maxContextLengthTerm() throws {
    // A holds p0..p3 (n = 4), B holds p1..p6 (n = 6):
    //   cat (p1): A min(1, 2) = 1 → 104;  B min(0, 5) = 0 → 6    → A
    //   sat (p2): A min(2, 1) = 1 → 104;  B min(1, 4) = 1 → 106  → B, by the length term
    //   on  (p3): A min(3, 0) = 0 → 4;    B min(2, 3) = 2 → 206  → B
    // A: tokens 4 (the), 5 (cat); B: tokens 5..9 (sat, on, the, mat, .).
    let windows = [
      try Self.window(passage: Array(Self.catTokens[0...3])),
      try Self.window(passage: Array(Self.catTokens[1...6])),
    ]
    let masks = SpanDecoder.maxContextMasks(windows)
    let f = false
    let t = true
    #expect(masks[0] == [f, f, f, f, t, t, f, f, f])
    #expect(masks[1] == [f, f, f, f, f, t, t, t, t, t, f])
  }

  // MARK: - Decoding

  @Test func endBeforeStartIsNeverChosen() throws {
    let w = try Self.fullWindow()
    // start: sat (6) = 5, the (4) = 1; end: the (4) = 5, on (7) = 2; others −10.
    //   (6, 4) would score 10 but ends before it starts.
    //   (6, 7) "sat on" 8..<14 = 5 + 2 = 7 — best
    //   (4, 4) "The" 0..<3    = 1 + 5 = 6 — second
    let answers = try SpanDecoder.decode(
      passage: Self.catPassage, windows: [w],
      startLogits: [Self.logits(14, [6: 5, 4: 1])], endLogits: [Self.logits(14, [4: 5, 7: 2])])
    #expect(answers[0].text == "sat on")
    #expect(answers[0].scalarRange == 8..<14)
    #expect(answers[0].tokens == QATokenSpan(start: 6, end: 7))
    #expect(answers[0].window == 0)
    #expect(answers[0].score == 7)
    #expect(answers[1].text == "The")
    #expect(answers[1].score == 6)
    for answer in answers { #expect(answer.tokens!.start <= answer.tokens!.end) }
  }

  @Test func questionAndSpecialTokensAreNeverChosen() throws {
    let w = try Self.fullWindow()
    // [CLS] 20, question 15, both [SEP] 18, padding 19, as starts and as ends; cat (5) 1 and 1.
    // Any pair touching them would beat cat–cat, whose score is 2.
    let high: [Int: Float] = [0: 20, 1: 15, 2: 15, 3: 18, 11: 18, 12: 19, 13: 19]
    var start = high
    start[5] = 1
    var end = high
    end[5] = 1
    let answers = try SpanDecoder.decode(
      passage: Self.catPassage, windows: [w], startLogits: [Self.logits(14, start)],
      endLogits: [Self.logits(14, end)])
    #expect(answers[0].text == "cat")
    #expect(answers[0].score == 2)
    for answer in answers {
      #expect(answer.tokens!.start >= 4 && answer.tokens!.end <= 10)
    }
    // With one candidate per window, ranking only passage tokens still finds cat (ranking all
    // tokens first, as Hugging Face does, would keep only [CLS] and find nothing).
    let one = try SpanDecoder.decode(
      passage: Self.catPassage, windows: [w], startLogits: [Self.logits(14, start)],
      endLogits: [Self.logits(14, end)], nBest: 1)
    #expect(one.count == 1)
    #expect(one[0].text == "cat")
    #expect(one[0].probability == 1)
  }

  @Test func overLongSpansAreExcluded() throws {
    let w = try Self.fullWindow()
    // start: the (4) = 5, the (8) = 2; end: mat (9) = 5, cat (5) = 1.
    //   (4, 9) "The cat sat on the mat" 0..<22 = 10, 6 tokens
    //   (8, 9) "the mat" 15..<22 = 7, 2 tokens
    //   (4, 5) "The cat" 0..<7 = 6, 2 tokens
    let start = [Self.logits(14, [4: 5, 8: 2])]
    let end = [Self.logits(14, [9: 5, 5: 1])]
    for (limit, text, score) in [
      (2, "the mat", Float(7)), (5, "the mat", 7), (6, "The cat sat on the mat", 10),
      (30, "The cat sat on the mat", 10),
    ] {
      let answers = try SpanDecoder.decode(
        passage: Self.catPassage, windows: [w], startLogits: start, endLogits: end,
        maxAnswerLength: limit)
      #expect(answers[0].text == text, "maxAnswerLength \(limit)")
      #expect(answers[0].score == score, "maxAnswerLength \(limit)")
      for answer in answers {
        #expect(answer.tokens!.end - answer.tokens!.start + 1 <= limit)
      }
    }
  }

  @Test func answerCrossingAWindowBoundary() throws {
    let windows = try Self.overlappingWindows()
    // "the mat" (p4..p5, 15..<22) is whole only in B; A ends at p4 "the".
    // A: start the (8) = 9, end the (8) = 9: the truncated "the" would score 18, but p4's
    //    max-context window is B, so A cannot start a span there.
    // B: start the (6) = 4, end mat (7) = 4: "the mat" = 8.
    // The next best: A, a start of −10 on p0..p3 with the end 9 on token 8 → −1.
    let answers = try SpanDecoder.decode(
      passage: Self.catPassage, windows: windows,
      startLogits: [Self.logits(10, [8: 9]), Self.logits(10, [6: 4])],
      endLogits: [Self.logits(10, [8: 9]), Self.logits(10, [7: 4])])
    #expect(answers[0].text == "the mat")
    #expect(answers[0].scalarRange == 15..<22)
    #expect(answers[0].window == 1)
    #expect(answers[0].tokens == QATokenSpan(start: 6, end: 7))
    #expect(answers[0].score == 8)
    #expect(answers[1].score == -1)
    #expect(!answers.contains { $0.window == 0 && $0.tokens!.start == 8 })
  }

  @Test func noValidSpanGivesAnEmptyAnswer() throws {
    // No window at all.
    #expect(
      try SpanDecoder.decode(
        passage: Self.catPassage, windows: [], startLogits: [], endLogits: []) == [.empty])
    // [CLS] what sat [SEP] [SEP]: no passage token, high logits everywhere else.
    let bare = try Self.window(passage: [])
    #expect(
      try SpanDecoder.decode(
        passage: Self.catPassage, windows: [bare], startLogits: [Self.logits(5, base: 9, [:])],
        endLogits: [Self.logits(5, base: 9, [:])]) == [.empty])
    // Offsets beyond the passage (a 3-scalar passage, a token at 10..<12) are skipped:
    //   0 [CLS]  1 what  2 sat  3 [SEP]  4 (10..<12)  5 [SEP]
    let outside = try Self.window(passage: [10..<12])
    #expect(
      try SpanDecoder.decode(
        passage: "abc", windows: [outside], startLogits: [Self.logits(6, [:])],
        endLogits: [Self.logits(6, [:])]) == [.empty])
    // NaN logits are never ranked.
    let w = try Self.fullWindow()
    let nan = [Float](repeating: .nan, count: 14)
    let answers = try SpanDecoder.decode(
      passage: Self.catPassage, windows: [w], startLogits: [nan], endLogits: [nan])
    #expect(answers == [.empty])
    #expect(answers[0].text.isEmpty && answers[0].scalarRange == nil)
  }

  @Test func passageShorterThanQuestion() throws {
    // "Yes." Y0 e1 s2 .3: yes 0..<3, . 3..<4. The question has six tokens whose offsets
    // (into the question) run past the passage's four scalars.
    //   0 [CLS]  1–6 question  7 [SEP]  8 yes  9 .  10 [SEP]
    let w = try Self.window(
      question: [0..<4, 5..<9, 10..<12, 13..<17, 18..<21, 22..<30], passage: [0..<3, 3..<4])
    // Base 0; question tokens 9 as start and end; start yes = 2; end yes = 2, . = 1.
    //   (8, 8) "Yes" 4;  (8, 9) "Yes." 3;  (9, 9) "." 0 + 1 = 1.
    let question: [Int: Float] = [1: 9, 2: 9, 3: 9, 4: 9, 5: 9, 6: 9]
    var start = question
    start[8] = 2
    var end = question
    end[8] = 2
    end[9] = 1
    let answers = try SpanDecoder.decode(
      passage: "Yes.", windows: [w], startLogits: [Self.logits(11, base: 0, start)],
      endLogits: [Self.logits(11, base: 0, end)])
    #expect(answers.map(\.text) == ["Yes", "Yes.", "."])
    #expect(answers.map(\.score) == [4, 3, 1])
    #expect(answers.map(\.scalarRange) == [0..<3, 0..<4, 3..<4])
    // Softmax over the n-best scores 4, 3, 1.
    let e = [exp(4.0), exp(3.0), exp(1.0)]
    let sum = e.reduce(0, +)
    for (answer, weight) in zip(answers, e) {
      #expect(abs(Double(answer.probability) - weight / sum) < 1e-6)
    }
  }

  @Test func nonASCIIPassageIsCutOnScalars() throws {
    // "Café 😀 naïve!" with combining accents, written as scalars:
    //  C a f e ◌́ _ 😀 _ n a i  ◌̈  v  e  !
    //  0 1 2 3 4  5 6  7 8 9 10 11 12 13 14   (15 scalars; the emoji is one scalar but two
    //  UTF-16 units, and "é", "ï" are one Character but two scalars each)
    // Uncased tokens: cafe 0..<5, [UNK] 6..<7, naive 8..<14, ! 14..<15.
    //   0 [CLS]  1 who  2 [SEP]  3 cafe  4 [UNK]  5 naive  6 !  7 [SEP]
    let passage = "Cafe\u{301} \u{1F600} nai\u{308}ve!"
    let w = try Self.window(question: [0..<3], passage: [0..<5, 6..<7, 8..<14, 14..<15])
    // start [UNK] (4), end naive (5): 6..<14 = "😀 naïve".
    let emoji = try SpanDecoder.decode(
      passage: passage, windows: [w], startLogits: [Self.logits(8, [4: 3])],
      endLogits: [Self.logits(8, [5: 3])])
    #expect(emoji[0].scalarRange == 6..<14)
    #expect(
      Array(emoji[0].text.unicodeScalars) == Array("\u{1F600} nai\u{308}ve".unicodeScalars))
    // start and end cafe (3): 0..<5, the combining accent included.
    let cafe = try SpanDecoder.decode(
      passage: passage, windows: [w], startLogits: [Self.logits(8, [3: 3])],
      endLogits: [Self.logits(8, [3: 3])])
    #expect(Array(cafe[0].text.unicodeScalars) == Array("Cafe\u{301}".unicodeScalars))
    // A token that ends inside a Character (cafe 0..<4, a piece 4..<5 for the accent): the
    // cut keeps the four scalars "Cafe", where a cut on Characters could not.
    let split = try Self.window(question: [0..<3], passage: [0..<4, 4..<5, 6..<7])
    let bare = try SpanDecoder.decode(
      passage: passage, windows: [split], startLogits: [Self.logits(7, [3: 3])],
      endLogits: [Self.logits(7, [3: 3])])
    #expect(Array(bare[0].text.unicodeScalars) == Array("Cafe".unicodeScalars))
  }

  @Test func maxContextWindowDecides() throws {
    let windows = try Self.overlappingWindows()
    // One token scored in both windows, 1 + 1 in one and 10 + 10 in the other, −10 elsewhere.
    // Only its max-context window can start a span there (see `overlappingWindows`):
    //   sat (p2): A token 6, B token 4 → A decides: "sat" from A, score 2.
    //   on  (p3): A token 7, B token 5 → tie, A decides: "on" from A, score 2.
    //   the (p4): A token 8, B token 6 → B decides: "the" from B, score 2.
    // In the window that does not decide, the token can still end a span, but every start
    // before it scores −10, so such spans score at most −10 + 10 = 0 < 2.
    for (text, tokens, decider) in [("sat", [6, 4], 0), ("on", [7, 5], 0), ("the", [8, 6], 1)] {
      let weak = 1 - decider
      var start = [Self.logits(10, [:]), Self.logits(10, [:])]
      start[decider][tokens[decider]] = 1
      start[weak][tokens[weak]] = 10
      let answers = try SpanDecoder.decode(
        passage: Self.catPassage, windows: windows, startLogits: start, endLogits: start)
      #expect(answers[0].text == text)
      #expect(answers[0].window == decider)
      #expect(answers[0].score == 2)
    }
  }

  @Test func nBestListIsSortedAndNormalised() throws {
    let w = try Self.fullWindow()
    // Base 0 everywhere, nBest 3: equal logits rank by index, so the starts and the ends are
    // tokens 4, 5, 6, giving six spans of score 0. Ties go to the earlier start, then the
    // earlier end: (4, 4), (4, 5), (4, 6) are kept, each with probability 1/3.
    let answers = try SpanDecoder.decode(
      passage: Self.catPassage, windows: [w], startLogits: [Self.logits(14, base: 0, [:])],
      endLogits: [Self.logits(14, base: 0, [:])], nBest: 3)
    #expect(answers.map(\.text) == ["The", "The cat", "The cat sat"])
    for answer in answers { #expect(abs(answer.probability - 1.0 / 3) < 1e-6) }
  }

  @Test func decodeAllGroupsWindowsByExample() throws {
    // Example 1 is the cat passage (full window), example 0 is "Yes." (one window, no
    // question); the windows come in the order 1, 0.
    let cat = try Self.window(example: 1, passage: Self.catTokens, padding: 2)
    let yes = try Self.window(example: 0, question: [], passage: [0..<3, 3..<4])
    // cat: start/end on (7) = 3 → "on". yes: [CLS] [SEP] yes . [SEP], start/end yes (2) → "Yes".
    let answers = try SpanDecoder.decodeAll(
      passages: ["Yes.", Self.catPassage, "Nothing here."], windows: [cat, yes],
      startLogits: [Self.logits(14, [7: 3]), Self.logits(5, [2: 3])],
      endLogits: [Self.logits(14, [7: 3]), Self.logits(5, [2: 3])])
    #expect(answers.count == 3)
    #expect(answers[0][0].text == "Yes")
    #expect(answers[1][0].text == "on")
    #expect(answers[2] == [.empty])
  }

  @Test func inputErrorsAreTyped() throws {
    #expect(throws: QAError.windowLengthMismatch(exampleIndex: 3, sequenceIDs: 2, offsets: 1)) {
      try QAWindow(exampleIndex: 3, sequenceIDs: [nil, 1], offsets: [0..<0])
    }
    let w = try Self.fullWindow()
    #expect(
      throws: QAError.logitsLengthMismatch(window: 0, tokens: 14, startLogits: 13, endLogits: 14)
    ) {
      try SpanDecoder.decode(
        passage: Self.catPassage, windows: [w], startLogits: [Self.logits(13, [:])],
        endLogits: [Self.logits(14, [:])])
    }
    let other = try Self.window(example: 1, passage: Self.catTokens, padding: 2)
    let row = Self.logits(14, [:])
    #expect(throws: QAError.mixedExamples(window: 1, exampleIndex: 1, expected: 0)) {
      try SpanDecoder.decode(
        passage: Self.catPassage, windows: [w, other], startLogits: [row, row],
        endLogits: [row, row])
    }
    #expect(throws: QAError.exampleOutOfRange(window: 0, exampleIndex: 1, passages: 1)) {
      try SpanDecoder.decodeAll(
        passages: [Self.catPassage], windows: [other], startLogits: [row], endLogits: [row])
    }
    #expect(throws: QAError.invalidSetting(name: "nBest", value: 0)) {
      try SpanDecoder.decode(
        passage: Self.catPassage, windows: [w], startLogits: [row], endLogits: [row], nBest: 0)
    }
    #expect(
      QAError.logitsCountMismatch(windows: 2, startLogits: 1, endLogits: 2).description
        == "2 windows were given with 1 rows of start logits and 2 rows of end logits; each "
        + "window needs one row of each.")
  }
}
