// `bert tokenize`: texts from stdin to token ids, segment ids and offsets.

import ArgumentParser
import BERT
import Foundation

struct Tokenize: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Tokenize texts from stdin, one per line, into JSON lines.",
    discussion: """
      Reads one text per line from stdin (with --pair, two texts split by one TAB) \
      and writes one JSON object per line, in input order:
        {"input_ids":[...],"token_type_ids":[...],"offsets":[[s,e],...]}
      Offsets are half-open ranges of Unicode scalars in the line's own text (the \
      same numbers as Python string indices); [CLS] and [SEP] get [0,0]. Inputs \
      longer than --max-length (default: the model's limit) are truncated, the \
      longer text of a pair first.

      Examples:
        echo "Hello, world!" | bert tokenize
        printf 'What is BERT?\\tBERT is a transformer encoder.\\n' | bert tokenize --pair
        bert tokenize --model runs/sst --max-length 64 < texts.txt > tokens.jsonl
      """)

  @OptionGroup var compute: ComputeOptions
  @OptionGroup var modelOptions: ModelOptions

  @Flag(help: "Each line holds two texts separated by one TAB.")
  var pair = false

  @Option(
    help: ArgumentHelp("Truncate to this many tokens, [CLS] and [SEP] included.", valueName: "n"))
  var maxLength: Int?

  func run() throws {
    try reportingErrors("tokenize") {
      try compute.apply()
      let directory = try ModelCheck.transformerDirectory(modelOptions.directory())
      let tokenizer = try BertTokenizer(directory: directory)
      let config = try BertConfig(contentsOf: directory.appendingPathComponent("config.json"))
      let limit = try ModelCheck.maxLength(
        maxLength, fallback: nil, config: config, tokenizer: tokenizer, minimum: pair ? 4 : 3,
        what: pair ? "a pair" : "a single text")
      let input = try InputLines.standardInput(
        example: pair
          ? "printf 'question\\tpassage\\n' | bert tokenize --pair"
          : "echo 'some text' | bert tokenize")
      let (texts, seconds) = pair ? try input.pairs() : (input.lines, [])
      let chunk = 4096
      for start in stride(from: 0, to: texts.count, by: chunk) {
        let range = start..<min(texts.count, start + chunk)
        let encodings = tokenizer.encodeBatch(
          Array(texts[range]), pairs: pair ? Array(seconds[range]) : nil, maxLength: limit)
        var text = ""
        for encoding in encodings {
          text +=
            JSONOut.object([
              ("input_ids", .ints(encoding.inputIDs)),
              ("token_type_ids", .ints(encoding.tokenTypeIDs)),
              ("offsets", .array(encoding.offsets.map { .ints([$0.lowerBound, $0.upperBound]) })),
            ]).compact
          text += "\n"
        }
        FileHandle.standardOutput.write(Data(text.utf8))
      }
    }
  }
}
