import Testing

@testable import BERT

/// Hard-negative selection on hand-made vectors whose inner products are
/// worked out in the comments: the positive and the query's other positives
/// are skipped, so is anything above the positive's score minus the margin,
/// and the rest is taken best first.
@Suite struct HardNegativeMinerTests {
  // Candidates in first-seen order: A, B, C, D (e2's given negative), E.
  static let examples = [
    RetrievalExample(query: "q0", positive: "A"),
    RetrievalExample(query: "q1", positive: "B"),
    RetrievalExample(query: "q2", positive: "C", negatives: ["D"]),
    RetrievalExample(query: "q0", positive: "E"),
  ]
  static let candidates: [[Float]] = [[1, 0], [0, 1], [0.6, 0.8], [0.8, 0.6], [0.9, 0.1]]
  static let queries: [[Float]] = [[1, 0], [0, 1], [0.6, 0.8], [1, 0]]

  @Test func candidatesAreTheDistinctPassagesInFirstSeenOrder() {
    #expect(HardNegativeMiner.candidates(Self.examples) == ["A", "B", "C", "D", "E"])
  }

  @Test func minesTheBestCandidatesBelowTheMargin() throws {
    let miner = try HardNegativeMiner(count: 2, margin: 0.15)
    let mined = try miner.mine(
      Self.examples, queryVectors: Self.queries, candidateVectors: Self.candidates)
    // q0·(A, B, C, D, E) = 1, 0, .6, .8, .9; positive A scores 1, ceiling .85;
    // A and E are q0's positives: D (.8), then C (.6).
    #expect(mined[0].negatives == ["D", "C"])
    // q1·(…) = 0, 1, .8, .6, .1; ceiling .85: C (.8), D (.6).
    #expect(mined[1].negatives == ["C", "D"])
    // q2·(…) = .6, .8, 1, .96, .62; D is given already: B (.8), E (.62) after it.
    #expect(mined[2].negatives == ["D", "B", "E"])
    // q0 with positive E (.9), ceiling .75: D (.8) is too close; C (.6), B (0).
    #expect(mined[3].negatives == ["C", "B"])
    #expect(mined.map(\.query) == Self.examples.map(\.query))
    #expect(mined.map(\.positive) == Self.examples.map(\.positive))
  }

  @Test func fewerThanKWhenTheDepthRunsOut() throws {
    // Depth 3 for q1: B, C, D; B is the positive, so C and D only.
    let miner = try HardNegativeMiner(count: 3, margin: 0.15, depth: 3)
    let mined = try miner.mine(
      Self.examples, queryVectors: Self.queries, candidateVectors: Self.candidates)
    #expect(mined[1].negatives == ["C", "D"])
  }

  @Test func badArgumentsAreRefused() throws {
    #expect(throws: RetrievalError.invalidTopK(0)) { try HardNegativeMiner(count: 0) }
    let miner = try HardNegativeMiner(count: 1)
    #expect(throws: RetrievalError.countMismatch(vectors: 3, ids: 4)) {
      try miner.mine(
        Self.examples, queryVectors: Array(Self.queries.prefix(3)),
        candidateVectors: Self.candidates)
    }
    #expect(throws: RetrievalError.countMismatch(vectors: 4, ids: 5)) {
      try miner.mine(
        Self.examples, queryVectors: Self.queries,
        candidateVectors: Array(Self.candidates.prefix(4)))
    }
  }
}
