// `bert demo --export-data DIR`: the demo's exact splits and settings as files,
// for a reference implementation in another framework.

import BERT
import Foundation

enum DemoExport {
  /// Writes `DIR/<task>/train.jsonl`, `eval.jsonl` (QA: `train.json`, `eval.json`
  /// in SQuAD v1.1 layout) and `settings.json`.
  static func write(_ plan: DemoTaskPlan, _ data: DemoSplitData, to root: URL) throws {
    let folder = root.appendingPathComponent(plan.task.rawValue, isDirectory: true)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    switch plan.task {
    case .qa:
      try squad(data.train.questions).write(
        to: folder.appendingPathComponent("train.json"), options: .atomic)
      try squad(data.eval.questions).write(
        to: folder.appendingPathComponent("eval.json"), options: .atomic)
    case .tagging:
      try lines(data.train.sentences.map(tagged)).write(
        to: folder.appendingPathComponent("train.jsonl"), options: .atomic)
      try lines(data.eval.sentences.map(tagged)).write(
        to: folder.appendingPathComponent("eval.jsonl"), options: .atomic)
    case .classification: try texts(data, kind: .classification, to: folder)
    case .pairClassification: try texts(data, kind: .pairClassification, to: folder)
    case .regression: try texts(data, kind: .regression, to: folder)
    case .pairRegression: try texts(data, kind: .pairRegression, to: folder)
    case .retrieval:
      try lines(
        data.train.retrievalPairs.map {
          .object([("query", .string($0.query)), ("positive", .string($0.positive))])
        }
      )
      .write(to: folder.appendingPathComponent("train.jsonl"), options: .atomic)
      try lines(
        data.queries.map {
          .object([
            ("id", .string($0.query.id)), ("text", .string($0.query.text)),
            ("relevant", .strings($0.relevant)),
          ])
        }
      ).write(to: folder.appendingPathComponent("queries.jsonl"), options: .atomic)
      try lines(data.corpus.map { .object([("id", .string($0.id)), ("text", .string($0.text))]) })
        .write(to: folder.appendingPathComponent("corpus.jsonl"), options: .atomic)
    }
    try Data((settings(plan, data).pretty + "\n").utf8).write(
      to: folder.appendingPathComponent("settings.json"), options: .atomic)
  }

  /// The settings a reference run needs to reproduce the demo's.
  static func settings(_ plan: DemoTaskPlan, _ data: DemoSplitData) -> JSONOut {
    let s = plan.settings
    var members: [(String, JSONOut)] = [
      ("task", .string(plan.task.rawValue)),
      ("data", .string(plan.data)),
      ("train_examples", .int(data.train.count)),
      ("eval_examples", .int(data.eval.count)),
      ("epochs", .int(s.epochs)),
      ("batch_size", .int(s.batchSize)),
      ("learning_rate", .float(s.learningRate)),
      ("warmup_ratio", .float(s.warmupRatio)),
      ("weight_decay", .float(s.weightDecay)),
      ("max_grad_norm", .float(s.maxGradientNorm)),
      ("gradient_accumulation", .int(s.gradientAccumulation)),
      ("max_length", .int(s.maxLength)),
    ]
    if plan.task == .qa {
      if let words = plan.maxContextWords {
        members.append(("max_context_words", .int(words)))
      }
      members.append(("doc_stride", .int(s.docStride)))
      members.append(("max_answer_length", .int(s.maxAnswerLength)))
    }
    if plan.task == .tagging {
      members.append(("label_all_tokens", .bool(s.labelAllTokens)))
    }
    if plan.task == .retrieval {
      members += [
        ("corpus_documents", .int(data.corpus.count)),
        ("loss", .string("multiple-negatives ranking, in-batch negatives, no duplicate texts")),
        ("scale", .float(RetrievalTask.scale)),
      ]
    }
    members += [
      ("seed", .int(Int(s.seed))),
      ("length_bucketing", .bool(s.lengthBucketing)),
      ("lr_schedule", .string("linear warm-up, then linear decay to 0")),
      (
        "optimizer", .string("AdamW (betas 0.9, 0.999, eps 1e-8; no decay on biases and LayerNorm)")
      ),
      ("metric", .string(plan.metric)),
      ("baseline", .string(plan.baselineName)),
    ]
    if plan.task == .pairRegression {
      members.append(("label_scale", .string("mean human similarity x 5 (0-5)")))
    }
    return .object(members)
  }

  /// Writes a text task's `train.jsonl` and `eval.jsonl`: `text_a`, `text_b`
  /// and `label` for a pair task, `text` and `label` otherwise.
  private static func texts(_ data: DemoSplitData, kind: TextTaskKind, to folder: URL) throws {
    try lines(data.train.texts.map { text($0, isPair: kind.isPair) }).write(
      to: folder.appendingPathComponent("train.jsonl"), options: .atomic)
    try lines(data.eval.texts.map { text($0, isPair: kind.isPair) }).write(
      to: folder.appendingPathComponent("eval.jsonl"), options: .atomic)
  }

  private static func lines(_ values: [JSONOut]) -> Data {
    Data(values.map { $0.compact + "\n" }.joined().utf8)
  }

  private static func text(_ example: TextExample, isPair: Bool) -> JSONOut {
    let label: JSONOut =
      example.target.map { .float($0) } ?? example.label.map { .string($0) } ?? .null
    if isPair {
      return .object([
        ("text_a", .string(example.text)), ("text_b", .string(example.pair ?? "")),
        ("label", label),
      ])
    }
    return .object([("text", .string(example.text)), ("label", label)])
  }

  private static func tagged(_ sentence: TaggedSentence) -> JSONOut {
    .object([("tokens", .strings(sentence.tokens)), ("tags", .strings(sentence.tags))])
  }

  /// SQuAD v1.1: articles by title, paragraphs by context, in first-seen order.
  static func squad(_ examples: [QAExample]) -> Data {
    var titles: [String] = []
    var contexts: [String: [String]] = [:]
    var questions: [String: [QAExample]] = [:]
    for example in examples {
      if contexts[example.title] == nil {
        titles.append(example.title)
        contexts[example.title] = []
      }
      let key = example.title + "\u{0}" + example.context
      if questions[key] == nil { contexts[example.title]!.append(example.context) }
      questions[key, default: []].append(example)
    }
    let articles: [JSONOut] = titles.map { title in
      .object([
        ("title", .string(title)),
        (
          "paragraphs",
          .array(
            contexts[title]!.map { context in
              .object([
                ("context", .string(context)),
                (
                  "qas",
                  .array(
                    questions[title + "\u{0}" + context]!.map { example in
                      .object([
                        ("id", .string(example.id)),
                        ("question", .string(example.question)),
                        (
                          "answers",
                          .array(
                            example.answers.map {
                              .object([
                                ("text", .string($0.text)), ("answer_start", .int($0.start)),
                              ])
                            })
                        ),
                      ])
                    })
                ),
              ])
            })
        ),
      ])
    }
    let document = JSONOut.object([("version", .string("1.1")), ("data", .array(articles))])
    return Data((document.compact + "\n").utf8)
  }
}
