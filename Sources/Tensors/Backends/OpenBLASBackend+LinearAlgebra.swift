#if OpenBLAS
  extension OpenBLASBackend {
    public func solve(_ a: Tensor, _ b: Tensor) throws(LinearAlgebraError) -> Tensor {
      fatalError("OpenBLASBackend.solve is not implemented yet")
    }
    public func cholesky(_ a: Tensor) throws(LinearAlgebraError) -> Tensor {
      fatalError("OpenBLASBackend.cholesky is not implemented yet")
    }
    public func qr(_ a: Tensor) throws(LinearAlgebraError) -> (q: Tensor, r: Tensor) {
      fatalError("OpenBLASBackend.qr is not implemented yet")
    }
    public func svd(_ a: Tensor) throws(LinearAlgebraError) -> (u: Tensor, s: Tensor, vt: Tensor) {
      fatalError("OpenBLASBackend.svd is not implemented yet")
    }
    public func eigh(_ a: Tensor) throws(LinearAlgebraError) -> (values: Tensor, vectors: Tensor) {
      fatalError("OpenBLASBackend.eigh is not implemented yet")
    }
  }
#endif
