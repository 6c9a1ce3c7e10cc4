// Dense linear algebra on row-major Float32 matrices: the public entry points.
//
// n order of a square matrix, m × n a rectangular one, r right-hand sides,
// p = min(m, n)
//
// Each routine dispatches to the current backend (``Compute/backend``):
// LAPACKE on the OpenBLAS backend, the Swift routines of `SwiftLinearAlgebra`
// on the Swift backend. None of them records itself for autograd: they serve
// closed-form fits (a ridge linear probe) and data transforms (whitening).

/// Solves, factorises and decomposes dense matrices on the current backend.
///
/// Every input is a row-major Float32 matrix; inputs holding NaN or infinity
/// throw ``LinearAlgebraError/nonFinite(operation:)``, and inputs of the wrong
/// rank or size throw ``LinearAlgebraError/shapeMismatch(operation:shapes:)``.
/// The results do not take part in autograd.
public enum LinearAlgebra {
  /// Solves A·X = B by LU factorisation with partial pivoting.
  ///
  /// - Parameters:
  ///   - a: A, a square matrix [n, n].
  ///   - b: B, [n, r] for r right-hand sides, or one right-hand side [n].
  /// - Returns: X, with the shape of `b`.
  /// - Throws: ``LinearAlgebraError/singular(operation:pivot:)`` when a pivot is
  ///   at most n·ε·max|A| in magnitude (ε the Float32 epsilon), so that matrices
  ///   singular to working precision are reported rather than solved into garbage.
  public static func solve(_ a: Tensor, _ b: Tensor) throws(LinearAlgebraError) -> Tensor {
    try Compute.backend.solve(a, b)
  }

  /// The Cholesky factor of a symmetric positive-definite matrix.
  ///
  /// Only the lower triangle of `a` is read; the upper one is taken to mirror it.
  ///
  /// - Parameter a: A, a symmetric positive-definite matrix [n, n].
  /// - Returns: L [n, n], lower triangular with a positive diagonal, with L·Lᵀ = A.
  /// - Throws: ``LinearAlgebraError/notPositiveDefinite(order:)`` naming the order
  ///   of the first leading minor that is not positive definite.
  public static func cholesky(_ a: Tensor) throws(LinearAlgebraError) -> Tensor {
    try Compute.backend.cholesky(a)
  }

  /// The thin QR factorisation A = Q·R by Householder reflections.
  ///
  /// - Parameter a: A [m, n]. The usual case is m ≥ n; for m < n the factors are
  ///   Q [m, m] and R [m, n] (upper trapezoidal).
  /// - Returns: Q [m, p] with orthonormal columns and R [p, n] upper triangular,
  ///   p = min(m, n). The signs of R's diagonal are not normalised.
  public static func qr(_ a: Tensor) throws(LinearAlgebraError) -> (q: Tensor, r: Tensor) {
    try Compute.backend.qr(a)
  }

  /// The thin singular value decomposition A = U·diag(S)·Vᵀ.
  ///
  /// - Parameter a: A [m, n].
  /// - Returns: U [m, p] and V [n, p] with orthonormal columns (V returned
  ///   transposed, Vᵀ [p, n]), and the singular values S [p], non-negative and in
  ///   descending order; p = min(m, n). Singular vectors are unique only up to sign.
  /// - Throws: ``LinearAlgebraError/didNotConverge(operation:)`` if the
  ///   iteration fails.
  public static func svd(_ a: Tensor) throws(LinearAlgebraError) -> (
    u: Tensor, s: Tensor, vt: Tensor
  ) {
    try Compute.backend.svd(a)
  }

  /// The eigendecomposition A = V·diag(Λ)·Vᵀ of a symmetric matrix.
  ///
  /// Only the lower triangle of `a` is read; the upper one is taken to mirror it.
  ///
  /// - Parameter a: A, a symmetric matrix [n, n].
  /// - Returns: the eigenvalues Λ [n] in ascending order, and V [n, n] whose
  ///   column j is the unit eigenvector of Λ[j] (unique only up to sign).
  /// - Throws: ``LinearAlgebraError/didNotConverge(operation:)`` if the
  ///   iteration fails.
  public static func eigh(_ a: Tensor) throws(LinearAlgebraError) -> (
    values: Tensor, vectors: Tensor
  ) {
    try Compute.backend.eigh(a)
  }
}

/// Input checks shared by the backends' linear-algebra routines.
enum LinearAlgebraInput {
  /// Throws unless `a` is a square matrix [n, n]; returns n.
  static func requireSquare(
    _ a: Tensor, _ operation: String
  ) throws(LinearAlgebraError) -> Int {
    guard a.rank == 2, a.shape[0] == a.shape[1] else {
      throw .shapeMismatch(operation: operation, shapes: [a.shape])
    }
    return a.shape[0]
  }

  /// Throws unless `a` is a matrix [m, n]; returns (m, n).
  static func requireMatrix(
    _ a: Tensor, _ operation: String
  ) throws(LinearAlgebraError) -> (m: Int, n: Int) {
    guard a.rank == 2 else { throw .shapeMismatch(operation: operation, shapes: [a.shape]) }
    return (a.shape[0], a.shape[1])
  }

  /// Checks the operands of A·X = B: A [n, n] and B [n, r] or [n]. Returns (n, r).
  static func requireSolveOperands(
    _ a: Tensor, _ b: Tensor
  ) throws(LinearAlgebraError) -> (n: Int, r: Int) {
    guard a.rank == 2, a.shape[0] == a.shape[1], b.rank == 1 || b.rank == 2,
      b.shape[0] == a.shape[0]
    else {
      throw .shapeMismatch(operation: "solve", shapes: [a.shape, b.shape])
    }
    return (a.shape[0], b.rank == 2 ? b.shape[1] : 1)
  }

  /// Throws ``LinearAlgebraError/nonFinite(operation:)`` if any element is NaN or infinite.
  static func requireFinite(_ tensors: Tensor..., operation: String) throws(LinearAlgebraError) {
    for tensor in tensors {
      let finite = tensor.withUnsafeBufferPointer { elements in
        // A sum of x·0 is NaN exactly when some x is NaN or infinite; it
        // vectorises, unlike a loop with an early exit.
        var probe: Float = 0
        for value in elements { probe += value * 0 }
        return probe == 0
      }
      if !finite { throw .nonFinite(operation: operation) }
    }
  }

  /// The pivot magnitude at or below which a square matrix [n, n] whose largest
  /// element is `largest` in magnitude counts as singular: n·ε·max|A| with ε
  /// the Float32 epsilon.
  static func singularPivotThreshold(order n: Int, largest: Float) -> Float {
    Float(n) * Float.ulpOfOne * largest
  }

  /// The largest |x| over the elements of `a`.
  static func largestMagnitude(_ a: Tensor) -> Float {
    a.withUnsafeBufferPointer { elements in
      var largest: Float = 0
      for value in elements { largest = max(largest, abs(value)) }
      return largest
    }
  }
}
