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

    // Squared norms of the vectors: recomputed before each sweep, and updated
    // in closed form (‖x‖² − t·x·y, ‖y‖² + t·x·y) by each rotation in between.
    let squaredNorms = UnsafeMutablePointer<Double>.allocate(capacity: p)  // [p]
    defer { squaredNorms.deallocate() }
    let rotated = UnsafeMutablePointer<Bool>.allocate(capacity: p / 2 + 1)
    defer { rotated.deallocate() }

    try roundRobinSweeps(count: p, operation: "svd") {
      for k in 0..<p {
        let x = vectors + k * length  // [L]
        squaredNorms[k] = dot(x, x, count: length)
      }
    } round: { pairs in
      rotated.initialize(repeating: false, count: pairs.count)
      Parallel.forEachChunk(pairs.count, minimumChunk: max(1, 4_096 / (length + p))) { range in
        for index in range {
          let (first, second) = pairs[index]
          let xx = squaredNorms[first]
          let yy = squaredNorms[second]
          let xNorm = xx.squareRoot()
          let yNorm = yy.squareRoot()
          guard xNorm > negligible, yNorm > negligible else { continue }
          let x = vectors + first * length  // [L]
          let y = vectors + second * length  // [L]
          let xy = dot(x, y, count: length)
          guard abs(xy) > tolerance * xNorm * yNorm else { continue }
          let (c, s) = jacobiRotation(pp: xx, qq: yy, pq: xy)
          let t = s / c
          rotate(x, y, count: length, c: c, s: s)
          rotate(rotations + first * p, rotations + second * p, count: p, c: c, s: s)
          squaredNorms[first] = max(0, xx - t * xy)
          squaredNorms[second] = max(0, yy + t * xy)
          rotated[index] = true
        }
      }
      for index in 0..<pairs.count where rotated[index] { return true }
      return false
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
    ensureFailure("completeOrthonormal: no completion for \(count) vectors of \(length)")
  }

  /// Runs sweeps over every pair of `count` items in round-robin order until
  /// a sweep rotates nothing.
  ///
  /// A sweep is count − 1 rounds (count rounded up to even); the pairs of a
  /// round are disjoint, so their rotations can run in parallel. `beforeSweep`
  /// runs at the start of each sweep; `round` gets the pairs (first < second)
  /// of one round and returns whether it rotated any.
  private static func roundRobinSweeps(
    count: Int, operation: String, beforeSweep: () -> Void,
    round: (UnsafeBufferPointer<(Int, Int)>) -> Bool
  ) throws(LinearAlgebraError) {
    guard count > 1 else { return }
    let players = count + count % 2  // an odd count gets a bye: seat `count`
    var seats = Array(0..<players)
    var pairs = [(Int, Int)]()
    pairs.reserveCapacity(players / 2)
    for _ in 0..<maximumSweeps {
      beforeSweep()
      var anyRotation = false
      for _ in 0..<(players - 1) {
        pairs.removeAll(keepingCapacity: true)
        for seat in 0..<(players / 2) {
          let first = min(seats[seat], seats[players - 1 - seat])
          let second = max(seats[seat], seats[players - 1 - seat])
          if second < count { pairs.append((first, second)) }
        }
        if pairs.withUnsafeBufferPointer(round) { anyRotation = true }
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
  /// in round-robin order and zeroes A[p, q] with a rotation unless |A[p, q]| ≤
  /// ε·‖A‖_F / n (ε the Double epsilon); a sweep with no rotation leaves an
  /// off-diagonal norm below ε·‖A‖_F, and ends the iteration. The n/2
  /// rotations of a round touch disjoint rows and columns, so they are applied
  /// together (Brent and Luk's parallel ordering): rows pair by pair, then
  /// columns row by row, each in parallel and along contiguous memory.
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

    let rotationStorage = UnsafeMutablePointer<PlaneRotation>.allocate(capacity: n / 2 + 1)
    defer { rotationStorage.deallocate() }

    try roundRobinSweeps(count: n, operation: "eigh") {
    } round: { pairs in
      // The rotations of this round, from the current matrix.
      var active = 0
      for (p, q) in pairs where abs(matrix[p * n + q]) > negligible {
        let app = matrix[p * n + p]
        let aqq = matrix[q * n + q]
        let apq = matrix[p * n + q]
        let (c, s) = jacobiRotation(pp: app, qq: aqq, pq: apq)
        rotationStorage[active] = PlaneRotation(
          p: p, q: q, c: c, s: s, pp: app - s / c * apq, qq: aqq + s / c * apq)
        active += 1
      }
      guard active > 0 else { return false }
      let rotations = UnsafeBufferPointer(start: rotationStorage, count: active)
      // A ← Jᵀ·A·J, J the product of the round's disjoint rotations: rows
      // (and the rows of Vᵀ) pair by pair, then columns row by row.
      Parallel.forEachChunk(active, minimumChunk: max(1, 2_048 / n)) { range in
        for rotation in rotations[range] {
          let (p, q, c, s) = (rotation.p, rotation.q, rotation.c, rotation.s)
          rotate(matrix + p * n, matrix + q * n, count: n, c: c, s: s)
          rotate(vectors + p * n, vectors + q * n, count: n, c: c, s: s)
        }
      }
      Parallel.forEachChunk(n, minimumChunk: max(1, 2_048 / active)) { range in
        for row in range {
          let elements = matrix + row * n  // [n]
          for rotation in rotations {
            let x = elements[rotation.p]
            let y = elements[rotation.q]
            elements[rotation.p] = rotation.c * x - rotation.s * y
            elements[rotation.q] = rotation.s * x + rotation.c * y
          }
        }
      }
      // Each 2 × 2 block takes its exact values: the rotation zeroes A[p, q].
      for rotation in rotations {
        let (p, q) = (rotation.p, rotation.q)
        matrix[p * n + p] = rotation.pp
        matrix[q * n + q] = rotation.qq
        matrix[p * n + q] = 0
        matrix[q * n + p] = 0
      }
      return true
    }

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

  /// One plane rotation of a Jacobi round: J = [[c, s], [−s, c]] in the (p, q)
  /// plane, and the diagonal entries A[p, p], A[q, q] it produces.
  private struct PlaneRotation {
    var p: Int
    var q: Int
    var c: Double
    var s: Double
    var pp: Double
    var qq: Double
  }

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
