/// Added tokens and how they are found in a text.

/// A token of a `tokenizer.json`'s `added_tokens`: matched whole in the text
/// before anything else, and never split.
struct AddedToken: Sendable, Equatable {
  /// The token's text.
  var content: [Unicode.Scalar]
  var id: Int
  /// Special tokens (`[CLS]`, `[SEP]`, ...) count in `special_tokens_mask` only
  /// when the post-processor adds them; in the text they match like any other.
  var special: Bool
  /// Matched in the normalized text (by its normalized content) rather than the original.
  var normalized: Bool
  /// Matched only when no word scalar (`\w`) touches it on either side.
  var singleWord: Bool
  /// Whitespace on its left or right is taken into the token.
  var leftStrip: Bool
  var rightStrip: Bool

  /// One of BERT's own special tokens as a `vocab.txt` directory has them.
  init(content: String, id: Int) {
    self.init(
      content: Array(content.unicodeScalars), id: id, special: true, normalized: false,
      singleWord: false, leftStrip: false, rightStrip: false)
  }

  init(
    content: [Unicode.Scalar], id: Int, special: Bool, normalized: Bool, singleWord: Bool,
    leftStrip: Bool, rightStrip: Bool
  ) {
    self.content = content
    self.id = id
    self.special = special
    self.normalized = normalized
    self.singleWord = singleWord
    self.leftStrip = leftStrip
    self.rightStrip = rightStrip
  }
}

/// Finds added tokens in a text as the `tokenizers` library does
/// (`AddedVocabulary::find_matches`): leftmost first, then longest, never
/// overlapping; a `singleWord` match touching a word scalar is skipped, and
/// `leftStrip`/`rightStrip` widen a match over the whitespace beside it.
struct AddedTokenMatcher: Sendable {
  /// Longest first, so that the first token matching at a position is the longest.
  let tokens: [AddedToken]
  /// The first scalar of each token: where a match may start.
  let starts: Set<Unicode.Scalar>

  init(_ tokens: [AddedToken]) {
    self.tokens = tokens.sorted { $0.content.count > $1.content.count }
    starts = Set(tokens.compactMap(\.content.first))
  }

  var isEmpty: Bool { tokens.isEmpty }

  /// Splits `scalars[range]` into pieces in order: the added tokens (with
  /// their id) and the text between them (id nil). Pieces are never empty.
  func split(_ scalars: [Unicode.Scalar], in range: Range<Int>) -> [(
    range: Range<Int>, id: Int?
  )] {
    guard !tokens.isEmpty else { return range.isEmpty ? [] : [(range, nil)] }
    var pieces: [(range: Range<Int>, id: Int?)] = []
    var pieceStart = range.lowerBound
    var i = range.lowerBound
    while i < range.upperBound {
      guard starts.contains(scalars[i]), let token = longestToken(at: i, in: scalars, range) else {
        i += 1
        continue
      }
      var start = i
      var stop = i + token.content.count
      i = stop
      if token.singleWord {
        let before = start > range.lowerBound && scalars[start - 1].isRegexWordCharacter
        let after = stop < range.upperBound && scalars[stop].isRegexWordCharacter
        if before || after { continue }
      }
      if token.leftStrip {
        var newStart = start
        while newStart > range.lowerBound && scalars[newStart - 1].isUnicodeWhitespace {
          newStart -= 1
        }
        start = max(newStart, pieceStart)
      }
      if token.rightStrip {
        while stop < range.upperBound && scalars[stop].isUnicodeWhitespace { stop += 1 }
        i = stop
      }
      if pieceStart < start { pieces.append((pieceStart..<start, nil)) }
      pieces.append((start..<stop, token.id))
      pieceStart = stop
    }
    if pieceStart < range.upperBound { pieces.append((pieceStart..<range.upperBound, nil)) }
    return pieces
  }

  private func longestToken(
    at i: Int, in scalars: [Unicode.Scalar], _ range: Range<Int>
  ) -> AddedToken? {
    tokens.first { token in
      i + token.content.count <= range.upperBound
        && scalars[i..<i + token.content.count].elementsEqual(token.content)
    }
  }
}
