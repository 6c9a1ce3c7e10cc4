// Pure-Swift Jacobi methods: the one-sided Jacobi SVD and the cyclic Jacobi
// symmetric eigendecomposition, both in Double.
//
// m × n the input, p = min(m, n), L = max(m, n) the length of the vectors that
// one-sided Jacobi orthogonalises
//
// Both methods apply plane rotations until every pair is orthogonal (SVD) or
// every off-diagonal element is negligible (eigh). They converge quadratically
// once the off-diagonal part is small, usually within 6 to 12 sweeps, and reach
// high relative accuracy. A sweep that performs no rotation ends the
// iteration; past `maximumSweeps` sweeps they throw `didNotConverge`.

extension SwiftLinearAlgebra {
  /// The sweep count past which a Jacobi iteration reports `didNotConverge`.
  static let maximumSweeps = 60

  // MARK: - SVD

  /// The thin SVD by one-sided (Hestenes) Jacobi, in Double.
  ///
  /// The p vectors of length L (the columns of A when m ≥ n, else its rows) are
  /// rotated in pairs until every pair (x, y) has |x·y| ≤ L·ε·‖x‖‖y‖ (ε the
  /// Double epsilon), accumulating the rotations in a p × p orthogonal matrix.
  /// The vectors' norms are then the singular values, and the normalised
  /// vectors and the accumulated rotations are the singular vectors. Pairs are
  /// visited in round-robin order, so the p/2 rotations of a round touch
  /// disjoint vectors and run in parallel.
  ///
  /// - Parameter a: A [m, n].
  /// - Returns: U [m, p], S [p] descending, Vᵀ [p, n].
  static func svd(_ a: Tensor) throws(LinearAlgebraError) -> (u: Tensor, s: Tensor, vt: Tensor) {
    let (m, n) = try LinearAlgebraInput.requireMatrix(a, "svd")
    try LinearAlgebraInput.requireFinite(a, operation: "svd")
    let p = min(m, n)
    guard p > 0 else { return (Tensor(zeros: [m, p]), Tensor(zeros: [p]), Tensor(zeros: [p, n])) }
    let tall = m >= n
    let length = max(m, n)

    // Row k of `vectors` is column k of A (tall) or row k of A (wide).
    let vectorStorage = tall ? DoubleMatrix(transposing: a) : DoubleMatrix(a)  // [p, L]
    defer { vectorStorage.deallocate() }
    let rotationStorage = DoubleMatrix(zeros: p * p)  // [p, p], row k = rotated e_k
    defer { rotationStorage.deallocate() }
    let vectors = vectorStorage.elements
    let rotations = rotationStorage.elements
    for k in 0..<p { rotations[k * p + k] = 1 }

    var frobenius: Double = 0
    for index in 0..<(p * length) { frobenius += vectors[index] * vectors[index] }
    frobenius = frobenius.squareRoot()
    // Vectors shorter than this are rounding noise: they are not rotated, and
    // their singular vectors are completed to an orthonormal set instead.
    let negligible = Double.ulpOfOne * frobenius
    let tolerance = Double(length) * Double.ulpOfOne

    try roundRobinSweeps(count: p, operation: "svd") { first, second in
      let x = vectors + first * length  // [L]
      let y = vectors + second * length  // [L]
      var xx: Double = 0
      var yy: Double = 0
      var xy: Double = 0
      for i in 0..<length {
        xx += x[i] * x[i]
        yy += y[i] * y[i]
        xy += x[i] * y[i]
      }
      let xNorm = xx.squareRoot()
      let yNorm = yy.squareRoot()
      guard xNorm > negligible, yNorm > negligible, abs(xy) > tolerance * xNorm * yNorm else {
        return false
      }
      let (c, s) = jacobiRotation(pp: xx, qq: yy, pq: xy)
      rotate(x, y, count: length, c: c, s: s)
      rotate(rotations + first * p, rotations + second * p, count: p, c: c, s: s)
      return true
    }

    // Singular values and the order that sorts them descending.
    var values = [Double](repeating: 0, count: p)
    for k in 0..<p {
      let x = vectors + k * length
      var squares: Double = 0
      for i in 0..<length { squares += x[i] * x[i] }
      values[k] = squares.squareRoot()
    }
    let order = (0..<p).sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }

    // Normalised vectors, in sorted order, row k of `normalised` for value k.
    let normalisedStorage = DoubleMatrix(zeros: p * length)  // [p, L]
    defer { normalisedStorage.deallocate() }
    let normalised = normalisedStorage.elements
    for (rank, k) in order.enumerated() {
      let source = vectors + k * length
      let target = normalised + rank * length
      if values[k] > negligible {
        let inverse = 1 / values[k]
        for i in 0..<length { target[i] = source[i] * inverse }
      } else {
        values[k] = 0
        completeOrthonormal(target, previous: normalised, count: rank, length: length)
      }
    }

    let s = Tensor(shape: [p], scalars: order.map { Float(values[$0]) })  // [p]
    // Tall: A = U·S·Vᵀ with U's columns the normalised vectors and V's columns
    // the rotated e_k. Wide: the same for Aᵀ, so the two swap roles.
    var left = Tensor(uninitializedShape: [m, p])  // [m, p]
    var right = Tensor(uninitializedShape: [p, n])  // [p, n]
    left.withUnsafeMutableBufferPointer { u in
      right.withUnsafeMutableBufferPointer { vt in
        for (rank, k) in order.enumerated() {
          if tall {
            for i in 0..<m { u[i * p + rank] = Float(normalised[rank * length + i]) }
            for j in 0..<n { vt[rank * n + j] = Float(rotations[k * p + j]) }
          } else {
            for i in 0..<m { u[i * p + rank] = Float(rotations[k * p + i]) }
            for j in 0..<n { vt[rank * n + j] = Float(normalised[rank * length + j]) }
          }
        }
      }
    }
    return (left, s, right)
  }

  /// Fills `target` [length] with a unit vector orthogonal to the `count`
  /// orthonormal rows of `previous` [count, length], by Gram–Schmidt (twice)
  /// on the coordinate vectors until one keeps a substantial component.
  private static func completeOrthonormal(
    _ target: UnsafeMutablePointer<Double>, previous: UnsafeMutablePointer<Double>, count: Int,
    length: Int
  ) {
    for candidate in 0..<length {
      for i in 0..<length { target[i] = i == candidate ? 1 : 0 }
      for _ in 0..<2 {
        for row in 0..<count {
          let basis = previous + row * length
          var dot: Double = 0
          for i in 0..<length { dot += basis[i] * target[i] }
          for i in 0..<length { target[i] -= dot * basis[i] }
        }
      }
      var squares: Double = 0
      for i in 0..<length { squares += target[i] * target[i] }
      // A coordinate vector keeps at least 1/L of its squared length outside a
      // subspace of dimension < L for some coordinate; 1/(2L) is safely below.
      if squares > 0.5 / Double(length) {
        let inverse = 1 / squares.squareRoot()
        for i in 0..<length { target[i] *= inverse }
        return
      }
    }
    preconditionFailure("completeOrthonormal: no completion for \(count) vectors of \(length)")
  }

  /// Runs sweeps of `rotatePair` over every pair of `count` items in
  /// round-robin order until a sweep rotates nothing.
  ///
  /// In each of the count − 1 rounds (count rounded up to even) the pairs are
  /// disjoint, so they run in parallel. `rotatePair(i, j)` returns whether it
  /// rotated.
  private static func roundRobinSweeps(
    count: Int, operation: String, _ rotatePair: (Int, Int) -> Bool
  ) throws(LinearAlgebraError) {
    guard count > 1 else { return }
    let players = count + count % 2  // an odd count gets a bye slot
    let pairCount = players / 2
    var seats = Array(0..<players)
    let rotated = UnsafeMutablePointer<Bool>.allocate(capacity: pairCount)
    defer { rotated.deallocate() }
    for _ in 0..<maximumSweeps {
      var anyRotation = false
      for _ in 0..<(players - 1) {
        rotated.initialize(repeating: false, count: pairCount)
        seats.withUnsafeBufferPointer { seat in
          Parallel.forEachChunk(pairCount, minimumChunk: max(1, 4_096 / count)) { range in
            for pair in range {
              let first = min(seat[pair], seat[players - 1 - pair])
              let second = max(seat[pair], seat[players - 1 - pair])
              if second < count { rotated[pair] = rotatePair(first, second) }
            }
          }
        }
        for pair in 0..<pairCount where rotated[pair] { anyRotation = true }
        // Keep seat 0 fixed and move everyone else one seat along.
        let last = seats[players - 1]
        for index in stride(from: players - 1, to: 1, by: -1) { seats[index] = seats[index - 1] }
        seats[1] = last
      }
      if !anyRotation { return }
    }
    throw .didNotConverge(operation: operation)
  }

  // MARK: - Symmetric eigendecomposition

  /// The eigendecomposition of a symmetric matrix by cyclic Jacobi, in Double.
  ///
  /// Reads only the lower triangle of A. Each sweep visits every (p, q), p < q,
  /// in row order and zeroes A[p, q] with a rotation unless |A[p, q]| ≤
  /// ε·‖A‖_F / n (ε the Double epsilon); a sweep with no rotation leaves an
  /// off-diagonal norm below ε·‖A‖_F, and ends the iteration.
  ///
  /// - Parameter a: A [n, n].
  /// - Returns: the eigenvalues [n] ascending and V [n, n] with the unit
  ///   eigenvectors as columns.
  static func eigh(_ a: Tensor) throws(LinearAlgebraError) -> (values: Tensor, vectors: Tensor) {
    let n = try LinearAlgebraInput.requireSquare(a, "eigh")
    try LinearAlgebraInput.requireFinite(a, operation: "eigh")
    guard n > 0 else { return (Tensor(zeros: [0]), Tensor(zeros: [0, 0])) }

    let matrixStorage = DoubleMatrix(zeros: n * n)  // [n, n], full and symmetric
    defer { matrixStorage.deallocate() }
    let vectorStorage = DoubleMatrix(zeros: n * n)  // [n, n] = Vᵀ: row k is eigenvector k
    defer { vectorStorage.deallocate() }
    let matrix = matrixStorage.elements
    let vectors = vectorStorage.elements
    let source = a.storage.pointer
    var frobenius: Double = 0
    for row in 0..<n {
      for column in 0...row {
        let value = Double(source[row * n + column])
        matrix[row * n + column] = value
        matrix[column * n + row] = value
        frobenius += row == column ? value * value : 2 * value * value
      }
      vectors[row * n + row] = 1
    }
    frobenius = frobenius.squareRoot()
    let negligible = Double.ulpOfOne * frobenius / Double(n)

    var converged = false
    for _ in 0..<maximumSweeps {
      var anyRotation = false
      for p in 0..<n {
        for q in (p + 1)..<n where abs(matrix[p * n + q]) > negligible {
          anyRotation = true
          let rowP = matrix + p * n  // [n]
          let rowQ = matrix + q * n  // [n]
          let app = rowP[p]
          let aqq = rowQ[q]
          let apq = rowP[q]
          let (c, s) = jacobiRotation(pp: app, qq: aqq, pq: apq)
          let t = s / c
          // Jᵀ·A·J: rotate rows p and q, set the 2 × 2 block, mirror the rows
          // into columns p and q.
          rotate(rowP, rowQ, count: n, c: c, s: s)
          rowP[p] = app - t * apq
          rowQ[q] = aqq + t * apq
          rowP[q] = 0
          rowQ[p] = 0
          for r in 0..<n where r != p && r != q {
            matrix[r * n + p] = rowP[r]
            matrix[r * n + q] = rowQ[r]
          }
          rotate(vectors + p * n, vectors + q * n, count: n, c: c, s: s)
        }
      }
      if !anyRotation {
        converged = true
        break
      }
    }
    if !converged { throw .didNotConverge(operation: "eigh") }

    let order = (0..<n).sorted {
      matrix[$0 * n + $0] < matrix[$1 * n + $1]
        || (matrix[$0 * n + $0] == matrix[$1 * n + $1] && $0 < $1)
    }
    let values = Tensor(shape: [n], scalars: order.map { Float(matrix[$0 * n + $0]) })  // [n]
    var result = Tensor(uninitializedShape: [n, n])  // [n, n]
    result.withUnsafeMutableBufferPointer { target in
      for (rank, k) in order.enumerated() {
        for i in 0..<n { target[i * n + rank] = Float(vectors[k * n + i]) }
      }
    }
    return (values, result)
  }

  // MARK: - Rotations

  /// The rotation (c, s) that diagonalises the symmetric 2 × 2 matrix
  /// [[pp, pq], [pq, qq]] as Jᵀ·M·J with J = [[c, s], [−s, c]], taking the
  /// smaller angle (|θ| ≤ π/4), as in Golub and Van Loan's `sym.schur2`.
  static func jacobiRotation(pp: Double, qq: Double, pq: Double) -> (c: Double, s: Double) {
    let theta = (qq - pp) / (2 * pq)
    let t: Double
    if abs(theta) > 1e150 {
      t = 0.5 / theta  // θ² would overflow; t ≈ 1/(2θ)
    } else {
      let magnitude = 1 / (abs(theta) + (theta * theta + 1).squareRoot())
      t = theta >= 0 ? magnitude : -magnitude
    }
    let c = 1 / (t * t + 1).squareRoot()
    return (c, c * t)
  }

  /// x ← c·x − s·y and y ← s·x + c·y, elementwise over `count` elements.
  private static func rotate(
    _ x: UnsafeMutablePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int,
    c: Double, s: Double
  ) {
    for i in 0..<count {
      let xi = x[i]
      let yi = y[i]
      x[i] = c * xi - s * yi
      y[i] = s * xi + c * yi
    }
  }
}
