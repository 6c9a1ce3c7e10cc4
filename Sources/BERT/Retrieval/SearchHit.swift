// SearchHit: one ranked result of a search.

/// One document of a ranked result list.
public struct SearchHit: Equatable, Sendable {
  /// The document's id.
  public var id: String
  /// The document's score; higher ranks first.
  public var score: Float

  public init(id: String, score: Float) {
    self.id = id
    self.score = score
  }
}
