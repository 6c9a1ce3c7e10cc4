import BERT

/// SQuAD as a retrieval benchmark: questions are queries, paragraphs are
/// documents, and a question's own paragraph is its one relevant document.
/// Built by ``DemoData/retrieval(_:trainArticleFraction:)``; the types are the
/// retrieval task's and the search commands' own (`line` is 0: SQuAD is JSON).
public struct DemoRetrievalSplit: Sendable, Equatable {
  /// The questions of the training articles with their paragraphs, in file order.
  public var train: [RetrievalExample]
  /// The questions of the held-out articles, in file order.
  public var queries: [JudgedQuery]
  /// Every paragraph of every article, once, in file order; its id is the
  /// article's title, a slash and the paragraph's position in the article
  /// (from 0), as `Super_Bowl_50/3`.
  public var corpus: [IdentifiedText]
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
          split.corpus.append(IdentifiedText(id: id, text: example.context, line: 0))
          return id
        }()
      if trainIDs.contains(example.id) {
        split.train.append(RetrievalExample(query: example.question, positive: example.context))
      } else {
        split.queries.append(
          JudgedQuery(
            query: IdentifiedText(id: example.id, text: example.question, line: 0), relevant: [id]))
      }
    }
    return split
  }
}
