// Reductions, forward and backward: sums, means and maxima over all elements or
// along one axis, and the arg-max.
//
// Shapes: S… the input's shape. An axis reduction views the input as
// [outer, L, inner], where L is the reduced axis's length, outer the product of
// the dimensions before it and inner of those after it; the result is
// [outer…, inner…], or [outer…, 1, inner…] when keeping the dimension.
//
// Accuracy: every sum adds runs of at most 64 floats in Float (8 lanes of 8),
// and adds those partial sums in Double, so the error does not grow with the
// row length: a sum of a million elements is as accurate as one of a hundred.

extension Tensor {
  /// The sum of all elements, as a rank-0 tensor: [S…] → [].
  public func sum() -> Tensor {
    let y = Tensor(Float(Tensor.sumAll(storage.pointer, count: count)))  // []
    let inputShape = shape
    return Tensor.record(y, inputs: [self]) { grad in  // grad: []
      [Tensor(repeating: grad.item, shape: inputShape)]
    }
  }

  /// The mean of all elements, as a rank-0 tensor: [S…] → []. NaN for an empty tensor.
  public func mean() -> Tensor {
    let n = count
    let y = Tensor(Float(Tensor.sumAll(storage.pointer, count: n) / Double(n)))  // []
    let inputShape = shape
    return Tensor.record(y, inputs: [self]) { grad in  // grad: []
      [Tensor(repeating: Float(Double(grad.item) / Double(n)), shape: inputShape)]
    }
  }

  /// The sum along one axis.
  ///
  /// - Parameters:
  ///   - axis: the axis to sum over; negative values count from the end (-1 is the last).
  ///   - keepingDimension: whether the result keeps the axis with size 1.
  /// - Returns: [outer…, inner…], or [outer…, 1, inner…] when keeping the dimension.
  public func sum(axis: Int, keepingDimension: Bool = false) -> Tensor {
    axisSum(axis: axis, keepingDimension: keepingDimension, mean: false, op: "sum(axis:)")
  }

  /// The mean along one axis; shapes as in ``sum(axis:keepingDimension:)``.
  public func mean(axis: Int, keepingDimension: Bool = false) -> Tensor {
    axisSum(axis: axis, keepingDimension: keepingDimension, mean: true, op: "mean(axis:)")
  }

  private func axisSum(axis: Int, keepingDimension: Bool, mean: Bool, op: String) -> Tensor {
    let axis = Tensor.normalizedAxis(axis, rank: rank, shape: shape, op: op)
    let (outer, length, inner) = Tensor.axisSplit(shape, axis: axis)
    let scale = mean ? 1 / Double(length) : 1
    var keptShape = shape
    keptShape[axis] = 1
    var resultShape = shape
    if keepingDimension { resultShape[axis] = 1 } else { resultShape.remove(at: axis) }
    let y = Tensor(uninitializedShape: resultShape)  // [outer…, (1,) inner…]
    Tensor.sumAxisKernel(
      storage.pointer, outer: outer, length: length, inner: inner, scale: scale,
      into: y.storage.pointer)
    let inputShape = shape
    return Tensor.record(y, inputs: [self]) { grad in  // grad: [outer…, (1,) inner…]
      let kept = Tensor(shape: keptShape, storage: grad.storage)  // [outer…, 1, inner…]
      return [kept.expanded(to: inputShape, scale: Float(scale))]  // [S…]
    }
  }

  /// The maximum along one axis (named so that no `max` method hides `Swift.max`
  /// inside extensions of Tensor). Backward routes the gradient to the first
  /// position holding the maximum; NaNs are skipped unless a row starts with one.
  ///
  /// - Parameters:
  ///   - axis: the axis to reduce; negative values count from the end.
  ///   - keepingDimension: whether the result keeps the axis with size 1.
  /// - Returns: [outer…, inner…], or [outer…, 1, inner…] when keeping the dimension.
  public func maximum(axis: Int, keepingDimension: Bool = false) -> Tensor {
    let axis = Tensor.normalizedAxis(axis, rank: rank, shape: shape, op: "maximum(axis:)")
    let (outer, length, inner) = Tensor.axisSplit(shape, axis: axis)
    guard length > 0 else {
      shapeFailure(.invalid(op: "maximum(axis:)", message: "axis \(axis) of \(shape) is empty"))
    }
    var resultShape = shape
    if keepingDimension { resultShape[axis] = 1 } else { resultShape.remove(at: axis) }
    let y = Tensor(uninitializedShape: resultShape)  // [outer…, (1,) inner…]
    var positions = [Int](repeating: 0, count: outer * inner)  // arg-max along the axis
    positions.withUnsafeMutableBufferPointer { indices in
      Tensor.maxAxisKernel(
        storage.pointer, outer: outer, length: length, inner: inner,
        values: y.storage.pointer, indices: indices.baseAddress!)
    }
    let inputShape = shape
    return Tensor.record(y, inputs: [self]) { grad in  // grad: [outer…, (1,) inner…]
      let gradX = Tensor(zeros: inputShape)  // [outer, L, inner]
      let source = UnsafePointer(grad.storage.pointer)
      let target = gradX.storage.pointer
      positions.withUnsafeBufferPointer { indices in
        Parallel.forEachChunk(outer, minimumChunk: Swift.max(1, 16_384 / Swift.max(inner, 1))) {
          range in
          for o in range {
            for i in 0..<inner {
              target[(o * length + indices[o * inner + i]) * inner + i] = source[o * inner + i]
            }
          }
        }
      }
      return [gradX]
    }
  }

  /// The position of the maximum along one axis (the first, on ties). Not differentiable.
  ///
  /// - Parameter axis: the axis to search; negative values count from the end.
  /// - Returns: outer·inner positions in `0..<L`, in the row-major order of the
  ///   shape [outer…, inner…].
  public func argmax(axis: Int) -> [Int] {
    let axis = Tensor.normalizedAxis(axis, rank: rank, shape: shape, op: "argmax(axis:)")
    let (outer, length, inner) = Tensor.axisSplit(shape, axis: axis)
    guard length > 0 else {
      shapeFailure(.invalid(op: "argmax(axis:)", message: "axis \(axis) of \(shape) is empty"))
    }
    let values = Tensor(uninitializedShape: [outer * inner])  // [outer·inner]
    var positions = [Int](repeating: 0, count: outer * inner)
    positions.withUnsafeMutableBufferPointer { indices in
      Tensor.maxAxisKernel(
        storage.pointer, outer: outer, length: length, inner: inner,
        values: values.storage.pointer, indices: indices.baseAddress!)
    }
    return positions
  }
}

// MARK: - Kernels

extension Tensor {
  /// Σ of `count` contiguous floats. Runs of 64 are added in two 8-lane Float
  /// accumulators, and the runs' sums in Double.
  @inline(__always)
  static func contiguousSum(_ source: UnsafePointer<Float>, count: Int) -> Double {
    var total: Double = 0
    var index = 0
    let raw = UnsafeRawPointer(source)
    let stride = MemoryLayout<Float>.stride
    while index + 64 <= count {
      var even = SIMD8<Float>()
      var odd = SIMD8<Float>()
      for step in Swift.stride(from: index, to: index + 64, by: 16) {
        even += raw.loadUnaligned(fromByteOffset: step * stride, as: SIMD8<Float>.self)
        odd += raw.loadUnaligned(fromByteOffset: (step + 8) * stride, as: SIMD8<Float>.self)
      }
      total += Double((even + odd).sum())
      index += 64
    }
    var tail: Float = 0
    while index < count {
      tail += source[index]
      index += 1
    }
    return total + Double(tail)
  }

  /// Σ of all `count` elements, split into blocks across the compute threads.
  static func sumAll(_ source: UnsafePointer<Float>, count: Int) -> Double {
    let blockSize = 32_768
    let blocks = Swift.max(1, Swift.min(4 * Compute.threadCount, count / blockSize))
    if blocks == 1 { return contiguousSum(source, count: count) }
    let partials = UnsafeMutablePointer<Double>.allocate(capacity: blocks)
    defer { partials.deallocate() }
    let chunk = (count + blocks - 1) / blocks
    Parallel.forEach(blocks) { block in
      let start = Swift.min(count, block * chunk)
      let end = Swift.min(count, start + chunk)
      partials[block] = contiguousSum(source + start, count: end - start)
    }
    var total: Double = 0
    for block in 0..<blocks { total += partials[block] }
    return total
  }

  /// target[o, i] = scale · Σₗ source[o, l, i] for source [outer, length, inner].
  /// Rows (inner = 1) use ``contiguousSum(_:count:)``; columns accumulate in Double.
  static func sumAxisKernel(
    _ source: UnsafePointer<Float>, outer: Int, length: Int, inner: Int, scale: Double,
    into target: UnsafeMutablePointer<Float>
  ) {
    if inner == 1 {
      Parallel.forEachChunk(outer, minimumChunk: Swift.max(1, 16_384 / Swift.max(length, 1))) {
        range in
        for o in range {
          target[o] = Float(contiguousSum(source + o * length, count: length) * scale)
        }
      }
      return
    }
    // Tasks are (outer row, block of columns); each keeps its sums in Double.
    let blockWidth = Swift.min(inner, 512)
    let blocks = (inner + blockWidth - 1) / blockWidth
    let work = Swift.max(1, length * blockWidth)
    Parallel.forEachChunk(outer * blocks, minimumChunk: Swift.max(1, 16_384 / work)) { range in
      let sums = UnsafeMutablePointer<Double>.allocate(capacity: blockWidth)
      defer { sums.deallocate() }
      for task in range {
        let o = task / blocks
        let first = (task % blocks) * blockWidth
        let width = Swift.min(blockWidth, inner - first)
        sums.update(repeating: 0, count: width)
        var line = source + o * length * inner + first
        for _ in 0..<length {
          for i in 0..<width { sums[i] += Double(line[i]) }
          line += inner
        }
        let out = target + o * inner + first
        for i in 0..<width { out[i] = Float(sums[i] * scale) }
      }
    }
  }

  /// values[o, i] = maxₗ source[o, l, i] and indices[o, i] = the first l holding
  /// it, for source [outer, length, inner] with length ≥ 1.
  static func maxAxisKernel(
    _ source: UnsafePointer<Float>, outer: Int, length: Int, inner: Int,
    values: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int>
  ) {
    if inner == 1 {
      Parallel.forEachChunk(outer, minimumChunk: Swift.max(1, 16_384 / length)) { range in
        for o in range {
          let row = source + o * length
          var best = row[0]
          var position = 0
          for l in 1..<length where row[l] > best {
            best = row[l]
            position = l
          }
          values[o] = best
          indices[o] = position
        }
      }
      return
    }
    Parallel.forEachChunk(outer, minimumChunk: Swift.max(1, 16_384 / (length * inner))) { range in
      for o in range {
        let block = source + o * length * inner
        let best = values + o * inner
        let position = indices + o * inner
        best.update(from: block, count: inner)
        position.update(repeating: 0, count: inner)
        for l in 1..<length {
          let line = block + l * inner
          for i in 0..<inner where line[i] > best[i] {
            best[i] = line[i]
            position[i] = l
          }
        }
      }
    }
  }
}
