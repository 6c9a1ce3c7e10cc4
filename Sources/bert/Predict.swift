// `bert predict`: run a fine-tuned model on new inputs, one JSON object per line.

import ArgumentParser
import BERT
import Foundation

struct Predict: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Predict with a fine-tuned model; one JSON object per input, in order.",
    discussion: """
      The task comes from the model's config.json: bert_swift_task, else the head \
      transformers saved in architectures (with num_labels and problem_type); there, \
      pairs are recognised from the input (a TAB in a line, or text_a/text_b, \
      sentence1/sentence2, ... columns or keys). Input is --input FILE, or stdin:
        classification, regression  one text per line (pairs: two texts split by one TAB),
                                    or JSONL {"text"} / {"text_a","text_b"}; a file may
                                    also be CSV or TSV with a header
        tagging                     one sentence per line, tokens split by white space,
                                    or JSONL {"tokens":[...]}; a file may also be CoNLL
        qa                          JSONL {"id","question","context"} (id optional), or a
                                    SQuAD v1.1 JSON file
      stdin is read as JSONL when its first non-blank line starts with "{".

      Output, one line per input:
        classification  {"label":"positive","probabilities":{"negative":0.03,"positive":0.97}}
        regression      {"score":3.71}
        tagging         {"tokens":["The","cat"],"tags":["DT","NN"]}
        qa              {"id":"q1","answer":"Denver Broncos","start":177,"end":191,"score":0.93}
      QA start and end are the answer's half-open range of Unicode scalars in the \
      context (Python string indices); score is the answer's probability among the \
      20 best spans.

      Examples:
        echo "a gorgeous, witty, seductive movie" | bert predict --model runs/sst
        printf 'Who won?\\tThe Broncos won the game.\\n' | bert predict --model runs/qnli
        echo '{"question":"Who won?","context":"The Broncos won the game."}' | bert predict --model runs/qa
        bert predict --model runs/pos --input sentences.txt > tags.jsonl
      """)

  @OptionGroup var compute: ComputeOptions
  @OptionGroup var modelOptions: ModelOptions
  @OptionGroup var dataOptions: DataOptions

  @Option(
    help: ArgumentHelp("The inputs (default: stdin).", valueName: "file"), completion: .file())
  var input: String?

  @Option(help: "The task, only for a model whose directory does not name it (a base BertModel).")
  var task: TaskName?

  @Option(help: "Sequences per forward pass.") var batchSize = 32

  func validate() throws {
    guard batchSize > 0 else { throw ValidationError("--batch-size must be positive.") }
  }

  func run() throws {
    try reportingErrors("predict") {
      try compute.apply()
      let directory = try modelOptions.directory()
      let displayPath = modelOptions.model ?? directory.path
      let model = try FineTunedModel(
        directory: directory, displayPath: displayPath, requested: task)
      switch model.head {
      case .text(let task): try predictTexts(task, model: model)
      case .tagging(let task): try predictTags(task)
      case .questionAnswering(let task): try predictAnswers(task)
      }
    }
  }

  private func readInput(example: String) throws -> InputLines {
    if let input { return try InputLines.file(input) }
    return try InputLines.standardInput(example: example)
  }

  private func write(_ lines: [String]) {
    guard !lines.isEmpty else { return }
    FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
  }

  private func predictTexts(_ task: TextClassificationTask, model: FineTunedModel) throws {
    // A directory saved by transformers says classification or regression, not
    // whether of pairs: the input decides (pair columns or keys, or a TAB in a line).
    let detect = model.pairsFromInput
    let kind = task.kind
    var pairs = kind.isPair
    let examples: [TextExample]
    /// Reads as pairs first when the input decides, then as single texts.
    func read(_ reader: (TextTaskKind) throws -> [TextExample]) throws -> [TextExample] {
      guard detect else { return try reader(kind) }
      do {
        let examples = try reader(task.readingPairs(true).kind)
        pairs = true
        return examples
      } catch  where lacksPairColumns(error) {
        return try reader(kind)
      }
    }
    let ext = input.map { URL(fileURLWithPath: $0).pathExtension.lowercased() } ?? ""
    if let input, TextFileFormat.extensions[ext] != nil {
      guard FileManager.default.fileExists(atPath: input) else {
        throw CLIError("the input file \(input) does not exist")
      }
      examples = try read { kind in
        let result = try TaskExamples.readTexts(
          URL(fileURLWithPath: input), task: kind, requireLabels: false,
          tsvQuoting: dataOptions.tsvQuoting)
        reportRead(result.report)
        return result.examples
      }
    } else {
      let lines = try readInput(
        example: kind.isPair
          ? "printf 'first\\tsecond\\n' | bert predict" : "echo 'some text' | bert predict")
      if lines.looksLikeJSONLines {
        examples = try read { kind in
          try TextExampleReader.read(
            bytes: lines.bytes, format: .jsonLines, source: lines.source, task: kind,
            requireLabels: false
          ).examples
        }
      } else {
        if detect { pairs = lines.lines.contains { $0.contains("\t") } }
        if pairs {
          let (first, second) = try lines.pairs()
          examples = zip(first, second).enumerated().map {
            TextExample(text: $1.0, pair: $1.1, line: $0 + 1)
          }
        } else {
          examples = lines.lines.enumerated().map { TextExample(text: $1, line: $0 + 1) }
        }
      }
    }
    let task = task.readingPairs(pairs)
    for range in chunks(examples.count, 1024) {
      let predictions = task.predict(Array(examples[range]), batchSize: batchSize)
      write(
        predictions.map { prediction in
          if let label = prediction.label {
            let probabilities = (prediction.probabilities ?? [:])
              .map { ($0.key, $0.value) }
              .sorted { $0.0 < $1.0 }
            return JSONOut.object([
              ("label", .string(label)),
              ("probabilities", .object(probabilities.map { ($0.0, .double(Self.round($0.1))) })),
            ]).compact
          }
          return JSONOut.object([("score", .float(prediction.score ?? .nan))]).compact
        })
    }
  }

  private func predictTags(_ task: TaggingTask) throws {
    let sentences: [[String]]
    if let input, !["txt", "text"].contains(URL(fileURLWithPath: input).pathExtension.lowercased())
    {
      let url = URL(fileURLWithPath: input)
      guard FileManager.default.fileExists(atPath: url.path) else {
        throw CLIError("the input file \(input) does not exist")
      }
      sentences = try TaggedSentenceReader.read(contentsOf: url, requireTags: false)
        .examples.map(\.tokens)
    } else {
      let lines = try readInput(example: "echo 'The cat sat .' | bert predict")
      if lines.looksLikeJSONLines {
        sentences = try TaggedSentenceReader.readJSONLines(
          bytes: lines.bytes, source: lines.source, requireTags: false
        ).examples.map(\.tokens)
      } else {
        sentences = lines.lines.map { line in
          line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        }
      }
    }
    for range in chunks(sentences.count, 1024) {
      let slice = Array(sentences[range])
      let (tags, _) = task.predict(slice, batchSize: batchSize)
      write(
        zip(slice, tags).map { tokens, tags in
          JSONOut.object([("tokens", .strings(tokens)), ("tags", .strings(tags))]).compact
        })
    }
  }

  private func predictAnswers(_ task: QuestionAnsweringTask) throws {
    var examples: [QAExample]
    if let input, URL(fileURLWithPath: input).pathExtension.lowercased() == "json" {
      guard FileManager.default.fileExists(atPath: input) else {
        throw CLIError("the input file \(input) does not exist")
      }
      examples = try SQuADReader.read(contentsOf: URL(fileURLWithPath: input)).examples
    } else {
      let lines = try readInput(
        example: "echo '{\"question\":\"Who?\",\"context\":\"Ann did.\"}' | bert predict")
      examples = []
      for (index, line) in lines.lines.enumerated() where !line.allSatisfy(\.isWhitespace) {
        let place = "\(lines.source), line \(index + 1)"
        guard let data = line.data(using: .utf8),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
          throw CLIError(
            "\(place): expected a JSON object {\"question\": ..., \"context\": ...}")
        }
        guard let question = object["question"] as? String,
          let context = object["context"] as? String
        else {
          throw CLIError(
            "\(place): the object needs the string fields \"question\" and \"context\"")
        }
        let id =
          (object["id"] as? String) ?? (object["id"] as? Int).map(String.init) ?? "\(index + 1)"
        examples.append(
          QAExample(id: id, title: "", question: question, context: context, answers: []))
      }
      guard !examples.isEmpty else { throw CLIError("\(lines.source) holds no questions") }
    }
    for range in chunks(examples.count, 256) {
      let slice = Array(examples[range])
      let answers = try task.predict(slice, batchSize: batchSize, nBest: 20)
      write(
        zip(slice, answers).map { example, nBest in
          let best = nBest.first ?? .empty
          return JSONOut.object([
            ("id", .string(example.id)),
            ("answer", .string(best.text)),
            ("start", best.scalarRange.map { .int($0.lowerBound) } ?? .null),
            ("end", best.scalarRange.map { .int($0.upperBound) } ?? .null),
            ("score", .double(Self.round(Double(best.probability)))),
          ]).compact
        })
    }
  }

  private func chunks(_ count: Int, _ size: Int) -> [Range<Int>] {
    stride(from: 0, to: count, by: size).map { $0..<min(count, $0 + size) }
  }

  /// Six significant decimals are plenty for a probability.
  private static func round(_ value: Double) -> Double { (value * 1e6).rounded() / 1e6 }
}
