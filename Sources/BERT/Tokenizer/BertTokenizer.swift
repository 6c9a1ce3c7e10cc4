import Foundation

/// BERT's WordPiece tokenizer, identical to Hugging Face's `BertTokenizer`.
///
/// Ids, tokens and token types are those of HF's slow (Python) tokenizer
/// (`models/bert/tokenization_bert.py`; `tokenization_bert_legacy.py` in
/// transformers 5); offsets are those its fast tokenizer returns. The text goes
/// through three stages:
/// 1. special tokens written in the text (`[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`,
///    `[MASK]`) are split off first and kept, as HF's added-token trie does;
/// 2. ``BasicTokenizer`` cleans, normalises and splits the rest into words;
/// 3. WordPiece cuts each word into vocabulary entries, greedily, longest first.
///
/// Offsets are half-open ranges of Unicode scalar indices in the original text
/// (the same as Python string indices), even where lower-casing or accent
/// stripping changed a word's length.
///
/// ```swift
/// let tokenizer = try BertTokenizer(directory: modelDirectory)
/// let encoding = tokenizer.encode("How old are you?", pair: "I am six.", maxLength: 128)
/// ```
public struct BertTokenizer: Sendable {
  /// Token of each id (the line index in `vocab.txt`).
  public let vocabulary: [String]
  /// The basic tokenizer's settings (lower-casing, accents, CJK).
  public let basicTokenizer: BasicTokenizer
  /// The WordPiece stage.
  let wordPieceTokenizer: WordPieceTokenizer
  /// The longest input the model accepts (`model_max_length`), when known. It is
  /// the default limit for truncation and for ``Padding/maxLength``.
  public let modelMaxLength: Int?

  /// The special tokens' strings.
  public let classificationToken: String
  public let separatorToken: String
  public let paddingToken: String
  public let unknownToken: String
  public let maskToken: String

  /// Ids of `[CLS]`, `[SEP]`, `[PAD]`, `[UNK]` and `[MASK]` (nil when the
  /// vocabulary has no mask token).
  public let classificationTokenID: Int
  public let separatorTokenID: Int
  public let paddingTokenID: Int
  public let unknownTokenID: Int
  public let maskTokenID: Int?

  /// Special tokens that split the text before anything else, longest first,
  /// as scalars, with their ids.
  private let specialTokens: [(scalars: [Unicode.Scalar], id: Int)]
  /// The first scalar of each special token (usually just "[").
  private let specialTokenStarts: [Unicode.Scalar]

  /// Whether the text is lower-cased (HF's `do_lower_case`).
  public var doLowerCase: Bool { basicTokenizer.doLowerCase }
  /// Whether accents are stripped; nil follows ``doLowerCase`` (HF's `strip_accents`).
  public var stripAccents: Bool? { basicTokenizer.stripAccents }
  /// Whether CJK ideographs become words of their own (HF's `tokenize_chinese_chars`).
  public var tokenizeChineseCharacters: Bool { basicTokenizer.tokenizeChineseCharacters }
  /// Longer words, in scalars after normalisation, become `[UNK]` (HF: 100).
  public var maxInputCharactersPerWord: Int { wordPieceTokenizer.maxInputCharactersPerWord }

  // MARK: - Creating a tokenizer

  /// Reads `vocab.txt` and, when present, `tokenizer_config.json` from a model directory.
  ///
  /// - Parameters:
  ///   - directory: a directory as transformers writes it.
  ///   - allowDuplicateTokens: HF accepts a vocabulary in which a token repeats
  ///     and keeps its last id; by default this refuses such a file.
  /// - Throws: ``TokenizerError`` when the vocabulary is missing, empty, repeats a
  ///   token or lacks a special token, or when the configuration is malformed.
  public init(directory: URL, allowDuplicateTokens: Bool = false) throws(TokenizerError) {
    let vocabularyURL = directory.appendingPathComponent("vocab.txt")
    let vocabulary = try Self.readVocabulary(vocabularyURL)
    let configURL = directory.appendingPathComponent("tokenizer_config.json")
    let config = try TokenizerConfiguration(contentsOf: configURL)
    try self.init(
      vocabulary: vocabulary, configuration: config, file: vocabularyURL.path,
      allowDuplicateTokens: allowDuplicateTokens)
  }

  /// Builds a tokenizer from a vocabulary in memory (id = index).
  ///
  /// - Parameters:
  ///   - vocabulary: the token of each id; must hold `[CLS]`, `[SEP]`, `[PAD]` and `[UNK]`.
  ///   - doLowerCase: lower-case the text, as for uncased models.
  ///   - stripAccents: strip accents; nil follows `doLowerCase`.
  ///   - tokenizeChineseCharacters: put spaces around CJK ideographs.
  ///   - modelMaxLength: the longest input the model accepts, if any.
  public init(
    vocabulary: [String], doLowerCase: Bool = true, stripAccents: Bool? = nil,
    tokenizeChineseCharacters: Bool = true, modelMaxLength: Int? = nil,
    allowDuplicateTokens: Bool = false
  ) throws(TokenizerError) {
    var config = TokenizerConfiguration()
    config.doLowerCase = doLowerCase
    config.stripAccents = stripAccents
    config.tokenizeChineseCharacters = tokenizeChineseCharacters
    config.modelMaxLength = modelMaxLength
    try self.init(
      vocabulary: vocabulary, configuration: config, file: "the vocabulary",
      allowDuplicateTokens: allowDuplicateTokens)
  }

  private init(
    vocabulary: [String], configuration config: TokenizerConfiguration, file: String,
    allowDuplicateTokens: Bool
  ) throws(TokenizerError) {
    guard !vocabulary.isEmpty else { throw .emptyVocabulary(file: file) }
    var tokenToID: [VocabularyKey: Int] = [:]
    tokenToID.reserveCapacity(vocabulary.count)
    for (id, token) in vocabulary.enumerated() {
      if let first = tokenToID.updateValue(id, forKey: VocabularyKey(token)), !allowDuplicateTokens
      {
        throw .duplicateToken(token: token, file: file, line: id + 1, firstLine: first + 1)
      }
    }
    func specialID(_ token: String) throws(TokenizerError) -> Int {
      guard let id = tokenToID[VocabularyKey(token)] else {
        throw .missingSpecialToken(token: token, file: file)
      }
      return id
    }
    self.vocabulary = vocabulary
    classificationToken = config.classificationToken
    separatorToken = config.separatorToken
    paddingToken = config.paddingToken
    unknownToken = config.unknownToken
    maskToken = config.maskToken
    classificationTokenID = try specialID(config.classificationToken)
    separatorTokenID = try specialID(config.separatorToken)
    paddingTokenID = try specialID(config.paddingToken)
    unknownTokenID = try specialID(config.unknownToken)
    maskTokenID = tokenToID[VocabularyKey(config.maskToken)]
    modelMaxLength = config.modelMaxLength

    var specials: [(scalars: [Unicode.Scalar], id: Int)] = []
    for token in [unknownToken, separatorToken, paddingToken, classificationToken, maskToken] {
      if let id = tokenToID[VocabularyKey(token)], !token.isEmpty,
        !specials.contains(where: { $0.id == id })
      {
        specials.append((Array(token.unicodeScalars), id))
      }
    }
    specialTokens = specials.sorted { $0.scalars.count > $1.scalars.count }
    specialTokenStarts = Array(Set(specials.map { $0.scalars[0] }))
    basicTokenizer = BasicTokenizer(
      doLowerCase: config.doLowerCase, stripAccents: config.stripAccents,
      tokenizeChineseCharacters: config.tokenizeChineseCharacters,
      neverSplit: Set(specials.map { String(String.UnicodeScalarView($0.scalars)) }))
    wordPieceTokenizer = WordPieceTokenizer(tokenToID: tokenToID, unknownTokenID: unknownTokenID)
  }

  /// Reads `vocab.txt`: one token per line, the id is the line index. Lines end
  /// with `\n`, `\r\n` or `\r` (Python's universal newlines); a final newline
  /// does not start another token.
  static func readVocabulary(_ url: URL) throws(TokenizerError) -> [String] {
    guard let data = try? Data(contentsOf: url) else {
      throw .missingVocabulary(file: url.path)
    }
    let text = String(decoding: data, as: UTF8.self)
    var tokens: [String] = []
    var current = String.UnicodeScalarView()
    var previousWasCarriageReturn = false
    for scalar in text.unicodeScalars {
      if scalar == "\n" && previousWasCarriageReturn {
        previousWasCarriageReturn = false
        continue
      }
      previousWasCarriageReturn = scalar == "\r"
      if scalar == "\n" || scalar == "\r" {
        tokens.append(String(current))
        current = String.UnicodeScalarView()
      } else {
        current.append(scalar)
      }
    }
    if !current.isEmpty { tokens.append(String(current)) }
    guard !tokens.isEmpty else { throw .emptyVocabulary(file: url.path) }
    return tokens
  }

  // MARK: - Vocabulary

  /// The id of a vocabulary entry, or nil.
  public func id(for token: String) -> Int? { wordPieceTokenizer.wordIDs[VocabularyKey(token)] }

  /// The vocabulary entry of an id; the unknown token for an id out of range.
  public func token(for id: Int) -> String {
    vocabulary.indices.contains(id) ? vocabulary[id] : unknownToken
  }

  // MARK: - Tokenizing

  /// The tokens of `text`, without special tokens (HF's `tokenize`).
  public func tokenize(_ text: String) -> [String] {
    var workspace = TokenizerWorkspace()
    return tokenize(text, workspace: &workspace).ids.map { token(for: $0) }
  }

  /// The ids and original ranges of the tokens of one text.
  func tokenize(_ text: String, workspace: inout TokenizerWorkspace) -> (
    ids: [Int], offsets: [Range<Int>]
  ) {
    let scalars = Array(text.unicodeScalars)
    var ids: [Int] = []
    var offsets: [Range<Int>] = []
    ids.reserveCapacity(scalars.count / 3 + 4)
    offsets.reserveCapacity(scalars.count / 3 + 4)
    func appendFragment(_ range: Range<Int>, _ workspace: inout TokenizerWorkspace) {
      guard !range.isEmpty else { return }
      workspace.reset()
      basicTokenizer.appendWords(of: scalars, in: range, to: &workspace)
      for word in workspace.words {
        wordPieceTokenizer.appendPieces(of: word, in: &workspace, ids: &ids, offsets: &offsets)
      }
    }
    // Split off special tokens written in the text: leftmost, then longest.
    var fragmentStart = 0
    var i = 0
    while i < scalars.count {
      if specialTokenStarts.contains(scalars[i]), let special = specialToken(at: i, in: scalars) {
        appendFragment(fragmentStart..<i, &workspace)
        ids.append(special.id)
        offsets.append(i..<i + special.scalars.count)
        i += special.scalars.count
        fragmentStart = i
      } else {
        i += 1
      }
    }
    appendFragment(fragmentStart..<scalars.count, &workspace)
    return (ids, offsets)
  }

  private func specialToken(at i: Int, in scalars: [Unicode.Scalar]) -> (
    scalars: [Unicode.Scalar], id: Int
  )? {
    for special in specialTokens where i + special.scalars.count <= scalars.count {
      if scalars[i..<i + special.scalars.count].elementsEqual(special.scalars) { return special }
    }
    return nil
  }

  // MARK: - Encoding

  /// Encodes one text, or a pair, for the model: `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`.
  ///
  /// - Parameters:
  ///   - text: the first text.
  ///   - pair: the second text, if any.
  ///   - maxLength: the most tokens, special tokens included; nil means
  ///     ``modelMaxLength`` (and no limit when that is nil too).
  ///   - truncation: how to remove tokens beyond `maxLength`.
  ///   - padding: how to pad.
  /// - Returns: an encoding of T tokens.
  public func encode(
    _ text: String, pair: String? = nil, maxLength: Int? = nil,
    truncation: Truncation = .longestFirst, padding: Padding = .doNotPad
  ) -> Encoding {
    var workspace = TokenizerWorkspace()
    return encode(
      text, pair: pair, maxLength: maxLength, truncation: truncation, padding: padding,
      workspace: &workspace)
  }

  /// Encodes a batch of texts, or of pairs (`pairs[i]` goes with `texts[i]`).
  /// ``Padding/longest`` pads every encoding to the longest of the batch. Large
  /// batches are split across the compute threads (``Compute/threadCount``).
  ///
  /// - Returns: one encoding per text, in order.
  public func encodeBatch(
    _ texts: [String], pairs: [String]? = nil, maxLength: Int? = nil,
    truncation: Truncation = .longestFirst, padding: Padding = .doNotPad
  ) -> [Encoding] {
    ensure(pairs == nil || pairs!.count == texts.count, "one pair per text")
    let empty = Encoding(
      inputIDs: [], tokenTypeIDs: [], attentionMask: [], specialTokensMask: [], offsets: [],
      sequenceIDs: [])
    var encodings = [Encoding](repeating: empty, count: texts.count)
    encodings.withUnsafeMutableBufferPointer { results in
      Parallel.forEachChunk(texts.count, minimumChunk: 256) { range in
        var workspace = TokenizerWorkspace()
        for i in range {
          results[i] = encode(
            texts[i], pair: pairs?[i], maxLength: maxLength, truncation: truncation,
            padding: padding == .longest ? .doNotPad : padding, workspace: &workspace)
        }
      }
    }
    if padding == .longest, let longest = encodings.map(\.count).max() {
      for i in encodings.indices { encodings[i].pad(to: longest, paddingID: paddingTokenID) }
    }
    return encodings
  }

  private func encode(
    _ text: String, pair: String?, maxLength: Int?, truncation: Truncation, padding: Padding,
    workspace: inout TokenizerWorkspace
  ) -> Encoding {
    var first = tokenize(text, workspace: &workspace)
    var second = pair.map { tokenize($0, workspace: &workspace) }
    let limit = maxLength ?? modelMaxLength
    if let limit, truncation != .doNotTruncate {
      let total = first.ids.count + (second?.ids.count ?? 0) + (second == nil ? 2 : 3)
      let (removeFirst, removeSecond) = Self.tokensToRemove(
        total - limit, first: first.ids.count, second: second?.ids.count, truncation: truncation)
      first.ids.removeLast(removeFirst)
      first.offsets.removeLast(removeFirst)
      second?.ids.removeLast(removeSecond)
      second?.offsets.removeLast(removeSecond)
    }
    var encoding = assemble(first, second)
    switch padding {
    case .doNotPad, .longest: break
    case .maxLength: if let limit { encoding.pad(to: limit, paddingID: paddingTokenID) }
    case .length(let length): encoding.pad(to: length, paddingID: paddingTokenID)
    }
    return encoding
  }

  /// How many tokens to remove from the end of each text: HF's slow
  /// `truncate_sequences`, clamped to the texts' lengths.
  static func tokensToRemove(
    _ excess: Int, first: Int, second: Int?, truncation: Truncation
  ) -> (first: Int, second: Int) {
    guard excess > 0 else { return (0, 0) }
    switch (truncation, second) {
    case (.doNotTruncate, _), (.onlySecond, nil): return (0, 0)
    case (.onlyFirst, _), (.longestFirst, nil): return (min(excess, first), 0)
    case (.onlySecond, let second?): return (0, min(excess, second))
    case (.longestFirst, let second?):
      // Equivalent to removing one token at a time from the longer text, and
      // from the second text on a tie.
      let fromLonger = min(abs(second - first), excess)
      let rest = excess - fromLonger
      let removeFirst = first > second ? fromLonger + rest / 2 : rest / 2
      let removeSecond = excess - removeFirst
      return (min(removeFirst, first), min(removeSecond, second))
    }
  }

  /// `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, with types, masks, offsets and sequence ids.
  private func assemble(
    _ first: (ids: [Int], offsets: [Range<Int>]), _ second: (ids: [Int], offsets: [Range<Int>])?
  ) -> Encoding {
    let a = first.ids.count
    let b = second?.ids.count ?? -1  // -1: no second text and no second [SEP]
    var ids = [classificationTokenID] + first.ids + [separatorTokenID]
    var offsets = [0..<0] + first.offsets + [0..<0]
    var sequenceIDs: [Int?] = [nil] + repeatElement(0, count: a) + [nil]
    var specialMask = [1] + repeatElement(0, count: a) + [1]
    if let second {
      ids += second.ids + [separatorTokenID]
      offsets += second.offsets + [0..<0]
      sequenceIDs += repeatElement(1, count: b) + [nil]
      specialMask += repeatElement(0, count: b) + [1]
    }
    let types = Array(repeating: 0, count: a + 2) + Array(repeating: 1, count: b + 1)
    return Encoding(
      inputIDs: ids, tokenTypeIDs: types, attentionMask: Array(repeating: 1, count: ids.count),
      specialTokensMask: specialMask, offsets: offsets, sequenceIDs: sequenceIDs)
  }

  // MARK: - Question answering

  /// Encodes a question with a long context as overlapping windows, like HF's
  /// fast tokenizers with `truncation="only_second"`,
  /// `return_overflowing_tokens=True` and `stride=doc_stride`.
  ///
  /// Each window is `[CLS] question [SEP] part of the context [SEP]`. The parts
  /// hold `maxLength - question tokens - 3` context tokens, and consecutive
  /// parts share `stride` tokens; the last part ends with the context.
  ///
  /// - Parameters:
  ///   - question: the first text, never truncated.
  ///   - context: the second text, cut into windows.
  ///   - maxLength: tokens per window, special tokens included.
  ///   - stride: context tokens shared by consecutive windows.
  ///   - padding: padding of each window (``Padding/maxLength`` pads to `maxLength`).
  /// - Returns: one encoding per window; offsets of context tokens point into `context`,
  ///   those of question tokens into `question`.
  /// - Throws: ``TokenizerError/windowTooSmall(maxLength:questionTokens:stride:)``
  ///   when the context does not fit and a window has no more than `stride`
  ///   context tokens.
  public func encodeWithWindows(
    question: String, context: String, maxLength: Int, stride: Int,
    padding: Padding = .doNotPad
  ) throws(TokenizerError) -> [Encoding] {
    var workspace = TokenizerWorkspace()
    let first = tokenize(question, workspace: &workspace)
    let second = tokenize(context, workspace: &workspace)
    let window = maxLength - first.ids.count - 3
    var parts: [Range<Int>] = []
    if first.ids.count + second.ids.count + 3 <= maxLength {
      parts = [0..<second.ids.count]
    } else {
      guard window > stride, window > 0 else {
        throw .windowTooSmall(
          maxLength: maxLength, questionTokens: first.ids.count, stride: stride)
      }
      var start = 0
      while true {
        let stop = min(start + window, second.ids.count)
        parts.append(start..<stop)
        if stop == second.ids.count { break }
        start += window - stride
      }
    }
    return parts.map { part in
      var encoding = assemble(
        first, (Array(second.ids[part]), Array(second.offsets[part])))
      switch padding {
      case .doNotPad, .longest: break
      case .maxLength: encoding.pad(to: maxLength, paddingID: paddingTokenID)
      case .length(let length): encoding.pad(to: length, paddingID: paddingTokenID)
      }
      return encoding
    }
  }
}
