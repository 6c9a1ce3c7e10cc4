import Foundation
import TestSupport
import Testing

@testable import BERT

@Suite struct ProbingTests {
  /// Correlated data: x = z·A with z standard normal and a fixed mixing A, so
  /// the covariance is AᵀA, far from the identity. After whitening, the sample
  /// covariance must be the identity (computed here independently, in Double).
  @Test(arguments: BackendKind.allAvailable)
  func whitenedCovarianceIsIdentity(_ backend: BackendKind) throws {
    var generator = SeededGenerator(seed: 21)
    let (n, h) = (400, 6)
    let mixing = (0..<(h * h)).map { _ in generator.nextNormal() }
    let data: [[Float]] = (0..<n).map { _ in
      let z = (0..<h).map { _ in generator.nextNormal() }
      return (0..<h).map { j in (0..<h).reduce(Float(3)) { $0 + z[$1] * mixing[$1 * h + j] } }
    }
    try Compute.withBackend(backend) {
      let whitening = try EmbeddingWhitening(fitting: data)
      let white = try whitening.apply(data)
      var covariance = [Double](repeating: 0, count: h * h)
      let means = (0..<h).map { j in white.reduce(0.0) { $0 + Double($1[j]) } / Double(n) }
      for row in white {
        for i in 0..<h {
          for j in 0..<h {
            covariance[i * h + j] +=
              (Double(row[i]) - means[i]) * (Double(row[j]) - means[j]) / Double(n - 1)
          }
        }
      }
      let identity = (0..<(h * h)).map { $0 % (h + 1) == 0 ? Float(1) : 0 }
      expectClose(covariance.map(Float.init), identity, rtol: 0, atol: 1e-3, "whitened covariance:")
      expectClose(
        means.map(Float.init), [Float](repeating: 0, count: h), rtol: 0, atol: 1e-4,
        "whitened mean:")
      // Keeping K = 3 dimensions keeps the three directions of largest variance.
      #expect(try EmbeddingWhitening(fitting: data, dimensions: 3).apply(data)[0].count == 3)
    }
  }

  @Test func whiteningRoundTripsThroughAFile() throws {
    var generator = SeededGenerator(seed: 22)
    let data = (0..<20).map { _ in (0..<4).map { _ in generator.nextNormal() } }
    let whitening = try EmbeddingWhitening(fitting: data)
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "whiten-\(UUID().uuidString).safetensors")
    defer { try? FileManager.default.removeItem(at: url) }
    try whitening.save(to: url)
    let loaded = try EmbeddingWhitening(contentsOf: url)
    expectClose(
      try loaded.apply(data).flatMap { $0 }, try whitening.apply(data).flatMap { $0 }, rtol: 0,
      atol: 0)
    #expect(throws: ProbingError.self) { try whitening.apply([[1, 2]]) }
  }

  /// Targets made exactly linear, y = x·W + b with a known W and b: with a tiny
  /// penalty the probe recovers them.
  @Test(arguments: BackendKind.allAvailable)
  func ridgeProbeRecoversALinearMap(_ backend: BackendKind) throws {
    var generator = SeededGenerator(seed: 23)
    let trueWeights: [[Float]] = [[1, -2], [0.5, 0], [-1, 3]]  // [H = 3, C = 2]
    let bias: [Float] = [0.25, -0.5]
    let features = (0..<50).map { _ in (0..<3).map { _ in generator.nextNormal() } }
    let targets = features.map { x in
      (0..<2).map { c in bias[c] + (0..<3).reduce(Float(0)) { $0 + x[$1] * trueWeights[$1][c] } }
    }
    try Compute.withBackend(backend) {
      let probe = try RidgeProbe(features: features, targets: targets, lambda: 1e-6)
      expectClose(
        probe.weights.scalars, trueWeights.flatMap { $0 } + bias, rtol: 0, atol: 1e-3, "W and b:")
      expectClose(probe.predict([[1, 1, 1]])[0], [0.75, 0.5], rtol: 0, atol: 1e-3, "prediction:")
    }
  }
}
