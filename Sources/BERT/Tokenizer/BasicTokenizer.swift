import Foundation

/// The first stage of BERT's tokenizer: cleaning, CJK spacing, Unicode
/// normalisation, lower-casing, accent stripping and punctuation splitting.
///
/// It reproduces Hugging Face's slow `BasicTokenizer.tokenize`
/// (`models/bert/tokenization_bert.py`, `tokenization_bert_legacy.py` in
/// transformers 5) scalar by scalar, in this order:
/// 1. drop U+0000, U+FFFD and control characters (``Unicode/Scalar/isBertControl``),
///    and turn whitespace into a space;
/// 2. put spaces around CJK ideographs (``Unicode/Scalar/isChineseCharacter``);
/// 3. NFC, then split on whitespace as Python's `str.split()` does;
/// 4. per word: lower-case with Python's `str.lower()` (full case mapping and the
///    final sigma rule), strip accents (NFD, then drop category Mn), split
///    every punctuation scalar off as a word of its own.
///
/// A word that equals a special token after cleaning is kept whole, as HF's
/// `never_split` does.
///
/// Every scalar it produces remembers the half-open range of original scalars it
/// came from, so that offsets point into the original text even when
/// normalisation changes a word's length.
public struct BasicTokenizer: Sendable {
  /// Lower-case the text (HF's `do_lower_case`).
  public var doLowerCase: Bool
  /// Strip accents; `nil` follows ``doLowerCase``, as in HF.
  public var stripAccents: Bool?
  /// Put spaces around CJK ideographs (HF's `tokenize_chinese_chars`).
  public var tokenizeChineseCharacters: Bool
  /// Words kept whole: neither lower-cased, stripped nor split.
  public var neverSplit: Set<String>

  public init(
    doLowerCase: Bool = true, stripAccents: Bool? = nil, tokenizeChineseCharacters: Bool = true,
    neverSplit: Set<String> = []
  ) {
    self.doLowerCase = doLowerCase
    self.stripAccents = stripAccents
    self.tokenizeChineseCharacters = tokenizeChineseCharacters
    self.neverSplit = neverSplit
  }

  /// Whether accents are stripped, given the lower-casing flag (HF's rule).
  var stripsAccents: Bool { doLowerCase ? stripAccents != false : stripAccents == true }

  /// The words of `text`, as HF's `BasicTokenizer.tokenize` returns them.
  public func tokenize(_ text: String) -> [String] {
    let scalars = Array(text.unicodeScalars)
    var workspace = TokenizerWorkspace()
    appendWords(of: scalars, in: 0..<scalars.count, to: &workspace)
    return workspace.words.map { range in
      var word = String.UnicodeScalarView()
      word.append(contentsOf: workspace.normalized.scalars[range])
      return String(word)
    }
  }

  /// Appends the words of `text[range]` to `workspace.words`, as ranges of
  /// `workspace.normalized`.
  func appendWords(
    of text: [Unicode.Scalar], in range: Range<Int>, to workspace: inout TokenizerWorkspace
  ) {
    workspace.rawScalars.removeAll(keepingCapacity: true)
    workspace.rawIndices.removeAll(keepingCapacity: true)
    for i in range {
      let scalar = text[i]
      if scalar.value == 0 || scalar.value == 0xFFFD || scalar.isBertControl { continue }
      if scalar.isBertWhitespace || scalar.isPythonSplitWhitespace {
        flushWord(&workspace)
      } else if tokenizeChineseCharacters && scalar.isChineseCharacter {
        flushWord(&workspace)
        workspace.rawScalars.append(scalar)
        workspace.rawIndices.append(i)
        flushWord(&workspace)
      } else {
        workspace.rawScalars.append(scalar)
        workspace.rawIndices.append(i)
      }
    }
    flushWord(&workspace)
  }

  /// Normalises the whitespace-delimited word gathered in the workspace and
  /// appends its pieces.
  private func flushWord(_ workspace: inout TokenizerWorkspace) {
    guard !workspace.rawScalars.isEmpty else { return }
    defer {
      workspace.rawScalars.removeAll(keepingCapacity: true)
      workspace.rawIndices.removeAll(keepingCapacity: true)
    }
    composeWord(&workspace)
    let count = workspace.wordScalars.count

    if !neverSplit.isEmpty && workspace.wordScalars.first == "[" && isNeverSplit(workspace) {
      let start = workspace.normalized.count
      for k in 0..<count {
        workspace.normalized.append(
          workspace.wordScalars[k], workspace.wordStarts[k], workspace.wordEnds[k])
      }
      workspace.words.append(start..<workspace.normalized.count)
      return
    }

    let strip = stripsAccents
    var wordStart = workspace.normalized.count
    func emit(
      _ scalar: Unicode.Scalar, _ start: Int, _ end: Int, _ workspace: inout TokenizerWorkspace
    ) {
      if strip && scalar.value >= 0x300 && scalar.isNonspacingMark { return }
      if scalar.isBertPunctuation {
        if workspace.normalized.count > wordStart {
          workspace.words.append(wordStart..<workspace.normalized.count)
        }
        workspace.normalized.append(scalar, start, end)
        workspace.words.append(workspace.normalized.count - 1..<workspace.normalized.count)
        wordStart = workspace.normalized.count
      } else {
        workspace.normalized.append(scalar, start, end)
      }
    }
    func emitStripped(
      _ scalar: Unicode.Scalar, _ start: Int, _ end: Int, _ workspace: inout TokenizerWorkspace
    ) {
      if strip && scalar.value >= 0xC0 {
        for part in Decomposition.canonical(scalar) { emit(part, start, end, &workspace) }
      } else {
        emit(scalar, start, end, &workspace)
      }
    }

    for k in 0..<count {
      let scalar = workspace.wordScalars[k]
      let start = workspace.wordStarts[k]
      let end = workspace.wordEnds[k]
      if !doLowerCase {
        emitStripped(scalar, start, end, &workspace)
      } else if scalar.value < 0x80 {
        let value = scalar.value
        let lower = (65...90).contains(value) ? Unicode.Scalar(UInt8(value + 32)) : scalar
        emit(lower, start, end, &workspace)
      } else if scalar.value == 0x3A3 {
        let sigma: Unicode.Scalar =
          isFinalSigma(at: k, in: workspace.wordScalars) ? "\u{3C2}" : "\u{3C3}"
        emitStripped(sigma, start, end, &workspace)
      } else if scalar.properties.changesWhenLowercased {
        for lower in scalar.properties.lowercaseMapping.unicodeScalars {
          emitStripped(lower, start, end, &workspace)
        }
      } else {
        emitStripped(scalar, start, end, &workspace)
      }
    }
    if workspace.normalized.count > wordStart {
      workspace.words.append(wordStart..<workspace.normalized.count)
    }
  }

  private func isNeverSplit(_ workspace: TokenizerWorkspace) -> Bool {
    var word = String.UnicodeScalarView()
    word.append(contentsOf: workspace.wordScalars)
    return neverSplit.contains(String(word))
  }

  /// Python's `str.lower()` maps U+03A3 to final sigma when it follows a cased
  /// scalar and no cased scalar follows, skipping case-ignorable scalars both ways
  /// (CPython's `handle_capital_sigma`).
  private func isFinalSigma(at index: Int, in word: [Unicode.Scalar]) -> Bool {
    var j = index - 1
    while j >= 0 && word[j].properties.isCaseIgnorable { j -= 1 }
    guard j >= 0 && word[j].properties.isCased else { return false }
    j = index + 1
    while j < word.count && word[j].properties.isCaseIgnorable { j += 1 }
    return j == word.count || !word[j].properties.isCased
  }

  /// NFC of the raw word into `wordScalars`, with each scalar's original range.
  ///
  /// HF's slow tokenizer normalises the whole text to NFC before splitting it into
  /// words; its fast tokenizer does not, so their ids differ when NFC changes a
  /// word and accents are kept (the slow one is followed here). A
  /// scalar that NFC leaves alone keeps its own range; the scalars of a stretch
  /// that NFC changes (a base letter and the marks composed into it, or a Hangul
  /// jamo sequence) all get the range of the whole stretch.
  private func composeWord(_ workspace: inout TokenizerWorkspace) {
    workspace.wordStarts.removeAll(keepingCapacity: true)
    workspace.wordEnds.removeAll(keepingCapacity: true)
    // NFC leaves scalars below U+0300 alone. With accents stripped, NFC changes
    // nothing either: NFD after lower-casing undoes it (lower-casing preserves
    // canonical equivalence), and skipping it keeps each remaining scalar's own
    // range, as HF's fast tokenizer reports it. Then take the raw buffers as they are.
    if stripsAccents || workspace.rawScalars.allSatisfy({ $0.value < 0x300 }) {
      swap(&workspace.wordScalars, &workspace.rawScalars)
      for index in workspace.rawIndices {
        workspace.wordStarts.append(index)
        workspace.wordEnds.append(index + 1)
      }
      return
    }
    workspace.wordScalars.removeAll(keepingCapacity: true)
    let raw = workspace.rawScalars
    let indices = workspace.rawIndices
    func keep(_ range: Range<Int>, _ workspace: inout TokenizerWorkspace) {
      for k in range {
        workspace.wordScalars.append(raw[k])
        workspace.wordStarts.append(indices[k])
        workspace.wordEnds.append(indices[k] + 1)
      }
    }
    if Composition.nfc(raw[...]).elementsEqual(raw) {
      keep(0..<raw.count, &workspace)
      return
    }
    // Stretches start at scalars of combining class 0; merge neighbours that compose.
    func emit(_ range: Range<Int>, _ workspace: inout TokenizerWorkspace) {
      let composed = Composition.nfc(raw[range])
      if composed.elementsEqual(raw[range]) {
        keep(range, &workspace)
      } else {
        for scalar in composed {
          workspace.wordScalars.append(scalar)
          workspace.wordStarts.append(indices[range.lowerBound])
          workspace.wordEnds.append(indices[range.upperBound - 1] + 1)
        }
      }
    }
    var current = 0..<1
    var k = 1
    while k < raw.count {
      var next = k + 1
      while next < raw.count && raw[next].properties.canonicalCombiningClass.rawValue != 0 {
        next += 1
      }
      let segment = k..<next
      let joined = Composition.nfc(raw[current.lowerBound..<next])
      let apart = Composition.nfc(raw[current]) + Composition.nfc(raw[segment])
      if joined.elementsEqual(apart) {
        emit(current, &workspace)
        current = segment
      } else {
        current = current.lowerBound..<next
      }
      k = next
    }
    emit(current, &workspace)
  }
}

/// Scalars of normalised text, each with the half-open range of original
/// scalars it came from.
struct NormalizedBuffer {
  var scalars: [Unicode.Scalar] = []
  var starts: [Int] = []
  var ends: [Int] = []

  var count: Int { scalars.count }

  mutating func append(_ scalar: Unicode.Scalar, _ start: Int, _ end: Int) {
    scalars.append(scalar)
    starts.append(start)
    ends.append(end)
  }

  mutating func removeAll() {
    scalars.removeAll(keepingCapacity: true)
    starts.removeAll(keepingCapacity: true)
    ends.removeAll(keepingCapacity: true)
  }
}

/// Scratch space reused across the words and texts of one call.
struct TokenizerWorkspace {
  /// The normalised words, and the words as ranges of it.
  var normalized = NormalizedBuffer()
  var words: [Range<Int>] = []
  /// For a `tokenizer.json`: the id of each word that is an added token, -1 for
  /// the others (empty for a `vocab.txt` tokenizer).
  var wordTokenIDs: [Int] = []
  /// Scratch space of the normalizers.
  var scratch = NormalizedBuffer()
  /// The whitespace-delimited word being gathered: scalars and original indices.
  var rawScalars: [Unicode.Scalar] = []
  var rawIndices: [Int] = []
  /// The same word after NFC, with original ranges.
  var wordScalars: [Unicode.Scalar] = []
  var wordStarts: [Int] = []
  var wordEnds: [Int] = []
  /// UTF-8 of the word WordPiece is matching, and where each scalar starts in it.
  var utf8: [UInt8] = []
  var scalarByteOffsets: [Int] = []

  mutating func reset() {
    normalized.removeAll()
    words.removeAll(keepingCapacity: true)
    wordTokenIDs.removeAll(keepingCapacity: true)
  }
}

/// Canonical decomposition (NFD) of single scalars, through Foundation.
enum Decomposition {
  /// The NFD of one scalar; Latin-1 and below decompose to themselves until U+00C0.
  static func canonical(_ scalar: Unicode.Scalar) -> [Unicode.Scalar] {
    if scalar.value < 0xC0 { return [scalar] }
    if (0xAC00...0xD7A3).contains(scalar.value) { return hangul(scalar) }
    if scalar.value < 0x250, let cached = latinTable[Int(scalar.value - 0xC0)] { return cached }
    return Array(String(Character(scalar)).decomposedStringWithCanonicalMapping.unicodeScalars)
  }

  /// Hangul syllables decompose algorithmically into jamo (Unicode §3.12).
  private static func hangul(_ scalar: Unicode.Scalar) -> [Unicode.Scalar] {
    let index = scalar.value - 0xAC00
    let lead = Unicode.Scalar(0x1100 + index / 588)!
    let vowel = Unicode.Scalar(0x1161 + (index % 588) / 28)!
    let trail = index % 28
    return trail == 0 ? [lead, vowel] : [lead, vowel, Unicode.Scalar(0x11A7 + trail)!]
  }

  /// NFD of U+00C0..<U+0250 (Latin-1 Supplement and Latin Extended-A/B), built once.
  private static let latinTable: [[Unicode.Scalar]?] = (0xC0..<0x250).map { value in
    let scalar = Unicode.Scalar(UInt32(value))!
    return Array(String(Character(scalar)).decomposedStringWithCanonicalMapping.unicodeScalars)
  }
}

/// Canonical composition (NFC), through Foundation.
enum Composition {
  static func nfc(_ scalars: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars)
    return Array(String(view).precomposedStringWithCanonicalMapping.unicodeScalars)
  }
}
