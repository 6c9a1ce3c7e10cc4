// What `bert demo` trains: for each task, the data, the subset sizes and the
// hyper-parameters, for the default run and for --quick. The sizes were chosen
// from the training speed measured on a 2-core machine (see README.md).

import BERT
import Foundation

/// One task of the demo.
struct DemoTaskPlan {
  var task: TaskName
  /// The data set, for the table.
  var data: String
  /// The asset groups the data comes from.
  var assets: [String]
  /// At most this many training examples (nil: all of the split).
  var trainLimit: Int?
  /// At most this many evaluation examples (nil: all of the split).
  var evalLimit: Int?
  /// QA: only questions whose passage has at most this many words (quicker windows).
  var maxContextWords: Int?
  var settings: HyperParameters
  /// Sequences (QA: windows) per forward pass when scoring the held-out split.
  var evalBatchSize: Int
  /// The metric reported, and the name of the trivial baseline it must beat.
  var metric: String
  var baselineName: String

  init(
    task: TaskName, data: String, assets: [String], trainLimit: Int?, evalLimit: Int?,
    maxContextWords: Int? = nil, settings: HyperParameters, evalBatchSize: Int = 64,
    metric: String, baselineName: String
  ) {
    self.task = task
    self.data = data
    self.assets = assets
    self.trainLimit = trainLimit
    self.evalLimit = evalLimit
    self.maxContextWords = maxContextWords
    self.settings = settings
    self.evalBatchSize = evalBatchSize
    self.metric = metric
    self.baselineName = baselineName
  }
}

enum DemoPlan {
  // The sizes come from measured runs (README.md): --quick spends most of its
  // time on QA, which needs about 2,000 question passes before F1 passes 20, and
  // on QNLI, whose loss stays at ln 2 for 1,000-1,600 pairs before it drops.

  /// The tasks `--quick` runs unless `--tasks` says otherwise: those that learn
  /// from a few hundred examples.
  static let quickTasks: Set<TaskName> = [.classification, .pairRegression, .tagging]

  /// Every task, in the order the demo runs them.
  static let taskOrder: [TaskName] = [
    .classification, .pairClassification, .pairRegression, .tagging, .qa, .retrieval,
  ]

  /// Tasks that run only when --tasks names them: retrieval's row is new and
  /// its default run has not yet been timed on the reference machine.
  static let namedOnlyTasks: Set<TaskName> = [.retrieval]

  /// Other names accepted by --tasks.
  static let aliases: [String: TaskName] = [
    "polarity": .classification, "qnli": .pairClassification, "lee": .pairRegression,
    "wsj": .tagging, "pos": .tagging, "squad": .qa, "search": .retrieval,
  ]

  static func plan(quick: Bool, seed: UInt64 = 42) -> [DemoTaskPlan] {
    func settings(
      epochs: Int, batchSize: Int, learningRate: Float, maxLength: Int, docStride: Int? = nil
    ) -> HyperParameters {
      var settings = HyperParameters()
      settings.epochs = epochs
      settings.batchSize = batchSize
      settings.learningRate = learningRate
      settings.warmupRatio = 0.1
      settings.weightDecay = 0.01
      settings.maxGradientNorm = 1
      settings.maxLength = maxLength
      settings.docStride = docStride ?? TaskDefaults.docStride(maxLength: maxLength)
      settings.seed = seed
      settings.lengthBucketing = true
      return settings
    }
    // Retrieval follows sentence-transformers' recipe, whose batches are
    // shuffled rather than grouped by length: in-batch negatives are then
    // paragraphs of any length, as at search time.
    func retrieval(trainLimit: Int?, evalLimit: Int?, learningRate: Float) -> DemoTaskPlan {
      var recipe = settings(epochs: 1, batchSize: 32, learningRate: learningRate, maxLength: 256)
      recipe.lengthBucketing = false
      return DemoTaskPlan(
        task: .retrieval, data: "SQuAD v1.1 dev questions → paragraphs, by article",
        assets: ["squad"], trainLimit: trainLimit, evalLimit: evalLimit, settings: recipe,
        metric: "mrr@10", baselineName: "pretrained model")
    }
    if quick {
      return [
        DemoTaskPlan(
          task: .classification, data: "sentence polarity (Pang & Lee)", assets: ["polarity"],
          trainLimit: 500, evalLimit: 400,
          settings: settings(epochs: 1, batchSize: 8, learningRate: 1e-4, maxLength: 64),
          metric: "accuracy", baselineName: "majority class"),
        DemoTaskPlan(
          task: .pairClassification, data: "QNLI-style pairs from SQuAD", assets: ["squad"],
          trainLimit: 2000, evalLimit: 400,
          settings: settings(epochs: 1, batchSize: 8, learningRate: 1e-4, maxLength: 64),
          metric: "accuracy", baselineName: "majority class"),
        DemoTaskPlan(
          task: .pairRegression, data: "Lee document similarity (0-5)", assets: ["lee"],
          trainLimit: 400, evalLimit: 245,
          settings: settings(epochs: 1, batchSize: 8, learningRate: 1e-4, maxLength: 64),
          metric: "pearson", baselineName: "constant prediction"),
        DemoTaskPlan(
          task: .tagging, data: "WSJ part-of-speech tags", assets: ["wsj"],
          trainLimit: 250, evalLimit: 213,
          settings: settings(epochs: 2, batchSize: 8, learningRate: 2e-4, maxLength: 96),
          metric: "token_accuracy", baselineName: "most frequent tag"),
        DemoTaskPlan(
          task: .qa, data: "SQuAD v1.1 dev, split by article", assets: ["squad"],
          trainLimit: 1000, evalLimit: 200, maxContextWords: 100,
          settings: settings(
            epochs: 2, batchSize: 8, learningRate: 1e-4, maxLength: 192, docStride: 64),
          evalBatchSize: 32, metric: "f1", baselineName: "fixed threshold"),
        retrieval(trainLimit: 1000, evalLimit: 300, learningRate: 5e-5),
      ]
    }
    return [
      DemoTaskPlan(
        task: .classification, data: "sentence polarity (Pang & Lee)", assets: ["polarity"],
        trainLimit: 2400, evalLimit: nil,
        settings: settings(epochs: 2, batchSize: 16, learningRate: 5e-5, maxLength: 64),
        metric: "accuracy", baselineName: "majority class"),
      DemoTaskPlan(
        task: .pairClassification, data: "QNLI-style pairs from SQuAD", assets: ["squad"],
        trainLimit: 2000, evalLimit: 1000,
        settings: settings(epochs: 2, batchSize: 16, learningRate: 1e-4, maxLength: 128),
        metric: "accuracy", baselineName: "majority class"),
      DemoTaskPlan(
        task: .pairRegression, data: "Lee document similarity (0-5)", assets: ["lee"],
        trainLimit: nil, evalLimit: nil,
        settings: settings(epochs: 3, batchSize: 16, learningRate: 1e-4, maxLength: 64),
        metric: "pearson", baselineName: "constant prediction"),
      DemoTaskPlan(
        task: .tagging, data: "WSJ part-of-speech tags", assets: ["wsj"],
        trainLimit: nil, evalLimit: nil,
        settings: settings(epochs: 3, batchSize: 8, learningRate: 1e-4, maxLength: 128),
        metric: "token_accuracy", baselineName: "most frequent tag"),
      DemoTaskPlan(
        task: .qa, data: "SQuAD v1.1 dev, split by article", assets: ["squad"],
        trainLimit: 1200, evalLimit: 500, maxContextWords: 120,
        settings: settings(
          epochs: 2, batchSize: 8, learningRate: 1e-4, maxLength: 256, docStride: 64),
        evalBatchSize: 32, metric: "f1", baselineName: "fixed threshold"),
      retrieval(trainLimit: nil, evalLimit: nil, learningRate: 2e-5),
    ]
  }
}
