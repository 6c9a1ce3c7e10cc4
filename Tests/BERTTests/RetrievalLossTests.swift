import Foundation
import TestSupport
import Testing

@testable import BERT

/// The multiple-negatives ranking loss against sentence-transformers
/// (`scripts/fixtures/make_retrieval_fixtures.py`, which records its versions
/// in `Fixtures/retrieval/loss.json`), and its backward against central
/// differences.
@Suite struct RetrievalLossTests {
  struct Fixture: Decodable {
    struct EmbeddingCase: Decodable {
      var symmetric: Bool
      var queries: [[Float]]
      var candidates: [[Float]]
      var loss: Float
      var gradQueries: [[Float]]
      var gradCandidates: [[Float]]
    }
    struct ModelCase: Decodable {
      var loss: Float
      var grads: [String: [Float]]
    }
    struct TinyModel: Decodable {
      var queries: [String]
      var positives: [String]
      var negatives: [String]
      var standard: ModelCase
      var symmetric: ModelCase
    }
    var scale: Float
    var embeddingCases: [EmbeddingCase]
    var tinyModel: TinyModel
  }

  static let fixture: Fixture = {
    let url = ModelFixtures.url("retrieval/loss.json")
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try! decoder.decode(Fixture.self, from: Data(contentsOf: url))
  }()

  static func matrix(_ rows: [[Float]]) -> Tensor {
    Tensor(shape: [rows.count, rows[0].count], scalars: rows.flatMap { $0 })
  }

  /// Loss and gradients on fixed embeddings (in-batch only, with one and two
  /// hard negatives per query, standard and symmetric). The fixture is
  /// float64; float32 arithmetic over six dimensions keeps 1e-5 relative.
  @Test(arguments: BackendKind.allAvailable)
  func lossAndGradientsMatchSentenceTransformers(_ backend: BackendKind) {
    Compute.withBackend(backend) {
      for (index, item) in Self.fixture.embeddingCases.enumerated() {
        let queries = Parameter(Self.matrix(item.queries), name: "queries")
        let candidates = Parameter(Self.matrix(item.candidates), name: "candidates")
        let loss = multipleNegativesRankingLoss(
          queries: queries.value, candidates: candidates.value, scale: Self.fixture.scale,
          symmetric: item.symmetric)
        loss.backward()
        expectClose([loss.item], [item.loss], rtol: 1e-5, atol: 1e-6, "case \(index) loss:")
        expectClose(
          queries.grad!, Self.matrix(item.gradQueries), rtol: 1e-4, atol: 1e-6,
          "case \(index) query gradient:")
        expectClose(
          candidates.grad!, Self.matrix(item.gradCandidates), rtol: 1e-4, atol: 1e-6,
          "case \(index) candidate gradient:")
      }
    }
  }

  /// Central differences of the loss (standard and symmetric, with hard
  /// negatives), with respect to the queries and the candidates. The scale
  /// is 2 here so that h = 1e-2 stays in the loss's nearly linear range.
  @Test(arguments: BackendKind.allAvailable)
  func lossBackwardMatchesFiniteDifferences(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 3)
    let queries = Tensor.randomNormal(shape: [3, 5], generator: &generator)
    let candidates = Tensor.randomNormal(shape: [5, 5], generator: &generator)
    for symmetric in [false, true] {
      Compute.withBackend(backend) {
        checkGradients([queries, candidates], rtol: 2e-2, atol: 2e-3) { inputs in
          multipleNegativesRankingLoss(
            queries: inputs[0], candidates: inputs[1], scale: 2, symmetric: symmetric)
        }
      }
    }
  }

  /// Pooling and normalisation, the steps before the loss, by central differences.
  @Test(arguments: BackendKind.allAvailable)
  func normalisationBackwardMatchesFiniteDifferences(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 4)
    let x = Tensor.randomNormal(shape: [3, 4], generator: &generator)
    Compute.withBackend(backend) {
      checkGradients([x]) { inputs in l2Normalized(inputs[0]) }
    }
  }

  /// One step of the bi-encoder on the tiny model, end to end: the loss and
  /// the gradients of one tensor from each part of the encoder, as
  /// sentence-transformers computes them with mean pooling. Gradients are
  /// compared relative to each tensor's largest (1e-3).
  @Test(arguments: BackendKind.allAvailable)
  func tinyModelStepMatchesSentenceTransformers(_ backend: BackendKind) throws {
    let tiny = Self.fixture.tinyModel
    let examples = tiny.queries.indices.map {
      RetrievalExample(
        query: tiny.queries[$0], positive: tiny.positives[$0], negatives: [tiny.negatives[$0]])
    }
    for (symmetric, expected) in [(false, tiny.standard), (true, tiny.symmetric)] {
      try Compute.withBackend(backend) {
        let task = try RetrievalTask(
          directory: ModelFixtures.tinyModel, train: examples, maxLength: 64,
          symmetric: symmetric)
        var context = ForwardContext.inference
        let loss = task.loss(features: Array(examples.indices), context: &context)
        loss.backward()
        expectClose([loss.item], [expected.loss], rtol: 1e-4, atol: 1e-5, "loss:")
        let parameters = Dictionary(uniqueKeysWithValues: task.namedParameters)
        for (key, values) in expected.grads.sorted(by: { $0.key < $1.key }) {
          guard let gradient = parameters[key]?.grad else {
            Issue.record("no gradient reached \(key)")
            continue
          }
          let scale = values.map(abs).max() ?? 0
          expectClose(
            gradient.scalars, values, rtol: 0, atol: max(1e-3 * scale, 1e-7),
            "symmetric \(symmetric) grad.\(key):")
        }
      }
    }
  }
}
