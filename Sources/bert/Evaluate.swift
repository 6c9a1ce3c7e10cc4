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
        bert evaluate --task retrieval --queries judged.jsonl --index corpus.index

      --task retrieval scores a search instead: --queries FILE (JSON Lines \
      {"id","text","relevant":[ids]}, or TSV text<TAB>id<TAB>id...) against --index \
      FILE, or against --corpus FILE embedded on the fly (--bm25 and --hybrid use the \
      corpus too), and reports recall@1, @5, @10, @100, mrr@10 and ndcg@10.
      """)

  @OptionGroup var compute: ComputeOptions
  @OptionGroup var modelOptions: ModelOptions
  @OptionGroup var dataOptions: DataOptions

  @Option(
    help: ArgumentHelp("Labelled data in the task's format.", valueName: "file"),
    completion: .file())
  var data: String?

  @Option(
    help: ArgumentHelp(
      "The task, only for a model whose directory does not name it (a base BertModel), "
        + "or retrieval."))
  var task: TaskKind?

  @OptionGroup var retrieval: RetrievalEvaluationOptions

  @OptionGroup var batching: BatchingOptions
  @OptionGroup var precisionOptions: PrecisionOptions

  @Option(help: "Sequences per forward pass.") var batchSize = 64

  func validate() throws {
    guard batchSize > 0 else { throw ValidationError("--batch-size must be positive.") }
    if !searches && data == nil {
      throw ValidationError("Missing expected argument '--data <file>'.")
    }
  }

  /// Whether this evaluation scores a search (`--task retrieval`, or judged
  /// `--queries` without `--data`) rather than labelled data.
  private var searches: Bool {
    task == .retrieval || (task == nil && data == nil && retrieval.queries != nil)
  }

  /// Scores the examples, timed to the millisecond.
  private func timedScore(_ model: FineTunedModel, _ examples: TaskExamples) throws -> (
    report: EvaluationReport, seconds: Double
  ) {
    let started = Date()
    let report = try model.score(
      examples, source: data ?? "", batchSize: batchSize, maxBatchTokens: batching.maxBatchTokens)
    return (report, (Date().timeIntervalSince(started) * 1000).rounded() / 1000)
  }

  private func format(_ value: Double?) -> String {
    value.map { String(format: "%.4f", $0) } ?? "n/a"
  }

  func run() throws {
    try reportingErrors("evaluate") {
      try compute.apply()
      if searches {
        try retrieval.run(
          modelOptions: modelOptions, batchSize: batchSize, maxBatchTokens: batching.maxBatchTokens)
        return
      }
      let data = data ?? ""
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
      let stored = model.head.precision
      let precision = try Precision.resolving(
        precisionOptions.precision, stored: stored, path: displayPath)
      var scores = try timedScore(model, examples)
      var members: [(String, JSONOut)] = [
        ("task", .string(model.task.rawValue)),
        ("model", .string(displayPath)),
        ("data", .string(data)),
        ("examples", .int(scores.report.exampleCount)),
        ("primary_metric", .string(scores.report.primaryMetric)),
        ("precision", .string(precision.rawValue)),
      ]
      if precision != stored {
        // The same model and data as stored (fp32) first, then quantized in place.
        let reference = scores
        try model.head.convert(to: precision)
        scores = try timedScore(model, examples)
        var difference: [String: Double] = [:]
        for (key, value) in scores.report.metrics {
          if let base = reference.report.metrics[key] { difference[key] = value - base }
        }
        members += [
          ("metrics", .doubles(scores.report.metrics)),
          ("fp32_metrics", .doubles(reference.report.metrics)),
          ("difference", .doubles(difference)),
          ("seconds", .double(scores.seconds)),
          ("fp32_seconds", .double(reference.seconds)),
        ]
        let primary = scores.report.primaryMetric
        Console.err(
          "evaluate: \(primary) \(format(scores.report.metrics[primary])) at "
            + "\(precision.rawValue), \(format(reference.report.metrics[primary])) at "
            + "fp32 (difference \(format(difference[primary])))")
      } else {
        members += [
          ("metrics", .doubles(scores.report.metrics)), ("seconds", .double(scores.seconds)),
        ]
      }
      let scoresReport = scores.report
      if !scoresReport.notes.isEmpty { members.append(("notes", .counts(scoresReport.notes))) }
      if !scoresReport.unseenLabels.isEmpty {
        members.append(("unseen_labels", .counts(scoresReport.unseenLabels)))
        warnUnseenLabels(
          scoresReport.unseenLabels, source: "--data \(data)", task: model.task,
          known: "the model's labels")
      }
      Console.out(JSONOut.object(members).pretty)
    }
  }
}
