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

  @OptionGroup var batching: BatchingOptions
  @OptionGroup var precisionOptions: PrecisionOptions

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
      try precisionOptions.apply(to: model.head, path: displayPath)
      try model.head.predict(
        PredictionInput(
          path: input, batchSize: batchSize, maxBatchTokens: batching.maxBatchTokens,
          tsvQuoting: dataOptions.tsvQuoting,
          pairsFromInput: model.pairsFromInput, lines: readInput(example:), report: reportRead,
          write: write))
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
}
