// The pre-tokenizers of a `tokenizer.json` that BERT-style tokenizers use, as
// the Hugging Face `tokenizers` library applies them
// (`tokenizers/src/pre_tokenizers`): each splits pieces of normalized text
// into smaller pieces, and WordPiece then cuts every piece on its own.

/// How a split treats the scalars it splits on (the library's `SplitDelimiterBehavior`).
/// The raw values are the names `tokenizer.json` uses.
enum SplitBehavior: String, Sendable, Equatable {
  case removed = "Removed"
  case isolated = "Isolated"
  case mergedWithPrevious = "MergedWithPrevious"
  case mergedWithNext = "MergedWithNext"
  case contiguous = "Contiguous"
}

/// One pre-tokenization step of a `tokenizer.json` (its `"pre_tokenizer"` object).
enum PreTokenizer: Sendable, Equatable {
  /// BERT's: split on whitespace (removed), then isolate each punctuation scalar.
  case bert
  /// The pattern `\w+|[^\w\s]+`: runs of word scalars, and runs of other
  /// non-whitespace scalars.
  case whitespace
  /// Split on whitespace, removed.
  case whitespaceSplit
  /// Split on punctuation (BERT's definition) with the given behaviour.
  case punctuation(SplitBehavior)
  /// Split on numeric scalars: each on its own, or runs of them.
  case digits(individual: Bool)
  /// The steps in order, each on every piece of the one before.
  case sequence([PreTokenizer])

  /// Splits each of `pieces` (ranges of `scalars`) and returns the new pieces in order.
  func split(_ pieces: [Range<Int>], of scalars: [Unicode.Scalar]) -> [Range<Int>] {
    switch self {
    case .bert:
      // Whitespace removed, then every punctuation scalar on its own, in one pass.
      var result: [Range<Int>] = []
      for piece in pieces {
        var start = piece.lowerBound
        for k in piece {
          let scalar = scalars[k]
          if scalar.isUnicodeWhitespace {
            if start < k { result.append(start..<k) }
            start = k + 1
          } else if scalar.isBertPunctuation {
            if start < k { result.append(start..<k) }
            result.append(k..<k + 1)
            start = k + 1
          }
        }
        if start < piece.upperBound { result.append(start..<piece.upperBound) }
      }
      return result
    case .whitespaceSplit:
      return Self.split(pieces, of: scalars, on: \.isUnicodeWhitespace, .removed)
    case .punctuation(let behavior):
      return Self.split(pieces, of: scalars, on: \.isBertPunctuation, behavior)
    case .digits(let individual):
      return Self.split(
        pieces, of: scalars, on: { $0.properties.numericType != nil },
        individual ? .isolated : .contiguous)
    case .whitespace:
      var result: [Range<Int>] = []
      for piece in pieces {
        var k = piece.lowerBound
        while k < piece.upperBound {
          let scalar = scalars[k]
          if scalar.isUnicodeWhitespace {
            k += 1
            continue
          }
          let word = scalar.isRegexWordCharacter
          var end = k + 1
          while end < piece.upperBound, !scalars[end].isUnicodeWhitespace,
            scalars[end].isRegexWordCharacter == word
          {
            end += 1
          }
          result.append(k..<end)
          k = end
        }
      }
      return result
    case .sequence(let steps):
      return steps.reduce(pieces) { $1.split($0, of: scalars) }
    }
  }

  /// The library's `NormalizedString::split` with a scalar predicate: every
  /// matching scalar is a match of its own, runs of others are one piece, and
  /// `behavior` decides what becomes of the matches.
  static func split(
    _ pieces: [Range<Int>], of scalars: [Unicode.Scalar], on isMatch: (Unicode.Scalar) -> Bool,
    _ behavior: SplitBehavior
  ) -> [Range<Int>] {
    var result: [Range<Int>] = []
    result.reserveCapacity(pieces.count * 2)
    for piece in pieces {
      // Matches and the runs between them, in order.
      var parts: [(range: Range<Int>, isMatch: Bool)] = []
      var runStart = piece.lowerBound
      for k in piece {
        guard isMatch(scalars[k]) else { continue }
        if runStart < k { parts.append((runStart..<k, false)) }
        parts.append((k..<k + 1, true))
        runStart = k + 1
      }
      if runStart < piece.upperBound { parts.append((runStart..<piece.upperBound, false)) }

      switch behavior {
      case .removed:
        result += parts.filter { !$0.isMatch }.map(\.range)
      case .isolated:
        result += parts.map(\.range)
      case .contiguous:
        var merged: [(range: Range<Int>, isMatch: Bool)] = []
        for part in parts {
          if let last = merged.last, last.isMatch == part.isMatch {
            merged[merged.count - 1].range = last.range.lowerBound..<part.range.upperBound
          } else {
            merged.append(part)
          }
        }
        result += merged.map(\.range)
      case .mergedWithPrevious:
        var merged: [Range<Int>] = []
        var previousMatch = false
        for part in parts {
          if part.isMatch && !previousMatch, let last = merged.last {
            merged[merged.count - 1] = last.lowerBound..<part.range.upperBound
          } else {
            merged.append(part.range)
          }
          previousMatch = part.isMatch
        }
        result += merged
      case .mergedWithNext:
        var merged: [Range<Int>] = []
        var previousMatch = false
        for part in parts.reversed() {
          if part.isMatch && !previousMatch, let last = merged.last {
            merged[merged.count - 1] = part.range.lowerBound..<last.upperBound
          } else {
            merged.append(part.range)
          }
          previousMatch = part.isMatch
        }
        result += merged.reversed()
      }
    }
    return result
  }
}

extension Unicode.Scalar {
  /// The Unicode White_Space property (Rust's `char::is_whitespace`, the
  /// regular expression class `\s`).
  var isUnicodeWhitespace: Bool {
    switch value {
    case 0x09...0x0D, 0x20: return true
    case 0..<0x80: return false
    default: return properties.isWhitespace
    }
  }

  /// The regular expression class `\w` with Unicode semantics: alphabetic,
  /// marks, decimal digits, connector punctuation, and the joiners.
  var isRegexWordCharacter: Bool {
    if value < 0x80 {
      return (48...57).contains(value) || (65...90).contains(value) || (97...122).contains(value)
        || value == 95
    }
    let properties = properties
    if properties.isAlphabetic || properties.isJoinControl { return true }
    switch properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
      return true
    default: return false
    }
  }
}
