/// The second stage of BERT's tokenizer: greedy longest-match-first WordPiece.
///
/// Mirrors Hugging Face's `WordpieceTokenizer.tokenize`: a word is cut into the
/// longest vocabulary entry that starts it, then the longest `##` entry that
/// continues it, and so on. A word that cannot be cut completely, or that is
/// longer than ``maxInputCharactersPerWord`` scalars, becomes one unknown token.
struct WordPieceTokenizer: Sendable {
  /// Token to id, for every vocabulary entry (the last id when a token repeats).
  let wordIDs: [VocabularyKey: Int]
  /// Continuation entries (`##x`) without their `##`, to id.
  let continuationIDs: [VocabularyKey: Int]
  /// The longest entry, in scalars, of each dictionary: no longer candidate can match.
  let longestWord: Int
  let longestContinuation: Int
  /// The id of the unknown token.
  let unknownTokenID: Int
  /// Words longer than this many scalars become the unknown token (HF: 100).
  let maxInputCharactersPerWord: Int

  /// The text that marks a piece continuing a word (HF: `##`).
  let continuationPrefix: String

  init(
    tokenToID: [VocabularyKey: Int], unknownTokenID: Int, maxInputCharactersPerWord: Int = 100,
    continuationPrefix: String = "##"
  ) {
    let prefix = Array(continuationPrefix.unicodeScalars)
    wordIDs = tokenToID
    var continuations: [VocabularyKey: Int] = [:]
    var longestWord = 0
    var longestContinuation = 0
    for (key, id) in tokenToID {
      let scalars = key.string.unicodeScalars
      let length = scalars.count
      longestWord = max(longestWord, length)
      // By scalars: `hasPrefix` on String compares Characters, and "##\u{93F}"
      // is the Characters "#", "#\u{93F}".
      if !prefix.isEmpty, scalars.starts(with: prefix) {
        continuations[VocabularyKey(String(scalars.dropFirst(prefix.count)))] = id
        longestContinuation = max(longestContinuation, length - prefix.count)
      }
    }
    if prefix.isEmpty {  // a continuation is looked up as a word of its own
      continuations = tokenToID
      longestContinuation = longestWord
    }
    continuationIDs = continuations
    self.longestWord = longestWord
    self.longestContinuation = longestContinuation
    self.unknownTokenID = unknownTokenID
    self.maxInputCharactersPerWord = maxInputCharactersPerWord
    self.continuationPrefix = continuationPrefix
  }

  /// Appends the ids of the word `workspace.normalized[word]`, and the original
  /// range of each piece, to `ids` and `offsets`.
  func appendPieces(
    of word: Range<Int>, in workspace: inout TokenizerWorkspace, ids: inout [Int],
    offsets: inout [Range<Int>]
  ) {
    let normalized = workspace.normalized
    let count = word.count
    if count > maxInputCharactersPerWord {
      ids.append(unknownTokenID)
      offsets.append(normalized.starts[word.lowerBound]..<normalized.ends[word.upperBound - 1])
      return
    }
    // UTF-8 of the word, and the byte at which each scalar starts.
    workspace.utf8.removeAll(keepingCapacity: true)
    workspace.scalarByteOffsets.removeAll(keepingCapacity: true)
    for k in word {
      workspace.scalarByteOffsets.append(workspace.utf8.count)
      UTF8.encode(normalized.scalars[k]) { workspace.utf8.append($0) }
    }
    workspace.scalarByteOffsets.append(workspace.utf8.count)

    let mark = ids.count
    var start = 0
    let byteOffsets = workspace.scalarByteOffsets
    workspace.utf8.withUnsafeBufferPointer { bytes in
      while start < count {
        let dictionary = start == 0 ? wordIDs : continuationIDs
        var end = min(count, start + (start == 0 ? longestWord : longestContinuation))
        var found: Int?
        while start < end {
          let piece = UnsafeBufferPointer(rebasing: bytes[byteOffsets[start]..<byteOffsets[end]])
          if let id = dictionary[VocabularyKey(String(decoding: piece, as: UTF8.self))] {
            found = id
            break
          }
          end -= 1
        }
        guard let id = found else {
          start = -1
          return
        }
        ids.append(id)
        offsets.append(
          normalized.starts[word.lowerBound + start]..<normalized.ends[word.lowerBound + end - 1])
        start = end
      }
    }
    if start < 0 {
      ids.removeSubrange(mark...)
      offsets.removeSubrange(mark...)
      ids.append(unknownTokenID)
      offsets.append(normalized.starts[word.lowerBound]..<normalized.ends[word.upperBound - 1])
    }
  }
}

/// A vocabulary token as a dictionary key that compares Unicode scalars, as
/// Python does. `String` itself compares by canonical equivalence, so "\u{E9}" and
/// "e\u{301}" would be one key, and a vocabulary could hold both.
struct VocabularyKey: Hashable, Sendable {
  var string: String

  init(_ string: String) {
    var string = string
    string.makeContiguousUTF8()
    self.string = string
  }

  static func == (a: Self, b: Self) -> Bool {
    a.string.utf8.elementsEqual(b.string.utf8)
  }

  func hash(into hasher: inout Hasher) {
    var string = string
    string.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
  }
}
