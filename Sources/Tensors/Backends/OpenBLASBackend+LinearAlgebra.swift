// Dense linear algebra through LAPACKE, on row-major Float32 matrices.
//
// n order of a square matrix, m × n a rectangular one, r right-hand sides,
// p = min(m, n)
//
// LAPACKE's row-major interface transposes into column-major work arrays and
// back, so each routine here copies its input once and hands LAPACKE the copy.
// `info < 0` means an argument was wrong, which the checks before each call
// rule out: it traps as a programming error.

#if OpenBLAS
  import COpenBLAS

  extension OpenBLASBackend {
    public func solve(_ a: Tensor, _ b: Tensor) throws(LinearAlgebraError) -> Tensor {
      let (n, r) = try LinearAlgebraInput.requireSolveOperands(a, b)
      try LinearAlgebraInput.requireFinite(a, b, operation: "solve")
      var x = b.detached()  // [n, r] or [n]
      guard n > 0, r > 0 else { return x }
      // sgetrf + sgetrs rather than sgesv: sgesv only stops on an exactly zero
      // pivot, and a float matrix that is singular in exact arithmetic usually
      // leaves a pivot of rounding size instead. Checking U's diagonal against
      // the same threshold as the Swift backend reports it as singular.
      var lu = a.detached()  // [n, n]
      var pivots = [Int32](repeating: 0, count: n)
      let threshold = LinearAlgebraInput.singularPivotThreshold(
        order: n, largest: LinearAlgebraInput.largestMagnitude(a))
      let info = lu.withUnsafeMutableBufferPointer { factors in
        LAPACKE_sgetrf(
          LAPACK_ROW_MAJOR, Int32(n), Int32(n), factors.baseAddress, Int32(n), &pivots)
      }
      ensure(info >= 0, "LAPACKE_sgetrf: argument \(-info) is invalid")
      for column in 0..<n where !(abs(lu[column, column]) > threshold) {
        throw .singular(operation: "solve", pivot: column)
      }
      let solveInfo = x.withUnsafeMutableBufferPointer { rightHandSides in
        lu.withUnsafeBufferPointer { factors in
          LAPACKE_sgetrs(
            LAPACK_ROW_MAJOR, Self.character("N"), Int32(n), Int32(r), factors.baseAddress,
            Int32(n), pivots, rightHandSides.baseAddress, Int32(r))
        }
      }
      ensure(solveInfo == 0, "LAPACKE_sgetrs: argument \(-solveInfo) is invalid")
      return x
    }

    public func cholesky(_ a: Tensor) throws(LinearAlgebraError) -> Tensor {
      let n = try LinearAlgebraInput.requireSquare(a, "cholesky")
      try LinearAlgebraInput.requireFinite(a, operation: "cholesky")
      var l = a.detached()  // [n, n]
      guard n > 0 else { return l }
      let info = l.withUnsafeMutableBufferPointer { factor in
        LAPACKE_spotrf(
          LAPACK_ROW_MAJOR, Self.character("L"), Int32(n), factor.baseAddress, Int32(n))
      }
      ensure(info >= 0, "LAPACKE_spotrf: argument \(-info) is invalid")
      if info > 0 { throw .notPositiveDefinite(order: Int(info)) }
      // spotrf leaves the strict upper triangle as it found it.
      l.withUnsafeMutableBufferPointer { factor in
        for row in 0..<n {
          for column in (row + 1)..<n { factor[row * n + column] = 0 }
        }
      }
      return l
    }

    public func qr(_ a: Tensor) throws(LinearAlgebraError) -> (q: Tensor, r: Tensor) {
      let (m, n) = try LinearAlgebraInput.requireMatrix(a, "qr")
      try LinearAlgebraInput.requireFinite(a, operation: "qr")
      let p = min(m, n)
      guard p > 0 else { return (Tensor(zeros: [m, p]), Tensor(zeros: [p, n])) }
      var factors = a.detached()  // [m, n]: R above the diagonal, reflectors below
      var tau = [Float](repeating: 0, count: p)
      let info = factors.withUnsafeMutableBufferPointer { elements in
        LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), elements.baseAddress, Int32(n), &tau)
      }
      ensure(info == 0, "LAPACKE_sgeqrf: argument \(-info) is invalid")

      var r = Tensor(zeros: [p, n])  // [p, n]
      var q = Tensor(uninitializedShape: [m, p])  // [m, p]
      factors.withUnsafeBufferPointer { source in
        r.withUnsafeMutableBufferPointer { target in
          for row in 0..<p {
            for column in row..<n { target[row * n + column] = source[row * n + column] }
          }
        }
        q.withUnsafeMutableBufferPointer { target in
          for row in 0..<m {
            for column in 0..<p { target[row * p + column] = source[row * n + column] }
          }
        }
      }
      let orgInfo = q.withUnsafeMutableBufferPointer { elements in
        LAPACKE_sorgqr(
          LAPACK_ROW_MAJOR, Int32(m), Int32(p), Int32(p), elements.baseAddress, Int32(p), tau)
      }
      ensure(orgInfo == 0, "LAPACKE_sorgqr: argument \(-orgInfo) is invalid")
      return (q, r)
    }

    public func svd(_ a: Tensor) throws(LinearAlgebraError) -> (u: Tensor, s: Tensor, vt: Tensor) {
      let (m, n) = try LinearAlgebraInput.requireMatrix(a, "svd")
      try LinearAlgebraInput.requireFinite(a, operation: "svd")
      let p = min(m, n)
      var u = Tensor(zeros: [m, p])  // [m, p]
      var s = Tensor(zeros: [p])  // [p]
      var vt = Tensor(zeros: [p, n])  // [p, n]
      guard p > 0 else { return (u, s, vt) }
      var work = a.detached()  // [m, n], overwritten
      let info = work.withUnsafeMutableBufferPointer { elements in
        s.withUnsafeMutableBufferPointer { values in
          u.withUnsafeMutableBufferPointer { left in
            vt.withUnsafeMutableBufferPointer { right in
              LAPACKE_sgesdd(
                LAPACK_ROW_MAJOR, Self.character("S"), Int32(m), Int32(n), elements.baseAddress,
                Int32(n), values.baseAddress, left.baseAddress, Int32(p), right.baseAddress,
                Int32(n))
            }
          }
        }
      }
      ensure(info >= 0, "LAPACKE_sgesdd: argument \(-info) is invalid")
      if info > 0 { throw .didNotConverge(operation: "svd") }
      return (u, s, vt)
    }

    public func eigh(_ a: Tensor) throws(LinearAlgebraError) -> (values: Tensor, vectors: Tensor) {
      let n = try LinearAlgebraInput.requireSquare(a, "eigh")
      try LinearAlgebraInput.requireFinite(a, operation: "eigh")
      var vectors = a.detached()  // [n, n]: A in, the eigenvectors as columns out
      var values = Tensor(zeros: [n])  // [n]
      guard n > 0 else { return (values, vectors) }
      let info = vectors.withUnsafeMutableBufferPointer { elements in
        values.withUnsafeMutableBufferPointer { eigenvalues in
          LAPACKE_ssyevd(
            LAPACK_ROW_MAJOR, Self.character("V"), Self.character("L"), Int32(n),
            elements.baseAddress, Int32(n), eigenvalues.baseAddress)
        }
      }
      ensure(info >= 0, "LAPACKE_ssyevd: argument \(-info) is invalid")
      if info > 0 { throw .didNotConverge(operation: "eigh") }
      return (values, vectors)
    }

    /// A LAPACK option letter as the C `char` LAPACKE takes.
    private static func character(_ letter: Unicode.Scalar) -> CChar {
      CChar(truncatingIfNeeded: letter.value)
    }
  }
#endif
