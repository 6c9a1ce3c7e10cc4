// `bert evaluate`: score a fine-tuned model on labelled data.

import ArgumentParser
import BERT
import Foundation

struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Score a fine-tuned model on labelled data; metrics as JSON on stdout.",
    discussion: """
      The task comes from the model's config.json: bert_swift_task (written by bert \
      finetune and bert demo), else the head that transformers saved in architectures \
      (BertForSequenceClassification: classification, or regression with one label or \
      problem_type regression; BertForTokenClassification: tagging; \
      BertForQuestionAnswering: qa), with pairs when the data has pair columns \
      (text_a/text_b, sentence1/sentence2, ...). --task is needed only for a base \
      checkpoint. The data file has the task's training format. \
      Metrics: accuracy, macro_f1 and mcc for classification; pearson, spearman and \
      mse for regression; token_accuracy (plus precision, recall and f1 of entities \
      for IOB2 tags) for tagging; exact_match and f1 (0-100) for qa. A gold label \
      the model lacks (not in its id2label) cannot be predicted: its tokens (tagging) \
      or examples count as errors, a warning names it, and the output lists it under \
      unseen_labels with the number of items.

      Examples:
        bert evaluate --model runs/sst --data sst/test.csv
        bert evaluate --model demo-output/tagging --data wsj-test.jsonl
        bert evaluate --model hf-squad-model --data squad/dev.json
      """)

  @OptionGroup var compute: ComputeOptions
  @OptionGroup var modelOptions: ModelOptions
  @OptionGroup var dataOptions: DataOptions

  @Option(
    help: ArgumentHelp("Labelled data in the task's format.", valueName: "file"),
    completion: .file())
  var data: String

  @Option(help: "The task, only for a model whose directory does not name it (a base BertModel).")
  var task: TaskName?

  @OptionGroup var batching: BatchingOptions

  @Option(help: "Sequences per forward pass.") var batchSize = 64

  func validate() throws {
    guard batchSize > 0 else { throw ValidationError("--batch-size must be positive.") }
  }

  func run() throws {
    try reportingErrors("evaluate") {
      try compute.apply()
      let directory = try modelOptions.directory()
      let displayPath = modelOptions.model ?? directory.path
      var model = try FineTunedModel(
        directory: directory, displayPath: displayPath, requested: task)
      let examples: TaskExamples
      let report: ReadReport
      if model.pairsFromInput, let pairTask = model.task.definition.pairKind {
        // The directory says classification or regression; the data says whether of pairs.
        do {
          (examples, report) = try TaskExamples.read(
            data, task: pairTask, requireLabels: true, option: "--data", model: displayPath,
            taskSource: model.taskSource, tsvQuoting: dataOptions.tsvQuoting)
          model = model.readingPairs(true)
        } catch  where lacksPairColumns(error) {
          (examples, report) = try TaskExamples.read(
            data, task: model.task, requireLabels: true, option: "--data", model: displayPath,
            taskSource: model.taskSource, tsvQuoting: dataOptions.tsvQuoting)
        }
      } else {
        (examples, report) = try TaskExamples.read(
          data, task: model.task, requireLabels: true, option: "--data", model: displayPath,
          taskSource: model.taskSource, tsvQuoting: dataOptions.tsvQuoting)
      }
      reportRead(report)
      let started = Date()
      let scores = try model.score(
        examples, source: data, batchSize: batchSize, maxBatchTokens: batching.maxBatchTokens)
      let seconds = Date().timeIntervalSince(started)
      var members: [(String, JSONOut)] = [
        ("task", .string(model.task.rawValue)),
        ("model", .string(displayPath)),
        ("data", .string(data)),
        ("examples", .int(scores.exampleCount)),
        ("primary_metric", .string(scores.primaryMetric)),
        ("metrics", .doubles(scores.metrics)),
        ("seconds", .double((seconds * 1000).rounded() / 1000)),
      ]
      if !scores.notes.isEmpty { members.append(("notes", .counts(scores.notes))) }
      if !scores.unseenLabels.isEmpty {
        members.append(("unseen_labels", .counts(scores.unseenLabels)))
        warnUnseenLabels(
          scores.unseenLabels, source: "--data \(data)", task: model.task,
          known: "the model's labels")
      }
      Console.out(JSONOut.object(members).pretty)
    }
  }
}
