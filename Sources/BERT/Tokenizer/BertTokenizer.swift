import Foundation

/// The file a ``BertTokenizer`` was read from, which decides whose rules it follows.
public enum TokenizerFormat: String, Sendable, Equatable {
  /// `vocab.txt` (with `tokenizer_config.json`): the rules of transformers'
  /// Python `BertTokenizer` (`BertTokenizerLegacy` in transformers 5).
  case vocabularyText = "vocab.txt"
  /// `tokenizer.json`: the rules of the `tokenizers` library, which
  /// transformers' fast tokenizer runs.
  case tokenizerJSON = "tokenizer.json"
}

/// BERT's WordPiece tokenizer, identical to Hugging Face's.
///
/// From a `tokenizer.json` it follows the `tokenizers` library (transformers'
/// fast tokenizer): the file's normalizer, pre-tokenizer, WordPiece model,
/// post-processor and added tokens (see ``TokenizerFormat/tokenizerJSON``).
/// From a `vocab.txt` it follows HF's slow (Python) tokenizer
/// (`models/bert/tokenization_bert.py`; `tokenization_bert_legacy.py` in
/// transformers 5) for ids, tokens and token types, and its fast tokenizer for
/// offsets. The text goes through three stages:
/// 1. special and added tokens written in the text (`[CLS]`, `[SEP]`, `[PAD]`,
///    `[UNK]`, `[MASK]`) are split off first and kept, as HF's added-token trie does;
/// 2. the rest is cleaned, normalised and split into words (``BasicTokenizer``,
///    or the file's normalizer and pre-tokenizer);
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
  /// Token of each id (the line index in `vocab.txt`; the model's vocabulary
  /// and the added tokens of a `tokenizer.json`).
  public let vocabulary: [String]
  /// The file the tokenizer was read from.
  public let format: TokenizerFormat
  /// The basic tokenizer's settings (lower-casing, accents, CJK). From a
  /// `tokenizer.json` they describe its `BertNormalizer`, or are HF's defaults
  /// with lower-casing as its normalizer has it.
  public let basicTokenizer: BasicTokenizer
  /// Stage 2: BERT's basic tokenizer, or a `tokenizer.json`'s pipeline.
  let splitter: WordSplitter
  /// The WordPiece stage.
  let wordPieceTokenizer: WordPieceTokenizer
  /// Where the special tokens go around one text or a pair.
  let postProcessor: PostProcessor
  /// Added tokens matched in the original text before anything else.
  let addedTokens: AddedTokenMatcher
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

  /// Whether the text is lower-cased (HF's `do_lower_case`).
  public var doLowerCase: Bool { basicTokenizer.doLowerCase }
  /// Whether accents are stripped; nil follows ``doLowerCase`` (HF's `strip_accents`).
  public var stripAccents: Bool? { basicTokenizer.stripAccents }
  /// Whether CJK ideographs become words of their own (HF's `tokenize_chinese_chars`).
  public var tokenizeChineseCharacters: Bool { basicTokenizer.tokenizeChineseCharacters }
  /// Longer words, in scalars after normalisation, become `[UNK]` (HF: 100).
  public var maxInputCharactersPerWord: Int { wordPieceTokenizer.maxInputCharactersPerWord }

  /// Stage 2 of the tokenizer.
  enum WordSplitter: Sendable {
    case basic(BasicTokenizer)
    case pipeline(TokenizerPipeline)
  }

  // MARK: - Creating a tokenizer

  /// Reads a model directory's tokenizer: `tokenizer.json` when it exists (it
  /// wins over `vocab.txt`, as in transformers), else `vocab.txt`; and
  /// `tokenizer_config.json` when present.
  ///
  /// - Parameters:
  ///   - directory: a directory as transformers writes it.
  ///   - allowDuplicateTokens: HF accepts a `vocab.txt` in which a token repeats
  ///     and keeps its last id; by default this refuses such a file.
  /// - Throws: ``TokenizerError`` when the vocabulary is missing, empty, repeats a
  ///   token or lacks a special token, when `tokenizer.json` is malformed or not
  ///   a WordPiece tokenizer, or when the configuration is malformed.
  public init(directory: URL, allowDuplicateTokens: Bool = false) throws(TokenizerError) {
    let configURL = directory.appendingPathComponent("tokenizer_config.json")
    let config = try TokenizerConfiguration(contentsOf: configURL)
    let tokenizerURL = directory.appendingPathComponent(TokenizerFormat.tokenizerJSON.rawValue)
    if FileManager.default.fileExists(atPath: tokenizerURL.path) {
      try self.init(
        file: TokenizerFile(contentsOf: tokenizerURL), configuration: config,
        path: tokenizerURL.path)
      return
    }
    let vocabularyURL = directory.appendingPathComponent(TokenizerFormat.vocabularyText.rawValue)
    guard FileManager.default.fileExists(atPath: vocabularyURL.path) else {
      throw .missingTokenizer(directory: directory.path)
    }
    let vocabulary = try Self.readVocabulary(vocabularyURL)
    try self.init(
      vocabulary: vocabulary, configuration: config, file: vocabularyURL.path,
      allowDuplicateTokens: allowDuplicateTokens)
  }

  /// Reads a `tokenizer.json`, with the `tokenizer_config.json` beside it when present.
  ///
  /// - Throws: ``TokenizerError`` when the file is malformed, holds a model other
  ///   than WordPiece or a component this package does not implement, or lacks a
  ///   special token.
  public init(tokenizerFile url: URL) throws(TokenizerError) {
    let configURL = url.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json")
    try self.init(
      file: TokenizerFile(contentsOf: url),
      configuration: TokenizerConfiguration(contentsOf: configURL), path: url.path)
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

  /// A `vocab.txt` tokenizer: BERT's basic tokenizer, its five special tokens
  /// and its template.
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
    let ids = try SpecialTokenIDs(config, unknownToken: config.unknownToken, file: file) {
      tokenToID[VocabularyKey($0)]
    }
    var specials: [AddedToken] = []
    for (token, id) in [
      (config.unknownToken, ids.unknownID), (config.separatorToken, ids.separatorID),
      (config.paddingToken, ids.paddingID), (config.classificationToken, ids.classificationID),
      (config.maskToken, ids.maskID),
    ] {
      guard let id, !token.isEmpty, !specials.contains(where: { $0.id == id }) else { continue }
      specials.append(AddedToken(content: token, id: id))
    }
    let basic = BasicTokenizer(
      doLowerCase: config.doLowerCase, stripAccents: config.stripAccents,
      tokenizeChineseCharacters: config.tokenizeChineseCharacters,
      neverSplit: Set(specials.map { String(String.UnicodeScalarView($0.content)) }))
    self.init(
      vocabulary: vocabulary, format: .vocabularyText, basicTokenizer: basic,
      splitter: .basic(basic),
      wordPieceTokenizer: WordPieceTokenizer(tokenToID: tokenToID, unknownTokenID: ids.unknownID),
      postProcessor: .bert(classification: ids.classificationID, separator: ids.separatorID),
      addedTokens: AddedTokenMatcher(specials), configuration: config, ids: ids)
  }

  /// A `tokenizer.json` tokenizer. The special tokens' strings come from
  /// `tokenizer_config.json` (HF's defaults without it), the unknown token
  /// from the WordPiece model.
  private init(
    file tokenizerFile: TokenizerFile, configuration config: TokenizerConfiguration, path: String
  ) throws(TokenizerError) {
    var tokenToID: [VocabularyKey: Int] = [:]
    tokenToID.reserveCapacity(tokenizerFile.vocabulary.count)
    for (id, token) in tokenizerFile.vocabulary.enumerated() {
      tokenToID[VocabularyKey(token)] = id
    }
    let ids = try SpecialTokenIDs(config, unknownToken: tokenizerFile.unknownToken, file: path) {
      tokenToID[VocabularyKey($0)]
    }
    guard let unknownID = tokenizerFile.modelVocabulary[VocabularyKey(tokenizerFile.unknownToken)]
    else { throw .missingSpecialToken(token: tokenizerFile.unknownToken, file: path) }
    var basic = BasicTokenizer()
    switch tokenizerFile.normalizer {
    case .bert(_, let chinese, let strip, let lower)?:
      basic = BasicTokenizer(
        doLowerCase: lower, stripAccents: strip, tokenizeChineseCharacters: chinese)
    case let normalizer:
      basic.doLowerCase = normalizer?.lowercases ?? false
    }
    self.init(
      vocabulary: tokenizerFile.vocabulary, format: .tokenizerJSON, basicTokenizer: basic,
      splitter: .pipeline(
        TokenizerPipeline(
          normalizer: tokenizerFile.normalizer, preTokenizer: tokenizerFile.preTokenizer,
          normalizedAddedTokens: tokenizerFile.addedTokens.filter(\.normalized))),
      wordPieceTokenizer: WordPieceTokenizer(
        tokenToID: tokenizerFile.modelVocabulary, unknownTokenID: unknownID,
        maxInputCharactersPerWord: tokenizerFile.maxInputCharactersPerWord,
        continuationPrefix: tokenizerFile.continuingSubwordPrefix),
      postProcessor: tokenizerFile.postProcessor,
      addedTokens: AddedTokenMatcher(tokenizerFile.addedTokens.filter { !$0.normalized }),
      configuration: config, ids: ids)
  }

  private init(
    vocabulary: [String], format: TokenizerFormat, basicTokenizer: BasicTokenizer,
    splitter: WordSplitter, wordPieceTokenizer: WordPieceTokenizer, postProcessor: PostProcessor,
    addedTokens: AddedTokenMatcher, configuration config: TokenizerConfiguration,
    ids: SpecialTokenIDs
  ) {
    self.vocabulary = vocabulary
    self.format = format
    self.basicTokenizer = basicTokenizer
    self.splitter = splitter
    self.wordPieceTokenizer = wordPieceTokenizer
    self.postProcessor = postProcessor
    self.addedTokens = addedTokens
    modelMaxLength = config.modelMaxLength
    classificationToken = config.classificationToken
    separatorToken = config.separatorToken
    paddingToken = config.paddingToken
    unknownToken = ids.unknownToken
    maskToken = config.maskToken
    classificationTokenID = ids.classificationID
    separatorTokenID = ids.separatorID
    paddingTokenID = ids.paddingID
    unknownTokenID = ids.unknownID
    maskTokenID = ids.maskID
  }

  /// The ids of the special tokens a configuration names; `[MASK]` is optional.
  private struct SpecialTokenIDs {
    var unknownToken: String
    var classificationID, separatorID, paddingID, unknownID: Int
    var maskID: Int?

    init(
      _ config: TokenizerConfiguration, unknownToken: String, file: String,
      id: (String) -> Int?
    ) throws(TokenizerError) {
      func required(_ token: String) throws(TokenizerError) -> Int {
        guard let value = id(token) else { throw .missingSpecialToken(token: token, file: file) }
        return value
      }
      self.unknownToken = unknownToken
      classificationID = try required(config.classificationToken)
      separatorID = try required(config.separatorToken)
      paddingID = try required(config.paddingToken)
      unknownID = try required(unknownToken)
      maskID = id(config.maskToken)
    }
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
    // Added tokens written in the text first: leftmost, then longest.
    for piece in addedTokens.split(scalars, in: 0..<scalars.count) {
      if let id = piece.id {
        ids.append(id)
        offsets.append(piece.range)
        continue
      }
      workspace.reset()
      switch splitter {
      case .basic(let basic): basic.appendWords(of: scalars, in: piece.range, to: &workspace)
      case .pipeline(let pipeline):
        pipeline.appendWords(of: scalars, in: piece.range, to: &workspace)
      }
      for (k, word) in workspace.words.enumerated() {
        if k < workspace.wordTokenIDs.count, workspace.wordTokenIDs[k] >= 0 {
          ids.append(workspace.wordTokenIDs[k])
          offsets.append(
            workspace.normalized.starts[
              word.lowerBound]..<workspace.normalized.ends[
                word.upperBound - 1])
        } else {
          wordPieceTokenizer.appendPieces(of: word, in: &workspace, ids: &ids, offsets: &offsets)
        }
      }
    }
    return (ids, offsets)
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
      let added = postProcessor.addedTokenCount(pair: second != nil)
      let total = first.ids.count + (second?.ids.count ?? 0) + added
      let (removeFirst, removeSecond) =
        format == .tokenizerJSON
        ? Self.tokensToRemoveAsTokenizers(
          keeping: limit - added, first: first.ids.count, second: second?.ids.count,
          truncation: truncation)
        : Self.tokensToRemove(
          total - limit, first: first.ids.count, second: second?.ids.count,
          truncation: truncation)
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

  /// How many tokens to remove from the end of each text so that `target`
  /// tokens remain (special tokens not counted): the `tokenizers` library's
  /// `truncate_encodings`. With two long texts the first keeps `target / 2`
  /// and the second the rest, so the first loses more on a tie. Where the
  /// library refuses (`onlySecond` or `onlyFirst` when that text is too short,
  /// `onlySecond` without a second text), that text is emptied or nothing is
  /// removed, instead of an error.
  static func tokensToRemoveAsTokenizers(
    keeping target: Int, first: Int, second: Int?, truncation: Truncation
  ) -> (first: Int, second: Int) {
    // A limit below the special tokens' count leaves the texts whole, as in the library.
    guard target >= 0, first + (second ?? 0) > target else { return (0, 0) }
    let excess = first + (second ?? 0) - target
    switch (truncation, second) {
    case (.doNotTruncate, _), (.onlySecond, nil): return (0, 0)
    case (.onlyFirst, _), (.longestFirst, nil): return (min(excess, first), 0)
    case (.onlySecond, let second?): return (0, min(excess, second))
    case (.longestFirst, let second?):
      var shorter = min(first, second)
      var longer = shorter > target ? shorter : max(shorter, target - shorter)
      if shorter + longer > target {
        shorter = target / 2
        longer = shorter + target % 2
      }
      let (keepFirst, keepSecond) = first > second ? (longer, shorter) : (shorter, longer)
      return (max(first - keepFirst, 0), max(second - keepSecond, 0))
    }
  }

  /// The encoding of one text or a pair, with the special tokens of the
  /// post-processor (`[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]` for BERT).
  private func assemble(
    _ first: (ids: [Int], offsets: [Range<Int>]), _ second: (ids: [Int], offsets: [Range<Int>])?
  ) -> Encoding {
    postProcessor.assemble(first, second)
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
    let window = maxLength - first.ids.count - postProcessor.addedTokenCount(pair: true)
    var parts: [Range<Int>] = []
    if first.ids.count + second.ids.count + postProcessor.addedTokenCount(pair: true) <= maxLength {
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
