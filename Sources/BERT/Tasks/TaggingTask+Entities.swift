import Foundation

// B batch, T tokens, C tags.

/// One entity found in a raw text: consecutive tokens of the same type, grouped
/// as transformers' token-classification pipeline does with
/// `aggregation_strategy="simple"`.
public struct TaggedEntity: Equatable, Sendable {
  /// The type: the tag without its `B-`/`I-` prefix (`PER` for `B-PER`).
  public var group: String
  /// The mean over the group's tokens of each token's highest softmax probability.
  public var score: Double
  /// The group's tokens joined as WordPiece decodes them (`##` pieces glued to
  /// the previous token; an unknown token is its text).
  public var word: String
  /// The half-open range of Unicode scalar indices in the text (Python string indices).
  public var start: Int
  public var end: Int

  public init(group: String, score: Double, word: String, start: Int, end: Int) {
    self.group = group
    self.score = score
    self.word = word
    self.start = start
    self.end = end
  }
}

extension TaggingTask {
  /// A raw text tokenized as the token-classification pipeline does: the whole
  /// text, with offsets, cut to ``maxLength`` tokens.
  public func entityEncoding(_ text: String) -> Encoding {
    tokenizer.encode(text, maxLength: maxLength)
  }

  /// Every real token's tag logits, per row of `batch`, without dropout or autograd.
  ///
  /// - Returns: B arrays of Tᵢ × C values (row-major, Tᵢ the row's real tokens).
  public func tokenLogits(_ batch: TextBatch) -> [[Float]] {
    var context = ForwardContext.inference
    let logits = withoutGradients { model(batch, context: &context) }  // [B, T, C]
    let (t, c) = (batch.sequenceLength, logits.shape[2])
    return logits.withUnsafeBufferPointer { values in
      batch.lengths.enumerated().map { row, length in
        Array(values[(row * t * c)..<((row * t + length) * c)])
      }
    }
  }

  /// The entities of raw texts, in length-sorted batches (see ``Batching``).
  ///
  /// - Returns: one list per text, in input order, each in text order.
  public func entities(_ texts: [String], batchSize: Int = 64, maxBatchTokens: Int? = nil)
    -> [[TaggedEntity]]
  {
    let encodings = texts.map(entityEncoding)
    let batching = Batching(maxSequences: batchSize, maxTokens: maxBatchTokens)
    let logits = batching.map(encodings, paddingID: tokenizer.paddingTokenID) { batch, _ in
      tokenLogits(batch)
    }
    return texts.indices.map {
      entities(text: texts[$0], encoding: encodings[$0], logits: logits[$0])
    }
  }

  /// Groups one text's tokens into entities as transformers' pipeline does with
  /// `aggregation_strategy="simple"`: every non-special token gets its most
  /// probable tag (softmax of its logits); a token joins the previous group when
  /// it has the same type and its tag does not start with `B-` (a tag without
  /// a prefix counts as `I-`); each group's score is the mean of its tokens'
  /// probabilities; groups of type `O` are dropped.
  ///
  /// - Parameters:
  ///   - text: the text `encoding` was made from.
  ///   - encoding: its T tokens (``entityEncoding(_:)``).
  ///   - logits: T × C values, the rows of ``tokenLogits(_:)``.
  public func entities(text: String, encoding: Encoding, logits: [Float]) -> [TaggedEntity] {
    let c = labels.count
    ensure(
      logits.count == encoding.count * c,
      "entities: \(logits.count) logits for \(encoding.count) tokens × \(c) tags")
    let scalars = Array(text.unicodeScalars)
    struct Token {
      var tag: String
      var bi: Character
      var type: String
      var score: Double
      var word: String
      var start: Int
      var end: Int
    }
    var tokens: [Token] = []
    for position in 0..<encoding.count where encoding.specialTokensMask[position] == 0 {
      let row = logits[(position * c)..<((position + 1) * c)]
      let peak = Double(row.max() ?? 0)
      let exps = row.map { Foundation.exp(Double($0) - peak) }
      let total = exps.reduce(0, +)
      let best = exps.indices.max { exps[$0] < exps[$1] }!
      let tag = labels.label(for: best - exps.startIndex)
      let range = encoding.offsets[position]
      let id = encoding.inputIDs[position]
      let word =
        id == tokenizer.unknownTokenID
        ? String(String.UnicodeScalarView(scalars[range.clamped(to: 0..<scalars.count)]))
        : tokenizer.token(for: id)
      let (bi, type): (Character, String) =
        tag.hasPrefix("B-")
        ? ("B", String(tag.dropFirst(2)))
        : tag.hasPrefix("I-") ? ("I", String(tag.dropFirst(2))) : ("I", tag)
      tokens.append(
        Token(
          tag: tag, bi: bi, type: type, score: exps[best] / total, word: word,
          start: range.lowerBound,
          end: range.upperBound))
    }
    var groups: [[Token]] = []
    for token in tokens {
      if let last = groups.last?.last, last.type == token.type, token.bi != "B" {
        groups[groups.count - 1].append(token)
      } else {
        groups.append([token])
      }
    }
    return groups.compactMap { group in
      // The pipeline names a group by its first tag after the first "-".
      let tag = group[0].tag
      let name = tag.firstIndex(of: "-").map { String(tag[tag.index(after: $0)...]) } ?? tag
      guard name != "O" else { return nil }
      return TaggedEntity(
        group: name, score: group.map(\.score).reduce(0, +) / Double(group.count),
        word: Self.decodeWordPieces(group.map(\.word)), start: group[0].start,
        end: group[group.count - 1].end)
    }
  }

  /// Tokens joined as the WordPiece decoder of `tokenizers` does with cleanup:
  /// after the first token (kept as it is), `##` pieces glued on and a space
  /// before every other token; then, token by token, the spaces before
  /// punctuation and English contractions removed.
  static func decodeWordPieces(_ tokens: [String]) -> String {
    let cleanups = [
      (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
      (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ]
    return tokens.enumerated().map { index, token -> String in
      var piece =
        index == 0 ? token : token.hasPrefix("##") ? String(token.dropFirst(2)) : " " + token
      for (from, to) in cleanups { piece = piece.replacingOccurrences(of: from, with: to) }
      return piece
    }.joined()
  }
}
