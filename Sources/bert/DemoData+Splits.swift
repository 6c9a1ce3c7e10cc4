// The demo's deterministic splits of the real data sets, cut to the plan's sizes,
// and the trivial baselines each task must beat.

import BERT
import BERTAssets
import Foundation

/// The training and evaluation examples of one demo task.
struct DemoSplitData {
  var train: TaskExamples
  var eval: TaskExamples
  /// The full split sizes before subsetting, and notes for the log.
  var available: (train: Int, eval: Int)
  var report: ReadReport
  /// Retrieval: the held-out queries (also `eval`) and the corpus they search.
  var queries: [JudgedQuery] = []
  var corpus: [IdentifiedText] = []
}

enum DemoSplits {
  /// Builds the split of `plan.task` from the files in the asset cache.
  static func load(_ plan: DemoTaskPlan, squad: () throws -> ReadResult<QAExample>) throws
    -> DemoSplitData
  {
    switch plan.task {
    case .classification:
      let split = try DemoData.polarity(contentsOf: AssetCache.dataFile("polarity.csv"))
      return DemoSplitData(
        train: .text(prefix(split.train, plan.trainLimit)),
        eval: .text(evenlySpaced(split.eval, plan.evalLimit)),
        available: (split.train.count, split.eval.count), report: split.report)
    case .pairClassification:
      let read = try squad()
      let split = DemoData.qnli(
        read, trainQuestions: plan.trainLimit.map { $0 / 2 },
        evalQuestions: plan.evalLimit.map { $0 / 2 })
      let all = DemoData.qnli(read)
      return DemoSplitData(
        train: .text(split.train), eval: .text(split.eval),
        available: (all.train.count, all.eval.count), report: split.report)
    case .pairRegression:
      let split = try DemoData.lee(
        corpus: AssetCache.dataFile("lee.cor"),
        similarities: AssetCache.dataFile("lee-similarities.txt"))
      return DemoSplitData(
        train: .text(prefix(split.train, plan.trainLimit)),
        eval: .text(prefix(split.eval, plan.evalLimit)),
        available: (split.train.count, split.eval.count), report: split.report)
    case .tagging:
      let split = try DemoData.wsjPOS(contentsOf: AssetCache.dataFile("wsj-pos.txt"))
      return DemoSplitData(
        train: .tagged(prefix(split.train, plan.trainLimit)),
        eval: .tagged(prefix(split.eval, plan.evalLimit)),
        available: (split.train.count, split.eval.count), report: split.report)
    case .regression:
      throw CLIError("the demo has no data set for \(plan.task.rawValue)")
    case .retrieval:
      let read = try squad()
      let split = DemoData.retrieval(read)
      let queries = evenlySpaced(split.queries, plan.evalLimit)
      return DemoSplitData(
        train: .other(evenlySpaced(split.train, plan.trainLimit)), eval: .other(queries),
        available: (split.train.count, split.queries.count), report: read.report,
        queries: queries, corpus: split.corpus)
    case .qa:
      let split = DemoData.squad(try squad())
      func short(_ examples: [QAExample]) -> [QAExample] {
        guard let limit = plan.maxContextWords else { return examples }
        return examples.filter { $0.context.split(separator: " ").count <= limit }
      }
      return DemoSplitData(
        train: .questions(evenlySpaced(short(split.train), plan.trainLimit)),
        eval: .questions(evenlySpaced(short(split.eval), plan.evalLimit)),
        available: (split.train.count, split.eval.count), report: split.report)
    }
  }

  /// The first `limit` elements (the splits are already shuffled or in file order).
  static func prefix<T>(_ values: [T], _ limit: Int?) -> [T] {
    guard let limit, limit < values.count else { return values }
    return Array(values.prefix(limit))
  }

  /// `limit` elements spread evenly over `values` (every article, both classes).
  static func evenlySpaced<T>(_ values: [T], _ limit: Int?) -> [T] {
    guard let limit, limit < values.count, limit > 0 else { return values }
    return (0..<limit).map { values[$0 * values.count / limit] }
  }
}

/// The score a trivial predictor gets, which the fine-tuned model must beat.
enum DemoBaseline {
  static func value(_ plan: DemoTaskPlan, train: TaskExamples, eval: TaskExamples) -> Double {
    switch plan.task {
    case .classification, .pairClassification:
      // The training set's most frequent label, predicted for every evaluation example.
      let majority = mostFrequent(train.texts.compactMap(\.label))
      let labels = eval.texts.compactMap(\.label)
      return Double(labels.filter { $0 == majority }.count) / Double(max(labels.count, 1))
    case .tagging:
      let majority = mostFrequent(train.sentences.flatMap(\.tags))
      let tags = eval.sentences.flatMap(\.tags)
      return Double(tags.filter { $0 == majority }.count) / Double(max(tags.count, 1))
    case .pairRegression, .regression:
      return 0  // a constant prediction has no correlation
    case .retrieval:
      return .nan  // the pretrained model's score, measured by DemoRetrieval.compare
    case .qa:
      return 20  // F1 (0-100): the bar for "learned something"
    }
  }

  /// A stronger, still model-free tagger for context: each word's most frequent
  /// training tag, and the overall most frequent tag for unseen words.
  static func perWordTagAccuracy(train: [TaggedSentence], eval: [TaggedSentence]) -> Double {
    var counts: [String: [String: Int]] = [:]
    for sentence in train {
      for (token, tag) in zip(sentence.tokens, sentence.tags) {
        counts[token, default: [:]][tag, default: 0] += 1
      }
    }
    let fallback = mostFrequent(train.flatMap(\.tags))
    var correct = 0
    var total = 0
    for sentence in eval {
      for (token, tag) in zip(sentence.tokens, sentence.tags) {
        let guess =
          counts[token].flatMap { $0.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key }
          ?? fallback
        correct += guess == tag ? 1 : 0
        total += 1
      }
    }
    return Double(correct) / Double(max(total, 1))
  }

  private static func mostFrequent(_ values: [String]) -> String {
    var counts: [String: Int] = [:]
    for value in values { counts[value, default: 0] += 1 }
    return counts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? ""
  }
}
