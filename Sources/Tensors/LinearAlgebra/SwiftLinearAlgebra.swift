// Pure-Swift dense linear algebra: LU solve, Cholesky and Householder QR.
//
// n order of a square matrix, m × n a rectangular one, r right-hand sides,
// p = min(m, n)
//
// Inputs are Float32; every routine copies its input into a Double work array,
// factorises in Double and rounds the result back to Float32 once, so the
// results are as accurate as Float32 can hold for well-conditioned inputs.
// The Jacobi routines (SVD, symmetric eigendecomposition) are in
// `SwiftLinearAlgebra+Jacobi.swift`.

/// The linear algebra of the Swift backend.
enum SwiftLinearAlgebra {
  // MARK: - Solve

  /// Solves A·X = B by LU factorisation with partial pivoting, in Double.
  ///
  /// A pivot of magnitude at most n·ε·max|A| (ε the Float32 epsilon) counts as
  /// zero: such a matrix is singular to Float32 precision.
  ///
  /// - Parameters:
  ///   - a: A [n, n].
  ///   - b: B [n, r] or [n].
  /// - Returns: X with the shape of `b`.
  static func solve(_ a: Tensor, _ b: Tensor) throws(LinearAlgebraError) -> Tensor {
    let (n, r) = try LinearAlgebraInput.requireSolveOperands(a, b)
    try LinearAlgebraInput.requireFinite(a, b, operation: "solve")
    guard n > 0, r > 0 else { return Tensor(zeros: b.shape) }
    let threshold = Double(
      LinearAlgebraInput.singularPivotThreshold(
        order: n, largest: LinearAlgebraInput.largestMagnitude(a)))

    let lu = DoubleMatrix(a)  // [n, n]: L below the diagonal (unit diagonal implied), U above
    defer { lu.deallocate() }
    let x = DoubleMatrix(b)  // [n, r]: B, then L⁻¹·P·B, then X
    defer { x.deallocate() }
    let u = lu.elements
    let rhs = x.elements

    for k in 0..<n {
      var pivotRow = k
      var largest = abs(u[k * n + k])
      for row in (k + 1)..<n where abs(u[row * n + k]) > largest {
        largest = abs(u[row * n + k])
        pivotRow = row
      }
      if !(largest > threshold) { throw .singular(operation: "solve", pivot: k) }
      if pivotRow != k {
        swapRows(u + k * n, u + pivotRow * n, count: n)
        swapRows(rhs + k * r, rhs + pivotRow * r, count: r)
      }
      // Eliminate column k below the pivot; rows are independent.
      let pivot = u[k * n + k]
      let pivotLU = u + k * n  // [n]
      let pivotRHS = rhs + k * r  // [r]
      let remaining = n - k - 1
      Parallel.forEachChunk(remaining, minimumChunk: max(1, 8_192 / (n - k + r))) { range in
        for offset in range {
          let row = u + (k + 1 + offset) * n  // [n]
          let factor = row[k] / pivot
          row[k] = factor
          if factor == 0 { continue }
          for column in (k + 1)..<n { row[column] -= factor * pivotLU[column] }
          let rowRHS = rhs + (k + 1 + offset) * r  // [r]
          for column in 0..<r { rowRHS[column] -= factor * pivotRHS[column] }
        }
      }
    }

    // Back substitution with U, all right-hand sides at once.
    for row in stride(from: n - 1, through: 0, by: -1) {
      let solution = rhs + row * r  // [r]
      for column in (row + 1)..<n {
        let coefficient = u[row * n + column]
        let known = rhs + column * r  // [r]
        for index in 0..<r { solution[index] -= coefficient * known[index] }
      }
      let diagonal = u[row * n + row]
      for index in 0..<r { solution[index] /= diagonal }
    }
    return x.tensor(shape: b.shape)
  }

  // MARK: - Cholesky

  /// The lower-triangular L with L·Lᵀ = A, by the Cholesky–Banachiewicz
  /// recurrence in Double. Reads only the lower triangle of A.
  ///
  /// - Parameter a: A [n, n], symmetric positive definite.
  /// - Returns: L [n, n].
  static func cholesky(_ a: Tensor) throws(LinearAlgebraError) -> Tensor {
    let n = try LinearAlgebraInput.requireSquare(a, "cholesky")
    try LinearAlgebraInput.requireFinite(a, operation: "cholesky")
    let l = DoubleMatrix(zeros: n * n)  // [n, n]
    defer { l.deallocate() }
    let factor = l.elements
    let source = a.storage.pointer  // [n, n]

    for j in 0..<n {
      let rowJ = factor + j * n  // [n]: L[j, 0..<j] is known
      var diagonal = Double(source[j * n + j])
      diagonal -= dot(rowJ, rowJ, count: j)
      // A non-positive (or NaN) pivot: the leading minor of order j + 1 is not
      // positive definite.
      if !(diagonal > 0) { throw .notPositiveDefinite(order: j + 1) }
      let root = diagonal.squareRoot()
      rowJ[j] = root
      Parallel.forEachChunk(n - j - 1, minimumChunk: max(1, 8_192 / (j + 1))) { range in
        for offset in range {
          let i = j + 1 + offset
          let rowI = factor + i * n  // [n]
          let sum = Double(source[i * n + j]) - dot(rowI, rowJ, count: j)
          rowI[j] = sum / root
        }
      }
    }
    return l.tensor(shape: [n, n])
  }

  // MARK: - QR

  /// The thin QR factorisation by Householder reflections, in Double.
  ///
  /// Each reflector H = I − τ·v·vᵀ (v₀ = 1) maps the column below the diagonal
  /// onto β·e₀ with β = −sign(α)·‖x‖, as LAPACK's `sgeqrf` does, so R's diagonal
  /// signs match LAPACK's in exact arithmetic.
  ///
  /// - Parameter a: A [m, n].
  /// - Returns: Q [m, p] with orthonormal columns and R [p, n] upper triangular.
  static func qr(_ a: Tensor) throws(LinearAlgebraError) -> (q: Tensor, r: Tensor) {
    let (m, n) = try LinearAlgebraInput.requireMatrix(a, "qr")
    try LinearAlgebraInput.requireFinite(a, operation: "qr")
    let p = min(m, n)
    guard p > 0 else { return (Tensor(zeros: [m, p]), Tensor(zeros: [p, n])) }

    // Column-major work array: column c is columns + c·m, contiguous.
    let work = DoubleMatrix(transposing: a)  // [n, m] = Aᵀ
    defer { work.deallocate() }
    let columns = work.elements
    let tau = UnsafeMutablePointer<Double>.allocate(capacity: p)  // [p]
    defer { tau.deallocate() }

    for j in 0..<p {
      let column = columns + j * m  // [m]: x = column[j..<m]
      let tail = dot(column + j + 1, column + j + 1, count: m - j - 1)
      let alpha = column[j]
      if tail == 0 {
        tau[j] = 0  // already upper triangular here: H = I
        continue
      }
      let norm = (alpha * alpha + tail).squareRoot()
      let beta = alpha >= 0 ? -norm : norm
      tau[j] = (beta - alpha) / beta
      let scale = 1 / (alpha - beta)
      for i in (j + 1)..<m { column[i] *= scale }  // v[1...], stored below the diagonal
      column[j] = beta
      applyReflector(
        v: column, tau: tau[j], from: j, length: m, to: columns, columnRange: (j + 1)..<n)
    }

    var r = Tensor(zeros: [p, n])  // [p, n]
    r.withUnsafeMutableBufferPointer { target in
      for row in 0..<p {
        for column in row..<n { target[row * n + column] = Float(columns[column * m + row]) }
      }
    }

    // Q = H₀·H₁·…·Hₚ₋₁ applied to the first p columns of the identity, last
    // reflector first; H_j leaves the columns before j untouched.
    let basis = DoubleMatrix(zeros: p * m)  // [p, m] = Qᵀ, column-major Q
    defer { basis.deallocate() }
    let qColumns = basis.elements
    for c in 0..<p { qColumns[c * m + c] = 1 }
    for j in stride(from: p - 1, through: 0, by: -1) where tau[j] != 0 {
      applyReflector(
        v: columns + j * m, tau: tau[j], from: j, length: m, to: qColumns, columnRange: j..<p)
    }
    return (basis.tensor(shape: [m, p], transposingFrom: [p, m]), r)
  }

  /// Applies H = I − τ·v·vᵀ, with v = (1, v[start+1..<length]) on rows
  /// start..<length, to the given columns of a column-major matrix.
  private static func applyReflector(
    v: UnsafeMutablePointer<Double>, tau: Double, from start: Int, length: Int,
    to columns: UnsafeMutablePointer<Double>, columnRange: Range<Int>
  ) {
    let work = (length - start) * 2
    Parallel.forEachChunk(columnRange.count, minimumChunk: max(1, 8_192 / max(work, 1))) {
      chunk in
      for offset in chunk {
        let target = columns + (columnRange.lowerBound + offset) * length  // [length]
        let product =
          tau * (target[start] + dot(v + start + 1, target + start + 1, count: length - start - 1))
        target[start] -= product
        for i in (start + 1)..<length { target[i] -= product * v[i] }
      }
    }
  }

  /// Σ x[i]·y[i] over `count` elements, with eight partial sums so that it vectorises.
  @inline(__always)
  static func dot(
    _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, count: Int
  ) -> Double {
    var low = SIMD4<Double>()
    var high = SIMD4<Double>()
    var index = 0
    while index + 8 <= count {
      let x0 = UnsafeRawPointer(x + index).loadUnaligned(as: SIMD4<Double>.self)
      let y0 = UnsafeRawPointer(y + index).loadUnaligned(as: SIMD4<Double>.self)
      let x1 = UnsafeRawPointer(x + index + 4).loadUnaligned(as: SIMD4<Double>.self)
      let y1 = UnsafeRawPointer(y + index + 4).loadUnaligned(as: SIMD4<Double>.self)
      low.addProduct(x0, y0)
      high.addProduct(x1, y1)
      index += 8
    }
    var sum = (low + high).sum()
    while index < count {
      sum += x[index] * y[index]
      index += 1
    }
    return sum
  }

  private static func swapRows(
    _ first: UnsafeMutablePointer<Double>, _ second: UnsafeMutablePointer<Double>, count: Int
  ) {
    for index in 0..<count {
      let value = first[index]
      first[index] = second[index]
      second[index] = value
    }
  }
}

/// A manually managed Double work array for the Swift linear-algebra routines.
struct DoubleMatrix {
  /// The elements; owned, released by ``deallocate()``.
  let elements: UnsafeMutablePointer<Double>
  /// The number of elements.
  let count: Int

  /// `count` zeros.
  init(zeros count: Int) {
    self.count = count
    elements = .allocate(capacity: max(count, 1))
    elements.initialize(repeating: 0, count: count)
  }

  /// The elements of `tensor` widened to Double, in the same order.
  init(_ tensor: Tensor) {
    self.init(zeros: tensor.count)
    let source = tensor.storage.pointer
    for index in 0..<count { elements[index] = Double(source[index]) }
  }

  /// The transpose of the matrix `tensor` [rows, columns], as [columns, rows].
  init(transposing tensor: Tensor) {
    ensure(tensor.rank == 2, "DoubleMatrix(transposing:): rank \(tensor.rank), not 2")
    self.init(zeros: tensor.count)
    let rows = tensor.shape[0]
    let columns = tensor.shape[1]
    let source = tensor.storage.pointer
    for row in 0..<rows {
      for column in 0..<columns {
        elements[column * rows + row] = Double(source[row * columns + column])
      }
    }
  }

  /// The elements rounded to Float32, as a tensor of `shape`.
  func tensor(shape: [Int]) -> Tensor {
    var result = Tensor(uninitializedShape: shape)
    ensure(result.count == count, "DoubleMatrix.tensor: \(count) elements for \(shape)")
    result.withUnsafeMutableBufferPointer { target in
      for index in 0..<count { target[index] = Float(elements[index]) }
    }
    return result
  }

  /// The matrix stored here as `stored` [rows, columns], transposed into a
  /// tensor of `shape` [columns, rows] and rounded to Float32.
  func tensor(shape: [Int], transposingFrom stored: [Int]) -> Tensor {
    ensure(shape == [stored[1], stored[0]], "DoubleMatrix.tensor: \(stored) → \(shape)")
    var result = Tensor(uninitializedShape: shape)
    let rows = stored[0]
    let columns = stored[1]
    result.withUnsafeMutableBufferPointer { target in
      for row in 0..<rows {
        for column in 0..<columns {
          target[column * rows + row] = Float(elements[row * columns + column])
        }
      }
    }
    return result
  }

  func deallocate() { elements.deallocate() }
}
