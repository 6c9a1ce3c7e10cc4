// The compute backends and how a process chooses between them.

/// A provider of the heavy kernels: matrix products and dense linear algebra.
///
/// Every GEMM in the tensor layer, including those of backward passes and of
/// attention, goes through the current backend. Matrices are row-major.
public protocol Backend: Sendable {
  /// Which backend this is.
  var kind: BackendKind { get }

  /// The CPU kernel the backend runs on, e.g. OpenBLAS's core name.
  var kernelName: String { get }

  /// C = alpha · op(A) · op(B) + beta · C, with op(X) = Xᵀ when its flag is set.
  ///
  /// - Parameters:
  ///   - m, n, k: op(A) is [m, k], op(B) is [k, n] and C is [m, n].
  ///   - a, lda: A's elements and row stride (A is [m, k], or [k, m] when transposed).
  ///   - b, ldb: B's elements and row stride (B is [k, n], or [n, k] when transposed).
  ///   - c, ldc: C's elements and row stride. With `beta == 0`, C is only written.
  func sgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int)

  /// `batchCount` independent products, the i-th at offsets i·strideA, i·strideB, i·strideC.
  func sgemmBatched(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, strideA: Int,
    b: UnsafePointer<Float>, ldb: Int, strideB: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
    batchCount: Int)

  /// Solves A·X = B for a square A [n, n] and B [n, r]. Throws when A is singular.
  func solve(_ a: Tensor, _ b: Tensor) throws(LinearAlgebraError) -> Tensor

  /// The lower-triangular L [n, n] with L·Lᵀ = A for a symmetric positive-definite A.
  func cholesky(_ a: Tensor) throws(LinearAlgebraError) -> Tensor

  /// The thin QR factorisation of A [m, n] with m ≥ n: Q [m, n] with orthonormal
  /// columns and upper-triangular R [n, n].
  func qr(_ a: Tensor) throws(LinearAlgebraError) -> (q: Tensor, r: Tensor)

  /// The thin SVD of A [m, n]: U [m, p], S [p] in descending order, Vᵀ [p, n], p = min(m, n).
  func svd(_ a: Tensor) throws(LinearAlgebraError) -> (u: Tensor, s: Tensor, vt: Tensor)

  /// The eigendecomposition of a symmetric A [n, n]: eigenvalues [n] in ascending
  /// order and the eigenvectors as the columns of V [n, n].
  func eigh(_ a: Tensor) throws(LinearAlgebraError) -> (values: Tensor, vectors: Tensor)
}

/// An error from a linear-algebra routine.
public enum LinearAlgebraError: Error, Equatable, CustomStringConvertible {
  /// The matrix is singular (a zero pivot at the given 0-based column).
  case singular(operation: String, pivot: Int)
  /// The matrix is not positive definite (the leading minor of this order is not).
  case notPositiveDefinite(order: Int)
  /// The input shapes do not fit the operation.
  case shapeMismatch(operation: String, shapes: [[Int]])
  /// An iterative routine did not converge.
  case didNotConverge(operation: String)
  /// The input holds NaN or infinity.
  case nonFinite(operation: String)

  public var description: String {
    switch self {
    case .singular(let operation, let pivot):
      "\(operation): the matrix is singular (zero pivot in column \(pivot))"
    case .notPositiveDefinite(let order):
      "cholesky: the matrix is not positive definite (leading minor of order \(order))"
    case .shapeMismatch(let operation, let shapes):
      "\(operation): shapes \(shapes.map { "\($0)" }.joined(separator: " and ")) do not fit"
    case .didNotConverge(let operation):
      "\(operation): the iteration did not converge"
    case .nonFinite(let operation):
      "\(operation): the input holds NaN or infinity"
    }
  }
}

/// The backends this package can run on.
public enum BackendKind: String, CaseIterable, Sendable, CustomStringConvertible {
  /// OpenBLAS for GEMM and LAPACKE for linear algebra (package trait `OpenBLAS`).
  case openblas
  /// Pure Swift: a blocked SIMD GEMM and Swift linear algebra. Always built.
  case swift

  /// Whether this build contains the backend.
  public var isAvailable: Bool {
    switch self {
    case .openblas:
      #if OpenBLAS
        true
      #else
        false
      #endif
    case .swift: true
    }
  }

  /// The backends this build contains, fastest first.
  public static var allAvailable: [BackendKind] { allCases.filter(\.isAvailable) }

  /// The backend implementation. Traps for a backend this build does not contain.
  public var implementation: any Backend {
    switch self {
    case .openblas:
      #if OpenBLAS
        return OpenBLASBackend()
      #else
        ensureFailure("the OpenBLAS backend is not in this build (trait OpenBLAS is off)")
      #endif
    case .swift: return SwiftBackend()
    }
  }

  public var description: String { rawValue }
}
