import Foundation
import Testing

@testable import BERT

/// HF's own tokenizer test vocabulary (`tests/models/bert/test_tokenization_bert.py`).
private let tinyVocabulary = [
  "[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "want", "##want", "##ed", "wa", "un", "runn",
  "##ing", ",", "low", "lowest",
]

private func tiny(
  doLowerCase: Bool = true, stripAccents: Bool? = nil, modelMaxLength: Int? = nil
) throws -> BertTokenizer {
  try BertTokenizer(
    vocabulary: tinyVocabulary, doLowerCase: doLowerCase, stripAccents: stripAccents,
    modelMaxLength: modelMaxLength)
}

/// A fresh temporary directory holding the given files.
private func modelDirectory(_ files: [String: String]) throws -> URL {
  let url = FileManager.default.temporaryDirectory
    .appendingPathComponent("bert-tokenizer-tests-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  for (name, contents) in files {
    try contents.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8)
  }
  return url
}

private func ranges(_ pairs: [(Int, Int)]) -> [Range<Int>] { pairs.map { $0.0..<$0.1 } }

// MARK: - HF's own tests, on the tiny vocabulary (always run)

@Suite struct BasicTokenizerTests {
  @Test func characterClassesMatchHF() {
    // HF's test_is_whitespace, test_is_control, test_is_punctuation.
    for scalar: Unicode.Scalar in [" ", "\t", "\r", "\n", "\u{A0}"] {
      #expect(scalar.isBertWhitespace, "\(scalar.value)")
    }
    for scalar: Unicode.Scalar in ["A", "-"] { #expect(!scalar.isBertWhitespace) }
    #expect(Unicode.Scalar(5).isBertControl)
    for scalar: Unicode.Scalar in ["A", " ", "\t", "\r"] { #expect(!scalar.isBertControl) }
    for scalar: Unicode.Scalar in ["-", "$", "`", "."] { #expect(scalar.isBertPunctuation) }
    for scalar: Unicode.Scalar in ["A", " "] { #expect(!scalar.isBertPunctuation) }
    #expect(Unicode.Scalar(0x535A)!.isChineseCharacter)
    #expect(!Unicode.Scalar(0x3042)!.isChineseCharacter)  // hiragana
  }

  @Test func lowerCasingAndAccents() {
    let text = " \tHeLLo!how  \n Are yoU?  "
    let accented = " \tH\u{E4}LLo!how  \n Are yoU?  "
    let lower = BasicTokenizer(doLowerCase: true)
    #expect(lower.tokenize(text) == ["hello", "!", "how", "are", "you", "?"])
    #expect(lower.tokenize("H\u{E9}llo") == ["hello"])
    let keep = BasicTokenizer(doLowerCase: true, stripAccents: false)
    #expect(keep.tokenize(accented) == ["h\u{E4}llo", "!", "how", "are", "you", "?"])
    #expect(keep.tokenize("H\u{E9}llo") == ["h\u{E9}llo"])
    let strip = BasicTokenizer(doLowerCase: true, stripAccents: true)
    #expect(strip.tokenize(accented) == ["hallo", "!", "how", "are", "you", "?"])
    let cased = BasicTokenizer(doLowerCase: false)
    #expect(cased.tokenize(text) == ["HeLLo", "!", "how", "Are", "yoU", "?"])
    #expect(cased.tokenize(accented) == ["H\u{E4}LLo", "!", "how", "Are", "yoU", "?"])
    let casedStrip = BasicTokenizer(doLowerCase: false, stripAccents: true)
    #expect(casedStrip.tokenize(accented) == ["HaLLo", "!", "how", "Are", "yoU", "?"])
  }

  @Test func chineseCharactersAndNeverSplit() {
    #expect(
      BasicTokenizer().tokenize("ah\u{535A}\u{63A8}zz") == ["ah", "\u{535A}", "\u{63A8}", "zz"])
    let neverSplit = BasicTokenizer(doLowerCase: false, neverSplit: ["[UNK]"])
    #expect(
      neverSplit.tokenize(" \tHeLLo!how  \n Are yoU? [UNK]")
        == ["HeLLo", "!", "how", "Are", "yoU", "?", "[UNK]"])
  }

  @Test func scalarsNotCharacters() {
    // "e\u{301}" is one Character but two scalars; NFC composes it, and
    // stripping drops the accent whether it came composed or not.
    #expect(BasicTokenizer().tokenize("cafe\u{301}") == ["cafe"])
    #expect(BasicTokenizer(stripAccents: false).tokenize("cafe\u{301}") == ["caf\u{E9}"])
    // Python's str.lower(): 'İ' becomes "i\u{307}", final sigma in word-final position.
    #expect(BasicTokenizer(stripAccents: false).tokenize("\u{130}") == ["i\u{307}"])
    #expect(
      BasicTokenizer().tokenize("\u{39F}\u{394}\u{39F}\u{3A3}") == ["\u{3BF}\u{3B4}\u{3BF}\u{3C2}"])
  }
}

@Suite struct WordPieceTests {
  @Test func fullTokenizer() throws {
    // HF's test_full_tokenizer.
    let tokenizer = try tiny()
    #expect(
      tokenizer.tokenize("UNwant\u{E9}d,running") == ["un", "##want", "##ed", ",", "runn", "##ing"])
    #expect(tokenizer.encode("UNwant\u{E9}d,running").inputIDs == [1, 9, 6, 7, 12, 10, 11, 2])
  }

  @Test func greedyLongestMatch() throws {
    // HF's test_wordpiece_tokenizer.
    let tokenizer = try tiny()
    #expect(tokenizer.tokenize("") == [])
    #expect(tokenizer.tokenize("unwanted running") == ["un", "##want", "##ed", "runn", "##ing"])
    #expect(tokenizer.tokenize("unwantedX running") == ["[UNK]", "runn", "##ing"])
    #expect(tokenizer.tokenize("lowest low") == ["lowest", "low"])
  }

  @Test func cleanText() throws {
    // HF's test_clean_text: the soft hyphen is a control character and vanishes.
    let tokenizer = try tiny()
    #expect(
      ["Test", "\u{AD}", "test"].map { tokenizer.tokenize($0) } == [["[UNK]"], [], ["[UNK]"]])
  }

  @Test func longWords() throws {
    let vocabulary = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "a", "##a"]
    let tokenizer = try BertTokenizer(vocabulary: vocabulary)
    #expect(tokenizer.tokenize(String(repeating: "a", count: 100)).count == 100)
    #expect(tokenizer.tokenize(String(repeating: "a", count: 101)) == ["[UNK]"])
    // 101 scalars before stripping, 100 after: the limit applies to the stripped word.
    #expect(tokenizer.tokenize(String(repeating: "a", count: 99) + "a\u{301}").count == 100)
    let encoding = tokenizer.encode("b " + String(repeating: "a", count: 101))
    #expect(encoding.offsets == ranges([(0, 0), (0, 1), (2, 103), (0, 0)]))
  }

  @Test func vocabularyComparesScalarsNotCharacters() throws {
    // Canonically equivalent entries are distinct tokens, as in Python; and a
    // continuation whose first scalar combines with "#" is still a continuation.
    let vocabulary = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "\u{E9}", "e\u{301}", "x", "##\u{93F}"]
    let tokenizer = try BertTokenizer(
      vocabulary: vocabulary, doLowerCase: false, stripAccents: false)
    #expect(tokenizer.id(for: "\u{E9}") == 4)
    #expect(tokenizer.id(for: "e\u{301}") == 5)
    // HF composes the text to NFC first, so both spellings reach the composed entry.
    #expect(tokenizer.encode("e\u{301} \u{E9}").inputIDs == [1, 4, 4, 2])
    #expect(tokenizer.tokenize("x\u{93F}") == ["x", "##\u{93F}"])
  }

  @Test func specialTokensInText() throws {
    let tokenizer = try tiny()
    #expect(tokenizer.tokenize("[CLS] want [SEP]") == ["[CLS]", "want", "[SEP]"])
    #expect(tokenizer.tokenize("want[MASK]want") == ["want", "[MASK]", "want"])
    #expect(tokenizer.tokenize("[cls]") == ["[UNK]", "[UNK]", "[UNK]"])
    // A control character inside: no longer split off first, but kept whole as HF's never_split.
    #expect(tokenizer.tokenize("[CLS\u{200B}]") == ["[CLS]"])
  }
}

@Suite struct EncodingTests {
  @Test func singleAndPair() throws {
    let tokenizer = try tiny()
    let single = tokenizer.encode("want low")
    #expect(single.inputIDs == [1, 5, 13, 2])
    #expect(single.tokenTypeIDs == [0, 0, 0, 0])
    #expect(single.attentionMask == [1, 1, 1, 1])
    #expect(single.specialTokensMask == [1, 0, 0, 1])
    #expect(single.sequenceIDs == [nil, 0, 0, nil])
    #expect(single.offsets == ranges([(0, 0), (0, 4), (5, 8), (0, 0)]))
    let pair = tokenizer.encode("want", pair: "low lowest")
    #expect(pair.inputIDs == [1, 5, 2, 13, 14, 2])
    #expect(pair.tokenTypeIDs == [0, 0, 0, 1, 1, 1])
    #expect(pair.sequenceIDs == [nil, 0, nil, 1, 1, nil])
    #expect(pair.offsets == ranges([(0, 0), (0, 4), (0, 0), (0, 3), (4, 10), (0, 0)]))
  }

  @Test func offsetsPointIntoTheOriginalText() throws {
    let tokenizer = try tiny()
    // u n w a n t e ◌́ d , r u n n i n g: the accent is scalar 7 and belongs to "##ed".
    let encoding = tokenizer.encode("UNwante\u{301}d,running")
    #expect(encoding.inputIDs == [1, 9, 6, 7, 12, 10, 11, 2])
    #expect(
      encoding.offsets
        == ranges([(0, 0), (0, 2), (2, 6), (6, 9), (9, 10), (10, 14), (14, 17), (0, 0)]))
    // The same with a NUL and a zero-width space removed inside the words.
    let noisy = tokenizer.encode("\u{0}un\u{200B}want, runn\u{0}ing")
    #expect(noisy.inputIDs == [1, 9, 6, 12, 10, 11, 2])
    #expect(noisy.offsets == ranges([(0, 0), (1, 3), (4, 8), (8, 9), (10, 14), (15, 18), (0, 0)]))
  }

  @Test func longestFirstTruncation() throws {
    let tokenizer = try tiny()
    // 4 + 4 tokens + 3 special = 11. Remove 1: a tie, taken from the second text.
    let a = "want want want want"
    let b = "low low low low"
    var encoding = tokenizer.encode(a, pair: b, maxLength: 10)
    #expect(encoding.tokenTypeIDs == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    // Remove 3: second, first, second.
    encoding = tokenizer.encode(a, pair: b, maxLength: 8)
    #expect(encoding.inputIDs == [1, 5, 5, 5, 2, 13, 13, 2])
    // 6 + 2 tokens, remove 3: all from the longer first text.
    encoding = tokenizer.encode(a + " want want", pair: "low low", maxLength: 8)
    #expect(encoding.inputIDs == [1, 5, 5, 5, 2, 13, 13, 2])
    // A single text loses its end; the offsets follow.
    encoding = tokenizer.encode("want low lowest", maxLength: 4)
    #expect(encoding.inputIDs == [1, 5, 13, 2])
    #expect(encoding.offsets == ranges([(0, 0), (0, 4), (5, 8), (0, 0)]))
    // No limit given: model_max_length applies.
    let limited = try tiny(modelMaxLength: 5)
    #expect(limited.encode("want want want want").count == 5)
    #expect(limited.encode("want want want want", truncation: .doNotTruncate).count == 6)
  }

  @Test func onlySecondTruncation() throws {
    let tokenizer = try tiny()
    let encoding = tokenizer.encode(
      "want want want", pair: "low low low", maxLength: 7, truncation: .onlySecond)
    #expect(encoding.inputIDs == [1, 5, 5, 5, 2, 13, 2])
    // A single text is not truncated by onlySecond, as in HF.
    #expect(tokenizer.encode("want want want", maxLength: 3, truncation: .onlySecond).count == 5)
    let first = tokenizer.encode(
      "want want want", pair: "low low low", maxLength: 7, truncation: .onlyFirst)
    #expect(first.inputIDs == [1, 5, 2, 13, 13, 13, 2])
  }

  @Test func padding() throws {
    let tokenizer = try tiny()
    let padded = tokenizer.encode("want", maxLength: 6, padding: .maxLength)
    #expect(padded.inputIDs == [1, 5, 2, 3, 3, 3])
    #expect(padded.attentionMask == [1, 1, 1, 0, 0, 0])
    #expect(padded.tokenTypeIDs == [0, 0, 0, 0, 0, 0])
    #expect(padded.specialTokensMask == [1, 0, 1, 1, 1, 1])
    #expect(padded.sequenceIDs == [nil, 0, nil, nil, nil, nil])
    #expect(padded.offsets == ranges([(0, 0), (0, 4), (0, 0), (0, 0), (0, 0), (0, 0)]))
    #expect(tokenizer.encode("want", padding: .length(4)).inputIDs == [1, 5, 2, 3])
    let batch = tokenizer.encodeBatch(["want", "want low lowest", "low"], padding: .longest)
    #expect(batch.map(\.inputIDs) == [[1, 5, 2, 3, 3], [1, 5, 13, 14, 2], [1, 13, 2, 3, 3]])
    let pairs = tokenizer.encodeBatch(
      ["want", "low"], pairs: ["low", "want want"], padding: .longest)
    #expect(pairs.map(\.tokenTypeIDs) == [[0, 0, 0, 1, 1, 0], [0, 0, 0, 1, 1, 1]])
  }

  @Test func slidingWindows() throws {
    let tokenizer = try tiny()
    // Question: 1 token. Context: 8 tokens. maxLength 8 leaves 4 context tokens a
    // window; stride 2 moves 2 tokens a window: [0, 4), [2, 6), [4, 8).
    let context = "low want low want low want low want"
    let windows = try tokenizer.encodeWithWindows(
      question: "lowest", context: context, maxLength: 8, stride: 2)
    #expect(windows.count == 3)
    #expect(windows[0].inputIDs == [1, 14, 2, 13, 5, 13, 5, 2])
    #expect(windows[1].inputIDs == [1, 14, 2, 13, 5, 13, 5, 2])
    #expect(windows[2].sequenceIDs == [nil, 0, nil, 1, 1, 1, 1, nil])
    // "low" 0..<3, "want" 4..<8, "low" 9..<12, ...: window 1 holds context tokens 2..<6.
    #expect(
      windows[1].offsets
        == ranges([(0, 0), (0, 6), (0, 0), (9, 12), (13, 17), (18, 21), (22, 26), (0, 0)]))
    #expect(windows[2].offsets[3..<7] == ranges([(18, 21), (22, 26), (27, 30), (31, 35)])[...])
    // A context that fits gives one window; padding fills it.
    let one = try tokenizer.encodeWithWindows(
      question: "lowest", context: "low", maxLength: 8, stride: 2, padding: .maxLength)
    #expect(one.map(\.inputIDs) == [[1, 14, 2, 13, 2, 3, 3, 3]])
    #expect(throws: TokenizerError.windowTooSmall(maxLength: 6, questionTokens: 1, stride: 2)) {
      try tokenizer.encodeWithWindows(question: "lowest", context: context, maxLength: 6, stride: 2)
    }
  }
}

// MARK: - Reading a model directory, and its errors (always run)

@Suite struct TokenizerDirectoryTests {
  private let vocab = tinyVocabulary.joined(separator: "\n") + "\n"

  @Test func readsVocabularyAndConfiguration() throws {
    let directory = try modelDirectory([
      "vocab.txt": vocab,
      "tokenizer_config.json": """
      {"do_lower_case": false, "strip_accents": null, "model_max_length": 1000000000000000019884624838656,
       "unk_token": {"content": "[UNK]", "lstrip": false}, "tokenizer_class": "BertTokenizer"}
      """,
    ])
    let tokenizer = try BertTokenizer(directory: directory)
    #expect(tokenizer.vocabulary.count == tinyVocabulary.count)
    #expect(!tokenizer.doLowerCase)
    #expect(tokenizer.modelMaxLength == nil)
    #expect(tokenizer.tokenize("want Want") == ["want", "[UNK]"])
    #expect(tokenizer.id(for: "##ing") == 11)
    #expect(tokenizer.token(for: 12) == ",")
    let specialIDs: [Int] = [
      tokenizer.classificationTokenID, tokenizer.separatorTokenID, tokenizer.paddingTokenID,
      tokenizer.unknownTokenID,
    ]
    #expect(specialIDs == [1, 2, 3, 0])
    let crlf = try modelDirectory(["vocab.txt": tinyVocabulary.joined(separator: "\r\n")])
    #expect(try BertTokenizer(directory: crlf).vocabulary == tinyVocabulary)
  }

  @Test func missingVocabulary() throws {
    // Neither tokenizer.json nor vocab.txt: the directory is named.
    let directory = try modelDirectory([:])
    #expect(throws: TokenizerError.missingTokenizer(directory: directory.path)) {
      try BertTokenizer(directory: directory)
    }
  }

  @Test func emptyVocabulary() throws {
    let directory = try modelDirectory(["vocab.txt": ""])
    let file = directory.appendingPathComponent("vocab.txt").path
    #expect(throws: TokenizerError.emptyVocabulary(file: file)) {
      try BertTokenizer(directory: directory)
    }
  }

  @Test func duplicateToken() throws {
    let directory = try modelDirectory(["vocab.txt": vocab + "want\n"])
    let file = directory.appendingPathComponent("vocab.txt").path
    let error = TokenizerError.duplicateToken(token: "want", file: file, line: 16, firstLine: 6)
    #expect(throws: error) { try BertTokenizer(directory: directory) }
    #expect(error.description.contains("line 6 and again at line 16"))
    // HF keeps the last id; so does allowDuplicateTokens.
    let tokenizer = try BertTokenizer(directory: directory, allowDuplicateTokens: true)
    #expect(tokenizer.id(for: "want") == 15)
    #expect(tokenizer.token(for: 5) == "want")
  }

  @Test func missingSpecialTokens() throws {
    for special in ["[CLS]", "[SEP]", "[PAD]", "[UNK]"] {
      let directory = try modelDirectory([
        "vocab.txt": tinyVocabulary.filter { $0 != special }.joined(separator: "\n")
      ])
      let file = directory.appendingPathComponent("vocab.txt").path
      #expect(throws: TokenizerError.missingSpecialToken(token: special, file: file)) {
        try BertTokenizer(directory: directory)
      }
    }
    #expect(throws: TokenizerError.missingSpecialToken(token: "[CLS]", file: "the vocabulary")) {
      try BertTokenizer(vocabulary: ["[UNK]", "[SEP]", "[PAD]"])
    }
  }

  @Test func malformedConfiguration() throws {
    let invalid = try modelDirectory([
      "vocab.txt": vocab, "tokenizer_config.json": "{\"do_lower_case\": tru",
    ])
    #expect {
      try BertTokenizer(directory: invalid)
    } throws: { error in
      guard case .malformedConfiguration(let file, _, let reason) = error as? TokenizerError
      else { return false }
      return file.hasSuffix("tokenizer_config.json") && reason.contains("not a valid JSON")
    }
    let wrongType = try modelDirectory([
      "vocab.txt": vocab,
      "tokenizer_config.json": "{\n  \"model_max_length\": 512,\n  \"do_lower_case\": \"yes\"\n}",
    ])
    #expect {
      try BertTokenizer(directory: wrongType)
    } throws: { error in
      guard case .malformedConfiguration(_, let line, let reason) = error as? TokenizerError
      else { return false }
      return line == 3 && reason.contains("do_lower_case")
    }
  }
}

// MARK: - Agreement with Hugging Face on the real vocabulary (needs the model)

@Suite(
  .enabled(
    if: TokenizerFixtures.hasRealVocabulary,
    "Skipped: no all-MiniLM-L6-v2 vocab.txt under $BERT_ASSETS or ~/.cache/bert-swift/assets."))
struct TokenizerTests {
  /// ids, token types, masks and offsets of every fixture case equal HF's.
  @Test func encodingsMatchHuggingFace() throws {
    let fixtures = try TokenizerFixtures.load()
    let tokenizers = try fixtures.header.configs.mapValues { try TokenizerFixtures.tokenizer($0) }
    var failures: [String] = []
    var disagreements = 0
    for c in fixtures.encode {
      let tokenizer = try #require(tokenizers[c.config])
      let truncation: Truncation =
        switch c.truncation {
        case "longest_first": .longestFirst
        case "only_second": .onlySecond
        case "only_first": .onlyFirst
        default: .doNotTruncate
        }
      let encoding = tokenizer.encode(
        c.text, pair: c.pair, maxLength: c.maxLength, truncation: truncation,
        padding: c.padding == "max_length" ? .maxLength : .doNotPad)
      var wrong: [String] = []
      if encoding.inputIDs != c.inputIds {
        wrong.append(
          "ids\n    expected \(c.inputIds) \(c.tokens)\n    actual   \(encoding.inputIDs) "
            + "\(encoding.inputIDs.map { tokenizer.token(for: $0) })")
      }
      if encoding.tokenTypeIDs != c.tokenTypeIds {
        wrong.append("token types: expected \(c.tokenTypeIds), actual \(encoding.tokenTypeIDs)")
      }
      if let offsets = c.offsets {
        let actual = encoding.offsets.map { [$0.lowerBound, $0.upperBound] }
        if actual != offsets { wrong.append("offsets: expected \(offsets), actual \(actual)") }
      }
      // Where HF's tokenizers disagree there are no reference offsets: check that
      // ours are non-empty ranges of the text whose starts never go back.
      let length = c.text.unicodeScalars.count
      let pairLength = c.pair?.unicodeScalars.count ?? 0
      var previousStart = [0, 0]
      for (offset, sequence) in zip(encoding.offsets, encoding.sequenceIDs) {
        guard let sequence else {
          if !offset.isEmpty || offset.lowerBound != 0 {
            wrong.append("special token at \(offset)")
          }
          continue
        }
        if offset.isEmpty || offset.upperBound > (sequence == 0 ? length : pairLength)
          || offset.lowerBound < previousStart[sequence]
        {
          wrong.append("offset \(offset) out of place in sequence \(sequence)")
        }
        previousStart[sequence] = offset.lowerBound
      }
      if let mask = c.attentionMask, mask != encoding.attentionMask {
        wrong.append("attention mask: expected \(mask), actual \(encoding.attentionMask)")
      }
      if let mask = c.specialTokensMask, mask != encoding.specialTokensMask {
        wrong.append("special tokens mask: expected \(mask), actual \(encoding.specialTokensMask)")
      }
      if !c.slowFastAgree { disagreements += 1 }
      if !wrong.isEmpty {
        let pair = c.pair.map { " + \($0.debugDescription)" } ?? ""
        failures.append(
          "[\(c.config)/\(c.group)] \(c.text.debugDescription)\(pair) max_length=\(c.maxLength.map(String.init) ?? "none")\n  "
            + wrong.joined(separator: "\n  "))
      }
    }
    for failure in failures { print(failure) }
    print(
      "Tokenizer fixtures (transformers \(fixtures.header.transformers), tokenizers "
        + "\(fixtures.header.tokenizers)): \(fixtures.encode.count - failures.count) of "
        + "\(fixtures.encode.count) cases agree; \(disagreements) cases where HF's slow and fast "
        + "tokenizers disagree (the slow one is the reference).")
    #expect(failures.isEmpty, "\(failures.count) of \(fixtures.encode.count) cases differ")
  }

  /// Question-answering windows equal HF's fast tokenizer's overflowing encodings.
  @Test func slidingWindowsMatchHuggingFace() throws {
    let fixtures = try TokenizerFixtures.load()
    var failures: [String] = []
    for c in fixtures.windows {
      let tokenizer = try TokenizerFixtures.tokenizer(
        try #require(fixtures.header.configs[c.config]))
      let windows = try tokenizer.encodeWithWindows(
        question: c.question, context: c.context, maxLength: c.maxLength, stride: c.stride)
      let expected = c.windows.map {
        "\($0.inputIds) \($0.tokenTypeIds) \($0.sequenceIds) \($0.offsets)"
      }
      let actual = windows.map {
        "\($0.inputIDs) \($0.tokenTypeIDs) \($0.sequenceIDs) \($0.offsets.map { [$0.lowerBound, $0.upperBound] })"
      }
      if expected != actual {
        failures.append(
          "\(c.question.debugDescription) max_length=\(c.maxLength) stride=\(c.stride)\n  expected \(expected)\n  actual   \(actual)"
        )
      }
    }
    for failure in failures { print(failure) }
    #expect(failures.isEmpty, "\(failures.count) of \(fixtures.windows.count) window cases differ")
  }
}

// MARK: - Throughput (run on demand)

@Suite(
  .enabled(
    if: ProcessInfo.processInfo.environment["BERT_TOKENIZER_BENCH"] != nil
      && TokenizerFixtures.hasRealVocabulary,
    "Skipped: set BERT_TOKENIZER_BENCH=1 (and build in release) to measure throughput."))
struct TokenizerThroughputTests {
  /// Encodes 10,000 English sentences from the fixtures and reports tokens per second.
  @Test func encodeTenThousandSentences() throws {
    let fixtures = try TokenizerFixtures.load()
    let pool = fixtures.encode.filter { $0.group == "sentences" || $0.group == "pairs" }
      .flatMap { [$0.text] + ($0.pair.map { [$0] } ?? []) }
    let texts = (0..<10_000).map { pool[$0 % pool.count] }
    let tokenizer = try TokenizerFixtures.tokenizer(
      try #require(fixtures.header.configs["uncased"]))
    _ = tokenizer.encodeBatch(Array(texts.prefix(100)))
    let clock = ContinuousClock()
    func report(_ label: String, _ body: () -> Int) {
      var tokens = 0
      let elapsed = clock.measure { tokens = body() }
      let seconds =
        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
      print(
        "Tokenizer throughput (\(label)): \(texts.count) sentences, \(tokens) tokens in "
          + "\(String(format: "%.3f", seconds)) s: \(Int(Double(tokens) / seconds)) tokens/s, "
          + "\(Int(Double(texts.count) / seconds)) sentences/s")
    }
    report("encode, one thread") { texts.reduce(0) { $0 + tokenizer.encode($1).count } }
    report("encodeBatch, \(Compute.threadCount) threads") {
      tokenizer.encodeBatch(texts).reduce(0) { $0 + $1.count }
    }
  }
}
