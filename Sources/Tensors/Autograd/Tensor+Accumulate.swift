extension Tensor {
  /// self += other, elementwise, for tensors of the same shape. Not recorded:
  /// this is how gradients accumulate.
  public mutating func addInPlace(_ other: Tensor) {
    ensure(shape == other.shape, "addInPlace: shapes \(shape) and \(other.shape) differ")
    let source = other.storage.pointer
    withUnsafeMutableBufferPointer { target in
      let base = target.baseAddress!
      Parallel.forEachChunk(target.count) { range in
        for index in range { base[index] += source[index] }
      }
    }
  }
}
