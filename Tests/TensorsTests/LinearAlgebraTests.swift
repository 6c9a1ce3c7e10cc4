import Tensors
import TestSupport
import Testing

// n order of a square matrix, m × n a rectangular one, p = min(m, n)
//
// Tolerances (Float32 results, n ≤ 20, inputs of magnitude about 1 to n):
// reconstructions (A·x = b, L·Lᵀ, Q·R, U·S·Vᵀ, V·Λ·Vᵀ) agree with A to 1e-5 of
// max|A| per element; orthonormality (QᵀQ = I) to 1e-5; known solutions,
// singular values and eigenvalues to 1e-4 relative. The reference products
// are computed here in Double, never through a backend.

@Suite struct LinearAlgebraTests {
  static let squareSizes = [1, 3, 17]
  static let rectangularShapes = [(1, 1), (3, 3), (17, 17), (20, 7), (7, 20), (5, 1)]

  // MARK: - solve

  /// A·x = b for a known x, with one right-hand side [n] and several [n, 4].
  @Test(arguments: BackendKind.allAvailable)
  func solveRecoversKnownSolution(_ backend: BackendKind) throws {
    var generator = SeededGenerator(seed: 10)
    for n in Self.squareSizes {
      let a = wellConditioned(n, &generator)  // [n, n]
      for rightHandSides in [nil, 4] {
        let shape = rightHandSides.map { [n, $0] } ?? [n]
        let x = Tensor.randomNormal(shape: shape, generator: &generator)  // [n, r] or [n]
        let b = product(a, x.reshaped([n, -1])).reshaped(shape)  // [n, r] or [n]
        let solution = try Compute.withBackend(backend) { try LinearAlgebra.solve(a, b) }
        #expect(solution.shape == shape)
        expectClose(solution, x, rtol: 1e-4, atol: 1e-4, "\(backend) solve \(shape)")
        let residual = product(a, solution.reshaped([n, -1])).reshaped(shape)
        expectClose(residual, b, rtol: 0, atol: 1e-5 * maxAbs(b), "\(backend) A·x = b \(shape)")
      }
    }
  }

  /// Matrices that are singular in exact arithmetic throw `.singular` naming the
  /// pivot column, even when rounding leaves a tiny non-zero pivot.
  @Test(arguments: BackendKind.allAvailable)
  func solveRejectsSingularMatrices(_ backend: BackendKind) {
    let b = Tensor(ones: [3])
    let cases: [(Tensor, Int)] = [
      (Tensor(shape: [3, 3], scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9]), 2),  // row 3 = 2·row 2 − row 1
      (Tensor(shape: [3, 3], scalars: [1, 0, 2, 3, 0, 4, 5, 0, 6]), 1),  // zero column
      (Tensor(shape: [3, 3], scalars: [1, 2, 3, 2, 4, 6, 3, 6, 9]), 1),  // rank 1
      (Tensor(zeros: [3, 3]), 0),
    ]
    for (a, pivot) in cases {
      #expect(throws: LinearAlgebraError.singular(operation: "solve", pivot: pivot)) {
        try Compute.withBackend(backend) { try LinearAlgebra.solve(a, b) }
      }
    }
  }

  // MARK: - cholesky

  @Test(arguments: BackendKind.allAvailable)
  func choleskyReconstructsMatrix(_ backend: BackendKind) throws {
    var generator = SeededGenerator(seed: 11)
    for n in Self.squareSizes {
      let a = symmetricPositiveDefinite(n, &generator)  // [n, n]
      let l = try Compute.withBackend(backend) { try LinearAlgebra.cholesky(a) }  // [n, n]
      #expect(l.shape == [n, n])
      for row in 0..<n {
        #expect(l[row, row] > 0, "\(backend) L[\(row), \(row)] = \(l[row, row])")
        for column in (row + 1)..<n { #expect(l[row, column] == 0) }
      }
      expectClose(
        product(l, l, transposeB: true), a, rtol: 0, atol: 1e-5 * maxAbs(a),
        "\(backend) L·Lᵀ = A, n = \(n)")
    }
  }

  /// The order reported is that of the first leading minor that is not
  /// positive definite.
  @Test(arguments: BackendKind.allAvailable)
  func choleskyRejectsIndefiniteMatrices(_ backend: BackendKind) {
    let cases: [(Tensor, Int)] = [
      (Tensor(shape: [1, 1], scalars: [-1]), 1),
      (Tensor(shape: [2, 2], scalars: [1, 2, 2, 1]), 2),  // eigenvalues 3 and −1
      (Tensor(shape: [3, 3], scalars: [4, 2, 0, 2, 2, 0, 0, 0, -1]), 3),
      (Tensor(shape: [3, 3], scalars: [1, 1, 0, 1, 1, 0, 0, 0, 1]), 2),  // semi-definite
    ]
    for (a, order) in cases {
      #expect(throws: LinearAlgebraError.notPositiveDefinite(order: order)) {
        try Compute.withBackend(backend) { try LinearAlgebra.cholesky(a) }
      }
    }
  }

  // MARK: - qr

  @Test(arguments: BackendKind.allAvailable)
  func qrReconstructsMatrix(_ backend: BackendKind) throws {
    var generator = SeededGenerator(seed: 12)
    for (m, n) in Self.rectangularShapes {
      let p = min(m, n)
      let a = Tensor.randomNormal(shape: [m, n], generator: &generator)  // [m, n]
      let (q, r) = try Compute.withBackend(backend) { try LinearAlgebra.qr(a) }
      #expect(q.shape == [m, p])
      #expect(r.shape == [p, n])
      for row in 0..<p {
        for column in 0..<min(row, n) { #expect(r[row, column] == 0) }
      }
      expectOrthonormalColumns(q, "\(backend) QᵀQ, \(m)×\(n)")
      expectClose(
        product(q, r), a, rtol: 0, atol: 1e-5 * maxAbs(a), "\(backend) Q·R = A, \(m)×\(n)")
    }
  }

  // MARK: - svd

  @Test(arguments: BackendKind.allAvailable)
  func svdReconstructsMatrix(_ backend: BackendKind) throws {
    var generator = SeededGenerator(seed: 13)
    for (m, n) in Self.rectangularShapes {
      let a = Tensor.randomNormal(shape: [m, n], generator: &generator)  // [m, n]
      let (u, s, vt) = try Compute.withBackend(backend) { try LinearAlgebra.svd(a) }
      expectValidSVD(a, u, s, vt, "\(backend) \(m)×\(n)")
    }
  }

  /// A = Q₁·diag(σ)·Q₂ᵀ with known σ, Q₁ and Q₂ products of Householder
  /// reflections built here: the singular values come back as σ, sorted.
  @Test(arguments: BackendKind.allAvailable)
  func svdFindsKnownSingularValues(_ backend: BackendKind) throws {
    var generator = SeededGenerator(seed: 14)
    for (m, n) in [(3, 3), (17, 17), (20, 7), (7, 20)] {
      let p = min(m, n)
      let sigma = (0..<p).map { Double(2 * $0 + 1) / Double(p) }  // ascending, distinct
      let a = matrixWithSpectrum(m, n, sigma, &generator)  // [m, n]
      let (u, s, vt) = try Compute.withBackend(backend) { try LinearAlgebra.svd(a) }
      expectValidSVD(a, u, s, vt, "\(backend) known σ \(m)×\(n)")
      expectClose(
        s.scalars, sigma.reversed().map { Float($0) }, rtol: 1e-4, atol: 1e-6,
        "\(backend) σ \(m)×\(n)")
    }
  }

  /// A rank-1 matrix: one non-zero singular value, and U and V still orthonormal.
  @Test(arguments: BackendKind.allAvailable)
  func svdOfRankDeficientMatrix(_ backend: BackendKind) throws {
    let column: [Float] = [1, 2, 0, -1, 3]
    let row: [Float] = [2, -1, 2]
    let a = Tensor(shape: [5, 3], scalars: column.flatMap { c in row.map { c * $0 } })  // [5, 3]
    let (u, s, vt) = try Compute.withBackend(backend) { try LinearAlgebra.svd(a) }
    expectValidSVD(a, u, s, vt, "\(backend) rank 1", rankDeficient: true)
    // σ₁ = ‖column‖·‖row‖ = √15 · 3.
    expectClose(
      s.scalars, [Float(15).squareRoot() * 3, 0, 0], rtol: 1e-5, atol: 1e-5, "\(backend) σ")
  }

  // MARK: - eigh

  @Test(arguments: BackendKind.allAvailable)
  func eighReconstructsMatrix(_ backend: BackendKind) throws {
    var generator = SeededGenerator(seed: 15)
    for n in Self.squareSizes {
      let m = Tensor.randomNormal(shape: [n, n], generator: &generator)
      let a = symmetrised(m)  // [n, n], indefinite
      let (values, vectors) = try Compute.withBackend(backend) { try LinearAlgebra.eigh(a) }
      expectValidEigendecomposition(a, values, vectors, "\(backend) n = \(n)")
    }
  }

  /// A = Q·diag(λ)·Qᵀ with known λ of both signs: eigh returns λ ascending.
  @Test(arguments: BackendKind.allAvailable)
  func eighFindsKnownEigenvalues(_ backend: BackendKind) throws {
    var generator = SeededGenerator(seed: 16)
    for n in Self.squareSizes {
      let lambda = (0..<n).map { Double(n - 2 * $0) - 0.5 }  // descending, mixed signs
      let a = matrixWithSpectrum(n, n, lambda, &generator, symmetric: true)  // [n, n]
      let (values, vectors) = try Compute.withBackend(backend) { try LinearAlgebra.eigh(a) }
      expectValidEigendecomposition(a, values, vectors, "\(backend) known λ n = \(n)")
      expectClose(
        values.scalars, lambda.reversed().map { Float($0) }, rtol: 1e-4, atol: 1e-5 * Float(n),
        "\(backend) λ n = \(n)")
    }
  }

  /// eigh reads only the lower triangle, as LAPACK's `ssyevd` with uplo = L does.
  @Test(arguments: BackendKind.allAvailable)
  func eighAndCholeskyReadTheLowerTriangle(_ backend: BackendKind) throws {
    let full = Tensor(shape: [2, 2], scalars: [2, 1, 1, 2])  // eigenvalues 1 and 3
    let lower = Tensor(shape: [2, 2], scalars: [2, 99, 1, 2])
    let (values, _) = try Compute.withBackend(backend) { try LinearAlgebra.eigh(lower) }
    expectClose(values.scalars, [1, 3], rtol: 1e-6, atol: 1e-6, "\(backend) eigenvalues")
    let l = try Compute.withBackend(backend) { try LinearAlgebra.cholesky(lower) }
    expectClose(product(l, l, transposeB: true), full, rtol: 1e-6, atol: 1e-6, "\(backend) L·Lᵀ")
  }

  // MARK: - Errors

  @Test(arguments: BackendKind.allAvailable)
  func nonFiniteInputsThrow(_ backend: BackendKind) {
    for bad in [Float.nan, .infinity, -.infinity] {
      var a = Tensor(shape: [2, 2], scalars: [2, 1, 1, 2])
      a[1, 0] = bad
      let b = Tensor(ones: [2])
      var badB = b
      badB[1] = bad
      Compute.withBackend(backend) {
        #expect(throws: LinearAlgebraError.nonFinite(operation: "solve")) {
          try LinearAlgebra.solve(a, b)
        }
        #expect(throws: LinearAlgebraError.nonFinite(operation: "solve")) {
          try LinearAlgebra.solve(Tensor(shape: [2, 2], scalars: [2, 1, 1, 2]), badB)
        }
        #expect(throws: LinearAlgebraError.nonFinite(operation: "cholesky")) {
          try LinearAlgebra.cholesky(a)
        }
        #expect(throws: LinearAlgebraError.nonFinite(operation: "qr")) { try LinearAlgebra.qr(a) }
        #expect(throws: LinearAlgebraError.nonFinite(operation: "svd")) {
          try LinearAlgebra.svd(a)
        }
        #expect(throws: LinearAlgebraError.nonFinite(operation: "eigh")) {
          try LinearAlgebra.eigh(a)
        }
      }
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func wrongShapesThrow(_ backend: BackendKind) {
    let square = Tensor(ones: [3, 3])
    let wide = Tensor(ones: [2, 3])
    let vector = Tensor(ones: [3])
    let cube = Tensor(ones: [2, 2, 2])
    Compute.withBackend(backend) {
      #expect(throws: LinearAlgebraError.shapeMismatch(operation: "solve", shapes: [[3, 3], [4]])) {
        try LinearAlgebra.solve(square, Tensor(ones: [4]))
      }
      #expect(
        throws: LinearAlgebraError.shapeMismatch(operation: "solve", shapes: [[2, 3], [2, 1]])
      ) {
        try LinearAlgebra.solve(wide, Tensor(ones: [2, 1]))
      }
      #expect(throws: LinearAlgebraError.shapeMismatch(operation: "solve", shapes: [[3, 3], []])) {
        try LinearAlgebra.solve(square, Tensor(1))
      }
      #expect(throws: LinearAlgebraError.shapeMismatch(operation: "cholesky", shapes: [[2, 3]])) {
        try LinearAlgebra.cholesky(wide)
      }
      #expect(throws: LinearAlgebraError.shapeMismatch(operation: "eigh", shapes: [[2, 3]])) {
        try LinearAlgebra.eigh(wide)
      }
      #expect(throws: LinearAlgebraError.shapeMismatch(operation: "qr", shapes: [[3]])) {
        try LinearAlgebra.qr(vector)
      }
      #expect(throws: LinearAlgebraError.shapeMismatch(operation: "svd", shapes: [[2, 2, 2]])) {
        try LinearAlgebra.svd(cube)
      }
    }
  }

  /// Empty matrices give empty results of the documented shapes.
  @Test(arguments: BackendKind.allAvailable)
  func emptyMatrices(_ backend: BackendKind) throws {
    try Compute.withBackend(backend) {
      #expect(
        try LinearAlgebra.solve(Tensor(zeros: [0, 0]), Tensor(zeros: [0, 2])).shape == [0, 2])
      #expect(try LinearAlgebra.cholesky(Tensor(zeros: [0, 0])).shape == [0, 0])
      let (q, r) = try LinearAlgebra.qr(Tensor(zeros: [4, 0]))
      #expect(q.shape == [4, 0] && r.shape == [0, 0])
      let (u, s, vt) = try LinearAlgebra.svd(Tensor(zeros: [0, 3]))
      #expect(u.shape == [0, 0] && s.shape == [0] && vt.shape == [0, 3])
      let (values, vectors) = try LinearAlgebra.eigh(Tensor(zeros: [0, 0]))
      #expect(values.shape == [0] && vectors.shape == [0, 0])
    }
  }

  // MARK: - Swift against LAPACK

  #if OpenBLAS
    /// The Swift routines give the same factors as LAPACKE, after fixing the
    /// signs that the factorisations leave free. The spectra are well separated
    /// (gaps of 2/p relative to the largest value), so the singular vectors and
    /// eigenvectors are well determined: 1e-4 absolute on unit vectors.
    @Test func swiftMatchesLAPACK() throws {
      var generator = SeededGenerator(seed: 17)
      func both<R>(_ body: () throws -> R) throws -> (swift: R, lapack: R) {
        (
          try Compute.withBackend(.swift, body),
          try Compute.withBackend(.openblas, body)
        )
      }

      for n in Self.squareSizes {
        let a = wellConditioned(n, &generator)
        let b = Tensor.randomNormal(shape: [n, 3], generator: &generator)
        let x = try both { try LinearAlgebra.solve(a, b) }
        expectClose(x.swift, x.lapack, rtol: 1e-4, atol: 1e-5, "solve n = \(n)")

        let spd = symmetricPositiveDefinite(n, &generator)
        let l = try both { try LinearAlgebra.cholesky(spd) }
        expectClose(
          l.swift, l.lapack, rtol: 1e-4, atol: 1e-5 * maxAbs(l.lapack), "cholesky n = \(n)")

        let lambda = (0..<n).map { Double(n - 2 * $0) - 0.5 }
        let symmetric = matrixWithSpectrum(n, n, lambda, &generator, symmetric: true)
        let e = try both { try LinearAlgebra.eigh(symmetric) }
        expectClose(
          e.swift.values, e.lapack.values, rtol: 1e-4, atol: 1e-5 * Float(n), "eigh λ n = \(n)")
        expectClose(
          columnsWithFixedSigns(e.swift.vectors), columnsWithFixedSigns(e.lapack.vectors),
          rtol: 0, atol: 1e-4, "eigh V n = \(n)")
      }

      for (m, n) in Self.rectangularShapes {
        let a = Tensor.randomNormal(shape: [m, n], generator: &generator)
        let qr = try both { try LinearAlgebra.qr(a) }
        let swiftQR = qrWithPositiveDiagonal(qr.swift)
        let lapackQR = qrWithPositiveDiagonal(qr.lapack)
        expectClose(swiftQR.q, lapackQR.q, rtol: 0, atol: 1e-4, "qr Q \(m)×\(n)")
        expectClose(swiftQR.r, lapackQR.r, rtol: 1e-4, atol: 1e-4, "qr R \(m)×\(n)")

        let p = min(m, n)
        let sigma = (0..<p).map { Double(2 * $0 + 1) / Double(p) }
        let spectral = matrixWithSpectrum(m, n, sigma, &generator)
        let svd = try both { try LinearAlgebra.svd(spectral) }
        expectClose(svd.swift.s, svd.lapack.s, rtol: 1e-4, atol: 1e-6, "svd S \(m)×\(n)")
        let swiftSigns = signsMakingLargestPositive(svd.swift.u)
        let lapackSigns = signsMakingLargestPositive(svd.lapack.u)
        expectClose(
          scaledColumns(svd.swift.u, swiftSigns), scaledColumns(svd.lapack.u, lapackSigns),
          rtol: 0, atol: 1e-4, "svd U \(m)×\(n)")
        expectClose(
          scaledRows(svd.swift.vt, swiftSigns), scaledRows(svd.lapack.vt, lapackSigns),
          rtol: 0, atol: 1e-4, "svd Vᵀ \(m)×\(n)")
      }
    }
  #endif
}

// MARK: - Test matrices

/// M + (n + 2)·I for a standard normal M [n, n]: condition number below about 3.
private func wellConditioned(_ n: Int, _ generator: inout SeededGenerator) -> Tensor {
  var a = Tensor.randomNormal(shape: [n, n], generator: &generator)
  for i in 0..<n { a[i, i] += Float(n + 2) }
  return a
}

/// MᵀM + n·I for a standard normal M [n, n], exactly symmetric.
private func symmetricPositiveDefinite(_ n: Int, _ generator: inout SeededGenerator) -> Tensor {
  let m = Tensor.randomNormal(shape: [n, n], generator: &generator)
  var a = product(m, m, transposeA: true)
  for i in 0..<n { a[i, i] += Float(n) }
  return symmetrised(a)
}

/// (M + Mᵀ)/2, exactly symmetric.
private func symmetrised(_ m: Tensor) -> Tensor {
  let n = m.shape[0]
  var a = m
  for i in 0..<n {
    for j in 0..<i {
      let mean = (m[i, j] + m[j, i]) / 2
      a[i, j] = mean
      a[j, i] = mean
    }
  }
  return a
}

/// Q₁·diag(σ)·Q₂ᵀ [m, n] (or Q₁·diag(σ)·Q₁ᵀ when `symmetric`), with Q₁, Q₂ the
/// leading columns of products of three random Householder reflections, so the
/// singular values (or eigenvalues) are exactly σ up to rounding.
private func matrixWithSpectrum(
  _ m: Int, _ n: Int, _ sigma: [Double], _ generator: inout SeededGenerator,
  symmetric: Bool = false
) -> Tensor {
  let left = randomOrthogonal(m, &generator)  // [m, m]
  let right = symmetric ? left : randomOrthogonal(n, &generator)  // [n, n]
  var scalars = [Float](repeating: 0, count: m * n)
  for i in 0..<m {
    for j in 0..<n {
      var sum: Double = 0
      for k in 0..<sigma.count { sum += left[i][k] * sigma[k] * right[j][k] }
      scalars[i * n + j] = Float(sum)
    }
  }
  let a = Tensor(shape: [m, n], scalars: scalars)
  return symmetric ? symmetrised(a) : a
}

/// H(v₁)·H(v₂)·H(v₃) [n, n] in Double, H(v) = I − 2·v·vᵀ/(vᵀv).
private func randomOrthogonal(_ n: Int, _ generator: inout SeededGenerator) -> [[Double]] {
  var q = (0..<n).map { i in (0..<n).map { j in i == j ? 1.0 : 0.0 } }
  for _ in 0..<3 {
    let v = (0..<n).map { _ in Double(generator.nextNormal()) }
    let norm = v.reduce(0) { $0 + $1 * $1 }
    guard norm > 0 else { continue }
    for i in 0..<n {  // q ← q·H(v): each row minus 2(row·v)/(vᵀv)·v
      let dot = zip(q[i], v).reduce(0) { $0 + $1.0 * $1.1 }
      for j in 0..<n { q[i][j] -= 2 * dot / norm * v[j] }
    }
  }
  return q
}

// MARK: - Reference products and checks

/// op(A)·op(B) accumulated in Double: the reference product, independent of any backend.
private func product(
  _ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false
) -> Tensor {
  let m = transposeA ? a.shape[1] : a.shape[0]
  let k = transposeA ? a.shape[0] : a.shape[1]
  let n = transposeB ? b.shape[0] : b.shape[1]
  precondition(k == (transposeB ? b.shape[1] : b.shape[0]), "product: \(a.shape) · \(b.shape)")
  var scalars = [Float](repeating: 0, count: m * n)
  for i in 0..<m {
    for j in 0..<n {
      var sum: Double = 0
      for l in 0..<k {
        sum += Double(transposeA ? a[l, i] : a[i, l]) * Double(transposeB ? b[j, l] : b[l, j])
      }
      scalars[i * n + j] = Float(sum)
    }
  }
  return Tensor(shape: [m, n], scalars: scalars)
}

private func maxAbs(_ t: Tensor) -> Float { t.scalars.reduce(0) { max($0, abs($1)) } }

private func identity(_ n: Int) -> Tensor {
  var result = Tensor(zeros: [n, n])
  for i in 0..<n { result[i, i] = 1 }
  return result
}

/// QᵀQ = I within 1e-5 for Q [m, p].
private func expectOrthonormalColumns(
  _ q: Tensor, _ comment: String, sourceLocation: SourceLocation = #_sourceLocation
) {
  expectClose(
    product(q, q, transposeA: true), identity(q.shape[1]), rtol: 0, atol: 1e-5, comment,
    sourceLocation: sourceLocation)
}

/// U [m, p] and V [n, p] orthonormal, S [p] descending and non-negative, and
/// U·diag(S)·Vᵀ = A within 1e-5·max|A|.
private func expectValidSVD(
  _ a: Tensor, _ u: Tensor, _ s: Tensor, _ vt: Tensor, _ comment: String,
  rankDeficient: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
) {
  let (m, n) = (a.shape[0], a.shape[1])
  let p = min(m, n)
  #expect(u.shape == [m, p] && s.shape == [p] && vt.shape == [p, n], "\(comment) shapes")
  guard u.shape == [m, p], s.shape == [p], vt.shape == [p, n] else { return }
  let values = s.scalars
  #expect(values.allSatisfy { $0 >= 0 }, "\(comment) S ≥ 0: \(values)")
  #expect(zip(values, values.dropFirst()).allSatisfy { $0 >= $1 }, "\(comment) S sorted: \(values)")
  expectOrthonormalColumns(u, "\(comment) UᵀU", sourceLocation: sourceLocation)
  expectClose(
    product(vt, vt, transposeB: true), identity(p), rtol: 0, atol: 1e-5, "\(comment) VᵀV",
    sourceLocation: sourceLocation)
  var us = u
  for i in 0..<m {
    for j in 0..<p { us[i, j] *= values[j] }
  }
  expectClose(
    product(us, vt), a, rtol: 0, atol: 1e-5 * maxAbs(a), "\(comment) U·S·Vᵀ = A",
    sourceLocation: sourceLocation)
}

/// Λ [n] ascending, V [n, n] orthonormal and V·diag(Λ)·Vᵀ = A within 1e-5·max|A|.
private func expectValidEigendecomposition(
  _ a: Tensor, _ values: Tensor, _ vectors: Tensor, _ comment: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  let n = a.shape[0]
  #expect(values.shape == [n] && vectors.shape == [n, n], "\(comment) shapes")
  guard values.shape == [n], vectors.shape == [n, n] else { return }
  let lambda = values.scalars
  #expect(zip(lambda, lambda.dropFirst()).allSatisfy { $0 <= $1 }, "\(comment) Λ sorted: \(lambda)")
  expectOrthonormalColumns(vectors, "\(comment) VᵀV", sourceLocation: sourceLocation)
  var scaled = vectors
  for i in 0..<n {
    for j in 0..<n { scaled[i, j] *= lambda[j] }
  }
  expectClose(
    product(scaled, vectors, transposeB: true), a, rtol: 0, atol: 1e-5 * maxAbs(a),
    "\(comment) V·Λ·Vᵀ = A", sourceLocation: sourceLocation)
}

// MARK: - Sign normalisation

/// For each column, +1 or −1 so that its largest-magnitude element becomes positive.
private func signsMakingLargestPositive(_ columns: Tensor) -> [Float] {
  let (rows, count) = (columns.shape[0], columns.shape[1])
  return (0..<count).map { j in
    var largest: Float = 0
    for i in 0..<rows where abs(columns[i, j]) > abs(largest) { largest = columns[i, j] }
    return largest < 0 ? -1 : 1
  }
}

private func scaledColumns(_ t: Tensor, _ signs: [Float]) -> Tensor {
  var result = t
  for i in 0..<t.shape[0] {
    for j in 0..<t.shape[1] { result[i, j] *= signs[j] }
  }
  return result
}

private func scaledRows(_ t: Tensor, _ signs: [Float]) -> Tensor {
  var result = t
  for i in 0..<t.shape[0] {
    for j in 0..<t.shape[1] { result[i, j] *= signs[i] }
  }
  return result
}

private func columnsWithFixedSigns(_ t: Tensor) -> Tensor {
  scaledColumns(t, signsMakingLargestPositive(t))
}

/// Q·D and D·R with D = diag(sign(R[j, j])): the unique QR with R's diagonal ≥ 0.
private func qrWithPositiveDiagonal(_ factors: (q: Tensor, r: Tensor)) -> (q: Tensor, r: Tensor) {
  let signs = (0..<factors.r.shape[0]).map { factors.r[$0, $0] < 0 ? Float(-1) : 1 }
  return (scaledColumns(factors.q, signs), scaledRows(factors.r, signs))
}
