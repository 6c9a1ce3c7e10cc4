/// The stages of a `tokenizer.json` between the added tokens that match the
/// original text and WordPiece: the normalizer, the added tokens that match the
/// normalized text, and the pre-tokenizer. It stands where ``BasicTokenizer``
/// stands for a `vocab.txt` directory, and follows the `tokenizers` library
/// (`AddedVocabulary::extract_and_normalize`, then `pre_tokenize`).
struct TokenizerPipeline: Sendable {
  var normalizer: Normalizer?
  var preTokenizer: PreTokenizer?
  /// Added tokens with `normalized: true`, matched by their normalized content.
  var normalizedAddedTokens: AddedTokenMatcher

  init(normalizer: Normalizer?, preTokenizer: PreTokenizer?, normalizedAddedTokens: [AddedToken]) {
    self.normalizer = normalizer
    self.preTokenizer = preTokenizer
    var workspace = TokenizerWorkspace()
    let normalizedTokens = normalizedAddedTokens.compactMap { token -> AddedToken? in
      var token = token
      workspace.normalized = NormalizedBuffer(token.content, range: 0..<token.content.count)
      normalizer?.apply(to: &workspace.normalized, scratch: &workspace.scratch)
      guard !workspace.normalized.scalars.isEmpty else { return nil }
      token.content = workspace.normalized.scalars
      return token
    }
    self.normalizedAddedTokens = AddedTokenMatcher(normalizedTokens)
  }

  /// Normalizes `text[range]` into `workspace.normalized` and appends its
  /// pieces to `workspace.words`, with `workspace.wordTokenIDs` holding the id
  /// of each piece that is a normalized added token and -1 for the others.
  func appendWords(
    of text: [Unicode.Scalar], in range: Range<Int>, to workspace: inout TokenizerWorkspace
  ) {
    workspace.normalized.removeAll()
    for i in range { workspace.normalized.append(text[i], i, i + 1) }
    normalizer?.apply(to: &workspace.normalized, scratch: &workspace.scratch)
    let scalars = workspace.normalized.scalars
    for piece in normalizedAddedTokens.split(scalars, in: 0..<scalars.count) {
      if let id = piece.id {
        workspace.words.append(piece.range)
        workspace.wordTokenIDs.append(id)
        continue
      }
      let words = preTokenizer?.split([piece.range], of: scalars) ?? [piece.range]
      workspace.words += words
      workspace.wordTokenIDs += repeatElement(-1, count: words.count)
    }
  }
}
