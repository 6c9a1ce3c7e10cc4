import BERT
import BERTAssets
import Foundation
import Testing

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite struct DemoDataTests {
  @Test func polarityIsStratifiedAndDeterministic() throws {
    // As the real file: BOM, CRLF, each quoted text ending in a line break.
    var csv = "\u{FEFF}"
    for i in 0..<10 { csv += "\"1\",\"good \(i) .\n\"\r\n" }
    for i in 0..<10 { csv += "\"-1\",\"bad \(i) .\n\"\r\n" }
    let split = try DemoData.polarity(bytes: bytes(csv), source: "p.csv", evalFraction: 0.2)
    // 20% of each class of 10: 2 positive and 2 negative for evaluation.
    #expect(split.train.count == 16 && split.eval.count == 4)
    #expect(split.eval.filter { $0.label == "positive" }.count == 2)
    #expect(split.details == ["positive": 10, "negative": 10])
    #expect(split.train.allSatisfy { !$0.text.hasSuffix("\n") && $0.text.hasSuffix(".") })
    let again = try DemoData.polarity(bytes: bytes(csv), source: "p.csv", evalFraction: 0.2)
    #expect(again.train == split.train && again.eval == split.eval)
    let evalTexts = Set(split.eval.map(\.text))
    #expect(split.train.allSatisfy { !evalTexts.contains($0.text) })
  }

  @Test func wsjSplitsSentencesAndLastSlash() throws {
    // Two sentences on line 1, one on line 2 without a final ".", a word holding "/".
    let text = """
      Pierre/NNP Vinken/NNP ./. He/PRP left/VBD ./.
      1\\/2/CD and/CC/x/NN
      """
    let split = try DemoData.wsjPOS(bytes: bytes(text), source: "wsj.txt", evalFraction: 0.34)
    // 3 sentences; round(3 × 0.34) = 1 for evaluation, in file order.
    #expect(
      split.train == [
        TaggedSentence(tokens: ["Pierre", "Vinken", "."], tags: ["NNP", "NNP", "."], line: 1),
        TaggedSentence(tokens: ["He", "left", "."], tags: ["PRP", "VBD", "."], line: 1),
      ])
    #expect(
      split.eval == [
        TaggedSentence(tokens: ["1\\/2", "and/CC/x"], tags: ["CD", "NN"], line: 2)
      ])
    #expect(split.details["tokens"] == 8)
  }

  @Test func sentenceSplitter() {
    let text =
      "Mr. Smith went to St. Louis in 1990. He met J. R. Ewing! Was it \"fun?\" Yes, e.g. a lot."
    let spans = DemoData.splitSentences(text)
    #expect(
      spans.map(\.text) == [
        "Mr. Smith went to St. Louis in 1990.", "He met J. R. Ewing!", "Was it \"fun?\"",
        "Yes, e.g. a lot.",
      ])
    // The ranges tile the text, in Unicode scalars.
    #expect(spans.first?.range.lowerBound == 0)
    #expect(spans.last?.range.upperBound == text.unicodeScalars.count)
    for (a, b) in zip(spans, spans.dropFirst()) {
      #expect(a.range.upperBound == b.range.lowerBound)
    }
  }

  /// Three articles; each paragraph has two or three sentences.
  private func squadSample() throws -> ReadResult<QAExample> {
    func article(_ title: String, _ context: String, _ answers: [(String, String)]) -> [String: Any]
    {
      let qas = answers.enumerated().map { index, qa in
        let start = Array(context.unicodeScalars).firstRange(of: Array(qa.1.unicodeScalars))!
          .lowerBound
        return [
          "id": "\(title)\(index)", "question": qa.0,
          "answers": [["text": qa.1, "answer_start": start]],
        ] as [String: Any]
      }
      return ["title": title, "paragraphs": [["context": context, "qas": qas]]]
    }
    let data: [[String: Any]] = [
      article(
        "A", "Cats sleep. Dogs bark loudly. Birds sing.",
        [("Who barks?", "Dogs"), ("Who sings?", "Birds")]),
      article("B", "Rome is old. Paris is big.", [("What is big?", "Paris")]),
      article("C", "Only one sentence here.", [("How many?", "one")]),
    ]
    let json = try JSONSerialization.data(withJSONObject: ["version": "1.1", "data": data])
    return try SQuADReader.read(bytes: [UInt8](json), source: "s.json")
  }

  @Test func squadSplitsByArticle() throws {
    // 3 articles × 0.67 → 2 for training (A, B), 1 for evaluation (C).
    let split = DemoData.squad(try squadSample(), trainArticleFraction: 0.67)
    #expect(split.train.map(\.id) == ["A0", "A1", "B0"])
    #expect(split.eval.map(\.id) == ["C0"])
    #expect(split.details == ["train articles": 2, "eval articles": 1])
  }

  /// Worked by hand from the sample: A and B train, C is held out; the
  /// corpus is all three paragraphs, named by title and position.
  @Test func retrievalSplitsQuestionsByArticleAndKeepsEveryParagraph() throws {
    let split = DemoData.retrieval(try squadSample(), trainArticleFraction: 0.67)
    #expect(
      split.train == [
        .init(query: "Who barks?", positive: "Cats sleep. Dogs bark loudly. Birds sing."),
        .init(query: "Who sings?", positive: "Cats sleep. Dogs bark loudly. Birds sing."),
        .init(query: "What is big?", positive: "Rome is old. Paris is big."),
      ])
    #expect(
      split.queries == [
        .init(query: .init(id: "C0", text: "How many?", line: 0), relevant: ["C/0"])
      ])
    #expect(split.corpus.map(\.id) == ["A/0", "B/0", "C/0"])
    #expect(split.corpus.map(\.text).last == "Only one sentence here.")
  }

  @Test func qnliPairsAreBalancedAndHoldTheAnswer() throws {
    let split = DemoData.qnli(try squadSample(), trainArticleFraction: 0.67, seed: 3)
    // A gives 2 questions × 2 pairs, B 1 × 2; C has one sentence: skipped and counted.
    #expect(split.train.count == 6 && split.eval.isEmpty)
    #expect(split.report.skipped == ["question whose passage has one sentence": 1])
    let positives = split.train.filter { $0.label == "entailment" }
    #expect(positives.map(\.pair) == ["Dogs bark loudly.", "Birds sing.", "Paris is big."])
    for (positive, negative) in zip(
      split.train.indices.filter { $0 % 2 == 0 }, split.train.indices.filter { $0 % 2 == 1 })
    {
      #expect(split.train[negative].label == "not_entailment")
      #expect(split.train[negative].text == split.train[positive].text)
      #expect(split.train[negative].pair != split.train[positive].pair)
    }
    #expect(
      split.train == DemoData.qnli(try squadSample(), trainArticleFraction: 0.67, seed: 3).train)
  }

  @Test func leePairsScaledToFive() throws {
    // 3 documents (the middle one with a Latin-1 byte), an upper-triangular matrix.
    let corpus = bytes("first doc\n") + [0x70, 0xA3, 0x35, 0x0A] + bytes("third doc\n")
    let matrix = "1\t0.5\t0.2\n0\t1\t0.9\n0\t0\t1\n"
    let split = try DemoData.lee(
      corpus: corpus, corpusSource: "lee.cor", similarities: bytes(matrix),
      similaritiesSource: "sim.txt", evalFraction: 0.34)
    // Pairs i < j: (0,1) 0.5·5 = 2.5, (0,2) 0.2·5 = 1, (1,2) 0.9·5 = 4.5; round(3 × 0.34) = 1 for evaluation.
    #expect(split.train.count == 2 && split.eval.count == 1)
    let all = (split.train + split.eval).sorted { $0.target! < $1.target! }
    #expect(all.map(\.target) == [1, 2.5, 4.5])
    #expect(all[2].text == "p£5" && all[2].pair == "third doc")
    #expect(split.report.repaired == ["line decoded as Latin-1": 1])
    #expect(throws: DatasetError.self) {
      try DemoData.lee(
        corpus: corpus, corpusSource: "lee.cor", similarities: bytes("1 0\n0 1\n"),
        similaritiesSource: "sim.txt")
    }
  }
}
