// The Swift backend's linear algebra: the pure-Swift routines of `SwiftLinearAlgebra`.

extension SwiftBackend {
  public func solve(_ a: Tensor, _ b: Tensor) throws(LinearAlgebraError) -> Tensor {
    try SwiftLinearAlgebra.solve(a, b)
  }

  public func cholesky(_ a: Tensor) throws(LinearAlgebraError) -> Tensor {
    try SwiftLinearAlgebra.cholesky(a)
  }

  public func qr(_ a: Tensor) throws(LinearAlgebraError) -> (q: Tensor, r: Tensor) {
    try SwiftLinearAlgebra.qr(a)
  }

  public func svd(_ a: Tensor) throws(LinearAlgebraError) -> (u: Tensor, s: Tensor, vt: Tensor) {
    try SwiftLinearAlgebra.svd(a)
  }

  public func eigh(_ a: Tensor) throws(LinearAlgebraError) -> (values: Tensor, vectors: Tensor) {
    try SwiftLinearAlgebra.eigh(a)
  }
}
