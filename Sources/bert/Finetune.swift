// `bert finetune`: fine-tune a model for one task and save it as a Hugging Face
// model directory.

import ArgumentParser
import BERT
import Foundation

/// The hyper-parameters of a run, shared by `finetune` and `demo`.
struct HyperParameters {
  var epochs = 3
  var batchSize = 32
  var learningRate: Float = 5e-5
  var warmupRatio: Float = 0.1
  var weightDecay: Float = 0.01
  var maxGradientNorm: Float = 1
  var gradientAccumulation = 1
  var maxLength = TaskDefaults.maxLength
  var docStride = TaskDefaults.docStride
  var maxAnswerLength = TaskDefaults.maxAnswerLength
  var seed: UInt64 = 42
  var maxSteps: Int?
  var lengthBucketing = false
  var labelAllTokens = false
  /// Text tasks: the layers before the classifier; nil keeps the model's own.
  var classifierHead: SequenceClassifierHead?
  /// Retrieval: add the positive→query direction to the ranking loss.
  var symmetricLoss = false
  @Option(
    help: ArgumentHelp(
      "retrieval: before training, mine this many hard negatives per pair with the starting "
        + "model among the data's passages (kept in --output as \(HardNegativeMining.fileName)).",
      valueName: "k"))
  var mineHardNegatives: Int?
  @Option(
    help: ArgumentHelp(
      "retrieval: a mined negative scores at most the positive's score minus this, so that "
        + "unlabelled positives are left out.", valueName: "margin"))
  var negativeMargin: Float = 0.05

  var trainingOptions: TrainingOptions {
    var options = TrainingOptions()
    options.epochs = epochs
    options.batchSize = batchSize
    options.learningRate = learningRate
    options.warmupRatio = warmupRatio
    options.weightDecay = weightDecay
    options.maxGradientNorm = maxGradientNorm
    options.gradientAccumulation = gradientAccumulation
    options.maxSteps = maxSteps
    options.seed = seed
    options.lengthBucketing = lengthBucketing
    return options
  }
}

/// Builds the library task for `name` on the model in `directory`.
///
/// - Parameters:
///   - labels: a fixed label set (a fine-tuned model's `id2label`); nil takes
///     the sorted labels of `train`.
func makeTask(
  _ name: TaskName, directory: URL, train: TaskExamples, evaluation: TaskExamples?,
  settings: HyperParameters, trainSource: String, evaluationSource: String,
  labels: LabelSet? = nil
) throws -> any FineTuningTask {
  try name.definition.makeTask(
    directory: directory, train: train, evaluation: evaluation,
    setup: FineTuningSetup(
      maxLength: settings.maxLength, docStride: settings.docStride,
      maxAnswerLength: settings.maxAnswerLength, labelAllTokens: settings.labelAllTokens,
      classifierHead: settings.classifierHead, labels: labels, seed: settings.seed,
      symmetricLoss: settings.symmetricLoss, trainSource: trainSource,
      evaluationSource: evaluationSource))
}

/// The label set that a model directory fixes for `task`: the `id2label` of a
/// head already fine-tuned for it (by this package, or by transformers with
/// label names of its own rather than the placeholders `LABEL_0`, `LABEL_1`…);
/// nil when the directory holds no such head, and for regression and qa.
func fixedLabels(_ config: BertConfig, directory: URL, saved: TaskSettings?, task: TaskName)
  throws -> LabelSet?
{
  guard task.definition.hasLabels,
    config.architectures?.first == task.definition.architecture,
    let map = config.idToLabel
  else { return nil }
  let placeholders = map.allSatisfy { $0.value == "LABEL_\($0.key)" }
  guard saved?.task == task.rawValue || !placeholders else { return nil }
  return try FineTunedTask.labelSet(config, path: directory.path)
}

struct Finetune: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Fine-tune a model for a task and save it as a Hugging Face model directory.",
    discussion: """
      Trains a new head (and the whole encoder) with AdamW, linear warm-up and decay, \
      and gradient clipping. After every epoch it scores --dev, if given, and keeps \
      the best epoch's model in --output: config.json (with the task under \
      bert_swift_task), model.safetensors, vocab.txt and tokenizer_config.json, which \
      transformers' AutoModelFor... classes load. Beside it: metrics.json, \
      training_log.jsonl (one line per update) and checkpoint/ for resuming.

      Labels come from the training data, or from --model's id2label when it is \
      already fine-tuned for the task; a training label outside that set is an error. \
      A --dev label the model lacks cannot be predicted: its tokens (tagging) or \
      examples count as errors, a warning names it, and metrics.json lists it under \
      unseenLabels with the number of items.

      Ctrl-C stops at the next update with a checkpoint; the same command then resumes \
      from --output (a second Ctrl-C stops at once, keeping the last checkpoint).

      Data formats:
        classification, regression         CSV, TSV or JSONL with text, label
        pair-classification, pair-regression  CSV, TSV or JSONL with text_a, text_b, label
                                            (aliases: sentence, sentence1/sentence2,
                                            premise/hypothesis, question/sentence)
        tagging                            CoNLL (token ... tag per line, blank line between
                                            sentences) or JSONL {"tokens":[...],"tags":[...]}
        qa                                 SQuAD v1.1 JSON
      TSV files may be quoted as Python's csv module and pandas write them, or not \
      at all, as GLUE's are: --tsv-quoting auto (the default) tells them apart per \
      file, none and csv insist on one.

      Examples:
        bert finetune --task classification --train sst/train.csv --dev sst/dev.csv \\
          --output runs/sst --epochs 3 --batch-size 32 --learning-rate 5e-5
        bert finetune --task pair-regression --train sts/train.tsv --dev sts/dev.tsv --output runs/sts
        bert finetune --task tagging --train conll/train.txt --dev conll/dev.txt --output runs/ner
        bert finetune --task qa --train squad/train.json --dev squad/dev.json --output runs/qa \\
          --max-length 384 --doc-stride 128 --batch-size 16
      """)

  @OptionGroup var compute: ComputeOptions
  @OptionGroup var modelOptions: ModelOptions
  @OptionGroup var dataOptions: DataOptions

  @Option(
    help: ArgumentHelp(
      "The task: \(TaskKind.names.dropLast().joined(separator: ", ")) or "
        + "\(TaskKind.names.last ?? "").")
  )
  var task: TaskName

  @Option(help: ArgumentHelp("The training data.", valueName: "file"), completion: .file())
  var train: String

  @Option(
    help: ArgumentHelp("Held-out data, scored after every epoch.", valueName: "file"),
    completion: .file())
  var dev: String?

  @Option(
    help: ArgumentHelp("Where to write the model, metrics and checkpoint.", valueName: "dir"),
    completion: .directory)
  var output: String

  @Option(help: "Passes over the training data.") var epochs = 3
  @Option(help: "Sequences (QA: windows) per forward pass.") var batchSize = 32
  @Option(help: "Peak learning rate, after warm-up.") var learningRate: Float = 5e-5
  @Option(help: "Warm-up as a fraction of all updates.") var warmupRatio: Float = 0.1
  @Option(help: "AdamW's decoupled weight decay (none on biases and LayerNorm).") var weightDecay:
    Float = 0.01
  @Option(help: "Clip the global gradient norm to this; 0 turns clipping off.") var maxGradNorm:
    Float = 1
  @Option(help: "Forward passes per update.") var gradientAccumulation = 1
  @Option(
    help: ArgumentHelp(
      "Tokens per sequence, special tokens included (default: \(TaskDefaults.maxLength); "
        + "qa: \(TaskDefaults.qaMaxLength))."))
  var maxLength: Int?
  @Option(
    help: ArgumentHelp(
      "qa: context tokens shared by consecutive windows (default: \(TaskDefaults.docStride), "
        + "at most half the max length)."))
  var docStride: Int?
  @Option(help: "qa: the longest answer, in tokens.") var maxAnswerLength = TaskDefaults
    .maxAnswerLength
  @Option(help: "Seeds shuffling, dropout and the new head.") var seed: UInt64 = 42
  @Option(help: "Stop after this many updates.") var maxSteps: Int?
  @Flag(help: "Batch sequences of similar length together (less padding, faster).")
  var lengthBucketing = false
  @Flag(help: "tagging: label every sub-token of a word, not only the first.") var labelAllTokens =
    false
  @Option(
    help: ArgumentHelp(
      "Text tasks: 'pooler' (Hugging Face's BertForSequenceClassification: pooler, dropout, "
        + "classifier) or 'cls-mlp' (d2l's: a new hidden layer with ReLU on the [CLS] state, "
        + "dropout, classifier; this package alone reads it back). Default: pooler.",
      valueName: "head"))
  var classifierHead: SequenceClassifierHead?
  @Flag(
    help: ArgumentHelp(
      "retrieval: also rank each positive against the batch's queries and average both losses "
        + "(sentence-transformers' MultipleNegativesSymmetricRankingLoss)."))
  var symmetricLoss = false
  @Option(
    help: ArgumentHelp(
      "retrieval: before training, mine this many hard negatives per pair with the starting "
        + "model among the data's passages (kept in --output as \(HardNegativeMining.fileName)).",
      valueName: "k"))
  var mineHardNegatives: Int?
  @Option(
    help: ArgumentHelp(
      "retrieval: a mined negative scores at most the positive's score minus this, so that "
        + "unlabelled positives are left out.", valueName: "margin"))
  var negativeMargin: Float = 0.05

  func validate() throws {
    let checks: [(Bool, String)] = [
      (epochs >= 1, "--epochs must be at least 1"),
      (batchSize >= 1, "--batch-size must be at least 1"),
      (learningRate > 0 && learningRate.isFinite, "--learning-rate must be positive"),
      (warmupRatio >= 0 && warmupRatio <= 1, "--warmup-ratio must be between 0 and 1"),
      (weightDecay >= 0, "--weight-decay must not be negative"),
      (maxGradNorm >= 0, "--max-grad-norm must not be negative (0 turns clipping off)"),
      (gradientAccumulation >= 1, "--gradient-accumulation must be at least 1"),
      (maxSteps.map { $0 >= 1 } ?? true, "--max-steps must be at least 1"),
      ((docStride ?? 1) >= 1, "--doc-stride must be at least 1"),
      (
        classifierHead == nil || task.definition.takesClassifierHead,
        "--classifier-head applies to the classification and regression tasks"
      ),
      (maxAnswerLength >= 1, "--max-answer-length must be at least 1"),
      (!symmetricLoss || task == .retrieval, "--symmetric-loss applies to the retrieval task"),
      (
        mineHardNegatives == nil || task == .retrieval,
        "--mine-hard-negatives applies to the retrieval task"
      ),
      ((mineHardNegatives ?? 1) >= 1, "--mine-hard-negatives must be at least 1"),
      (negativeMargin.isFinite, "--negative-margin must be a number"),
    ]
    for (ok, message) in checks where !ok { throw ValidationError(message + ".") }
  }

  func run() throws {
    try reportingErrors("finetune") {
      let job = try Job.join()
      try compute.apply()
      try Job.checkAgreement(files: [train] + (dev.map { [$0] } ?? []))
      let directory = try modelOptions.directory()
      let modelPath = modelOptions.model ?? directory.path
      let files = try ModelCheck.transformerDirectory(directory)
      let config = try BertConfig(contentsOf: files.appendingPathComponent("config.json"))
      if config.quantization != nil {
        throw CLIError(
          "--model \(modelPath) is an int8 directory (written by bert quantize; its config.json "
            + "has quantization_config), which is for inference only; fine-tune the float32 "
            + "model it came from, then quantize the result")
      }
      let tokenizer = try BertTokenizer(directory: files)
      let saved = try? TaskSettings.read(directory: directory)
      if let saved, saved.task != task.rawValue {
        throw CLIError(
          "\(modelPath) is already fine-tuned for \(saved.task); fine-tune \(task.rawValue) from "
            + "a base checkpoint (such as the default all-MiniLM-L6-v2)")
      }
      var settings = HyperParameters(
        epochs: epochs, batchSize: batchSize, learningRate: learningRate,
        warmupRatio: warmupRatio, weightDecay: weightDecay, maxGradientNorm: maxGradNorm,
        gradientAccumulation: gradientAccumulation,
        maxAnswerLength: maxAnswerLength, seed: seed, maxSteps: maxSteps,
        lengthBucketing: lengthBucketing, labelAllTokens: labelAllTokens,
        classifierHead: classifierHead, symmetricLoss: symmetricLoss)
      settings.maxLength = try ModelCheck.maxLength(
        maxLength, fallback: task.definition.defaultMaxLength, config: config,
        tokenizer: tokenizer, minimum: task.definition.minimumLength,
        what: task.definition.inputDescription)
      settings.docStride = docStride ?? TaskDefaults.docStride(maxLength: settings.maxLength)
      if task.definition.usesDocStride, let docStride, docStride >= settings.maxLength {
        throw CLIError(
          "--doc-stride \(docStride) must be below --max-length \(settings.maxLength): "
            + "consecutive windows share doc-stride tokens")
      }
      let outputURL = try ModelCheck.writableDirectory(output, option: "--output")
      if outputURL.standardizedFileURL.path == directory.standardizedFileURL.path {
        throw CLIError(
          "--output must not be the model directory \(modelPath): it would overwrite it")
      }

      var (trainExamples, trainReport) = try TaskExamples.read(
        train, task: task, requireLabels: true, option: "--train",
        tsvQuoting: dataOptions.tsvQuoting)
      reportRead(trainReport)
      if let mineHardNegatives {
        trainExamples = .other(
          try HardNegativeMining.pairs(
            trainExamples.retrievalPairs,
            miner: HardNegativeMiner(
              count: mineHardNegatives, margin: negativeMargin),
            directory: directory, maxLength: settings.maxLength, batchSize: batchSize,
            output: outputURL))
      }
      var devExamples: TaskExamples?
      if let dev {
        let (examples, report) = try TaskExamples.read(
          dev, task: task, requireLabels: true, option: "--dev",
          tsvQuoting: dataOptions.tsvQuoting)
        reportRead(report)
        devExamples = examples
      }
      Console.err(
        "fine-tuning \(task.rawValue) on \(trainExamples.count) examples"
          + (devExamples.map { ", scoring \($0.count) after each epoch" } ?? "")
          + "; \(Compute.summary)"
          + (job.size > 1
            ? "; \(job.size) ranks, each with \(batchSize / job.size)-\((batchSize + job.size - 1) / job.size) of every batch"
            : ""))
      let labels = try fixedLabels(config, directory: directory, saved: saved, task: task)
      if let labels {
        Console.err(
          "the labels are fixed by \(modelPath) (id2label in config.json): "
            + labels.labels.map { "\"\($0)\"" }.joined(separator: ", "))
      }
      let fineTuningTask: any FineTuningTask
      do {
        fineTuningTask = try makeTask(
          task, directory: directory, train: trainExamples, evaluation: devExamples,
          settings: settings, trainSource: train, evaluationSource: dev ?? "dev", labels: labels)
      } catch DatasetError.unknownLabel(let label, let file, let line, let known)
        where labels != nil && file == train
      {
        throw CLIError(
          "\(file), line \(line): the label \"\(label)\" is not one of the labels of \(modelPath) "
            + "(id2label in config.json: \(known.map { "\"\($0)\"" }.joined(separator: ", "))), "
            + "which its classifier predicts; fine-tune from a base checkpoint to train "
            + "another label set")
      }
      if let dev {
        warnUnseenLabels(
          fineTuningTask.evaluationUnseenLabels, source: "--dev \(dev)", task: task,
          known: labels == nil ? "the training data" : "the model's labels")
      }
      if let qa = fineTuningTask as? QuestionAnsweringTask, qa.examplesWithoutWindow > 0 {
        Console.err(
          "note: \(qa.examplesWithoutWindow) training questions have no window that holds "
            + "their whole answer and are left out")
      }
      if let position = TrainingRun.savedPosition(in: outputURL) {
        Console.err(
          "resuming from \(outputURL.appendingPathComponent("checkpoint").path): epoch "
            + "\(position.epoch + 1), step \(position.step) (remove that folder to start afresh)")
      }
      let (result, examplesPerSecond) = try TrainingRun.fit(
        fineTuningTask, options: settings.trainingOptions, output: outputURL,
        resumeHint: "Run the same command again to resume from it.", communicator: job)
      printSummary(
        result, examplesPerSecond: examplesPerSecond, task: fineTuningTask, output: outputURL)
    }
  }

  private func printSummary(
    _ result: TrainingResult, examplesPerSecond: Double, task: any FineTuningTask, output: URL
  ) {
    var table = TextTable(header: ["metric", "value"], rightAligned: [1])
    table.append(["training examples", "\(task.trainingExampleCount)"])
    table.append(["updates", "\(result.steps)"])
    table.append(["training time", Format.duration(result.trainingSeconds)])
    table.append(["examples/s", String(format: "%.1f", examplesPerSecond)])
    for (epoch, loss) in result.epochLosses.enumerated() {
      table.append(["epoch \(epoch + 1) loss", String(format: "%.4f", loss)])
    }
    if let best = result.best {
      for (name, value) in best.metrics.sorted(by: { $0.key < $1.key }) {
        table.append(["\(name) (epoch \(result.bestEpoch ?? 0))", Format.metric(name, value)])
      }
    }
    Console.err("\n" + table.rendered + "\nsaved to \(output.path)")
    var members: [(String, JSONOut)] = [
      ("task", .string(self.task.rawValue)),
      ("output", .string(output.path)),
      ("train_examples", .int(task.trainingExampleCount)),
      ("steps", .int(result.steps)),
      ("training_seconds", .double(result.trainingSeconds)),
      ("examples_per_second", .double(examplesPerSecond)),
      ("epoch_losses", .floats(result.epochLosses)),
    ]
    if let best = result.best {
      members.append(("best_epoch", .int(result.bestEpoch ?? 0)))
      members.append(("primary_metric", .string(best.primaryMetric)))
      members.append(("metrics", .doubles(best.metrics)))
      if !best.unseenLabels.isEmpty {
        members.append(("unseen_labels", .counts(best.unseenLabels)))
      }
    }
    Console.out(JSONOut.object(members).pretty)
  }
}

extension SequenceClassifierHead: ExpressibleByArgument {}
