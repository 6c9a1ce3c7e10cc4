import Foundation

// N embeddings, H dimensions, K kept dimensions.

/// Whitening of sentence embeddings: subtract the mean, then rotate and scale
/// so that the covariance becomes the identity (Su et al., 2021, "Whitening
/// sentence representations"). Raw BERT embeddings crowd into a narrow cone;
/// whitened ones compare better by cosine.
///
/// With the covariance C = U·S·Uᵀ (its SVD, computed by the current backend),
/// the transform is W = U·diag(1/√(S + ε)), optionally keeping the first K
/// columns (the directions of largest variance), and x ↦ (x − μ)·W.
public struct EmbeddingWhitening: Sendable {
  /// μ, [H]
  public let mean: Tensor
  /// W, [H, K]
  public let transform: Tensor

  /// Fits the whitening to embeddings.
  ///
  /// - Parameters:
  ///   - embeddings: N vectors of H values each (N ≥ 2).
  ///   - dimensions: K, the number of dimensions to keep (default: all H).
  ///   - epsilon: added to each variance before the inverse square root.
  public init(fitting embeddings: [[Float]], dimensions: Int? = nil, epsilon: Float = 1e-6) throws {
    let n = embeddings.count
    guard n >= 2, let h = embeddings.first?.count, h > 0 else {
      throw ProbingError.tooFewExamples(needed: 2, got: n)
    }
    for (index, row) in embeddings.enumerated() where row.count != h {
      throw ProbingError.ragged(row: index, count: row.count, expected: h)
    }
    let k = min(dimensions ?? h, h)
    let x = Tensor(shape: [n, h], scalars: embeddings.flatMap { $0 })  // [N, H]
    let mu = withoutGradients { x.mean(axis: 0) }  // [H]
    let centred = withoutGradients { x - mu }  // [N, H]
    let covariance = withoutGradients {
      centred.matmul(centred, transposeA: true, alpha: 1 / Float(n - 1))  // [H, H]
    }
    let (u, s, _) = try LinearAlgebra.svd(covariance)  // U [H, H], S [H] descending
    var w = Tensor(uninitializedShape: [h, k])  // [H, K]
    let scale = s.scalars.map { 1 / ($0 + epsilon).squareRoot() }
    let uValues = u.scalars
    w.withUnsafeMutableBufferPointer { values in
      for row in 0..<h {
        for column in 0..<k { values[row * k + column] = uValues[row * h + column] * scale[column] }
      }
    }
    mean = mu
    transform = w
  }

  /// Wraps a saved mean [H] and transform [H, K].
  public init(mean: Tensor, transform: Tensor) throws {
    guard mean.rank == 1, transform.rank == 2, transform.shape[0] == mean.shape[0] else {
      throw ProbingError.shapes(
        "whitening mean \(mean.shape) and transform \(transform.shape) do not fit")
    }
    self.mean = mean
    self.transform = transform
  }

  /// The number of dimensions of the input, H, and of the output, K.
  public var inputDimensions: Int { transform.shape[0] }
  public var outputDimensions: Int { transform.shape[1] }

  /// Whitens vectors of H values into vectors of K values.
  public func apply(_ embeddings: [[Float]]) throws -> [[Float]] {
    guard !embeddings.isEmpty else { return [] }
    let h = inputDimensions
    for (index, row) in embeddings.enumerated() where row.count != h {
      throw ProbingError.ragged(row: index, count: row.count, expected: h)
    }
    let x = Tensor(shape: [embeddings.count, h], scalars: embeddings.flatMap { $0 })  // [N, H]
    let y = withoutGradients { (x - mean).matmul(transform) }  // [N, K]
    let k = outputDimensions
    return y.withUnsafeBufferPointer { v in
      (0..<embeddings.count).map { Array(v[($0 * k)..<(($0 + 1) * k)]) }
    }
  }

  /// Saves `mean` and `transform` as a safetensors file (atomically).
  public func save(to url: URL) throws {
    try SafeTensors.write(
      [("mean", mean), ("transform", transform)], metadata: ["kind": "embedding-whitening"], to: url
    )
  }

  /// Reads a whitening saved by ``save(to:)``.
  public init(contentsOf url: URL) throws {
    let file = try SafeTensorsFile(contentsOf: url)
    try self.init(
      mean: try file.tensor(named: "mean"), transform: try file.tensor(named: "transform"))
  }
}

/// A closed-form ridge regression ("linear probe") on frozen features:
/// W = (XᵀX + λI)⁻¹·XᵀY with a bias column, solved by Cholesky (the system is
/// symmetric positive definite for λ > 0), falling back to LU.
public struct RidgeProbe: Sendable {
  /// [H + 1, C]: the weights, the last row being the bias.
  public let weights: Tensor

  /// Fits the probe.
  ///
  /// - Parameters:
  ///   - features: N vectors of H values.
  ///   - targets: N vectors of C values (one-hot rows for classification).
  ///   - lambda: the ridge penalty λ ≥ 0 (the bias is not penalised).
  public init(features: [[Float]], targets: [[Float]], lambda: Float = 1e-3) throws {
    let n = features.count
    guard n >= 1, n == targets.count, let h = features.first?.count, let c = targets.first?.count
    else {
      throw ProbingError.tooFewExamples(needed: 1, got: min(n, targets.count))
    }
    let x = Tensor(shape: [n, h + 1], scalars: features.flatMap { $0 + [1] })  // [N, H+1]
    let y = Tensor(shape: [n, c], scalars: targets.flatMap { $0 })  // [N, C]
    var gram = withoutGradients { x.matmul(x, transposeA: true) }  // [H+1, H+1]
    gram.withUnsafeMutableBufferPointer { g in
      for i in 0..<h { g[i * (h + 1) + i] += lambda }
    }
    let rhs = withoutGradients { x.matmul(y, transposeA: true) }  // [H+1, C]
    do {
      let l = try LinearAlgebra.cholesky(gram)  // L·Lᵀ = XᵀX + λI
      let z = try LinearAlgebra.solve(l, rhs)  // L·Z = XᵀY
      weights = try LinearAlgebra.solve(l.transposed(), z)  // Lᵀ·W = Z
    } catch {
      weights = try LinearAlgebra.solve(gram, rhs)
    }
  }

  /// Scores for new features: N vectors of H values → N vectors of C values.
  public func predict(_ features: [[Float]]) -> [[Float]] {
    guard !features.isEmpty else { return [] }
    let h = weights.shape[0] - 1
    // [N, H+1]
    let x = Tensor(shape: [features.count, h + 1], scalars: features.flatMap { $0 + [1] })
    let y = withoutGradients { x.matmul(weights) }  // [N, C]
    let c = weights.shape[1]
    return y.withUnsafeBufferPointer { v in
      (0..<features.count).map { Array(v[($0 * c)..<(($0 + 1) * c)]) }
    }
  }
}

/// A problem fitting or applying a probe.
public enum ProbingError: Error, CustomStringConvertible {
  case tooFewExamples(needed: Int, got: Int)
  case ragged(row: Int, count: Int, expected: Int)
  case shapes(String)

  public var description: String {
    switch self {
    case .tooFewExamples(let needed, let got): "needs at least \(needed) examples, got \(got)"
    case .ragged(let row, let count, let expected):
      "vector \(row) has \(count) values, expected \(expected)"
    case .shapes(let message): message
    }
  }
}
