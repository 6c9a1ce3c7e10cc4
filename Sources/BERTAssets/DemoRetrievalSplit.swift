import BERT

/// SQuAD as a retrieval benchmark: questions are queries, paragraphs are
/// documents, and a question's own paragraph is its one relevant document.
/// Built by ``DemoData/retrieval(_:trainArticleFraction:)``.
public struct DemoRetrievalSplit: Sendable, Equatable {
  /// A training query and the paragraph that answers it.
  public struct Pair: Sendable, Equatable {
    public var query: String
    public var positive: String

    public init(query: String, positive: String) {
      self.query = query
      self.positive = positive
    }
  }

  /// An evaluation query with the ids of its relevant documents.
  public struct Query: Sendable, Equatable {
    public var id: String
    public var text: String
    public var relevant: [String]

    public init(id: String, text: String, relevant: [String]) {
      self.id = id
      self.text = text
      self.relevant = relevant
    }
  }

  /// A corpus document.
  public struct Document: Sendable, Equatable {
    public var id: String
    public var text: String

    public init(id: String, text: String) {
      self.id = id
      self.text = text
    }
  }

  /// The questions of the training articles with their paragraphs, in file order.
  public var train: [Pair]
  /// The questions of the held-out articles, in file order.
  public var queries: [Query]
  /// Every paragraph of every article, once, in file order; its id is the
  /// article's title, a slash and the paragraph's position in the article
  /// (from 0), as `Super_Bowl_50/3`.
  public var corpus: [Document]
}

extension DemoData {
  /// SQuAD split by article for retrieval: the first `trainArticleFraction`
  /// of the articles (in file order, as ``squad(_:trainArticleFraction:)``
  /// splits them) give the training pairs, the rest the evaluation queries,
  /// and the corpus holds the paragraphs of every article, so that held-out
  /// questions are searched among the training articles' paragraphs too.
  public static func retrieval(_ read: ReadResult<QAExample>, trainArticleFraction: Double = 0.8)
    -> DemoRetrievalSplit
  {
    let articles = squad(read, trainArticleFraction: trainArticleFraction)
    let trainIDs = Set(articles.train.map(\.id))
    var split = DemoRetrievalSplit(train: [], queries: [], corpus: [])
    var paragraphID: [String: String] = [:]  // title + context → id
    var paragraphsInArticle: [String: Int] = [:]
    for example in read.examples {
      let key = example.title + "\u{0}" + example.context
      let id =
        paragraphID[key]
        ?? {
          let position = paragraphsInArticle[example.title, default: 0]
          paragraphsInArticle[example.title] = position + 1
          let id = "\(example.title)/\(position)"
          paragraphID[key] = id
          split.corpus.append(.init(id: id, text: example.context))
          return id
        }()
      if trainIDs.contains(example.id) {
        split.train.append(.init(query: example.question, positive: example.context))
      } else {
        split.queries.append(.init(id: example.id, text: example.question, relevant: [id]))
      }
    }
    return split
  }
}
