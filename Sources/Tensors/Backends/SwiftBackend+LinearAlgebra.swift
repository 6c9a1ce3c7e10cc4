extension SwiftBackend {
  public func solve(_ a: Tensor, _ b: Tensor) throws(LinearAlgebraError) -> Tensor {
    fatalError("SwiftBackend.solve is not implemented yet")
  }
  public func cholesky(_ a: Tensor) throws(LinearAlgebraError) -> Tensor {
    fatalError("SwiftBackend.cholesky is not implemented yet")
  }
  public func qr(_ a: Tensor) throws(LinearAlgebraError) -> (q: Tensor, r: Tensor) {
    fatalError("SwiftBackend.qr is not implemented yet")
  }
  public func svd(_ a: Tensor) throws(LinearAlgebraError) -> (u: Tensor, s: Tensor, vt: Tensor) {
    fatalError("SwiftBackend.svd is not implemented yet")
  }
  public func eigh(_ a: Tensor) throws(LinearAlgebraError) -> (values: Tensor, vectors: Tensor) {
    fatalError("SwiftBackend.eigh is not implemented yet")
  }
}
