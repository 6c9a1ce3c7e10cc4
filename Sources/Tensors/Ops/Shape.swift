// Shape ops, forward and backward: transposition, attention's head split and
// merge, concatenation, splitting, slicing, row gathering (the embedding lookup),
// and adding or removing a dimension of size 1.
//
// B batch, T tokens, H hidden, NH heads, D head size (H = NH·D), N table rows,
// M, K the last two dimensions, S… any shape.
//
// Tensors stay contiguous, so every op that moves elements copies them into new
// storage; ops that only relabel the shape (squeezed, unsqueezed) share it.

extension Tensor {
  // MARK: Transposition

  /// The last two dimensions swapped, copied into new storage: [B…, M, K] → [B…, K, M].
  ///
  /// A matrix product never needs this copy: ``matmul(_:transposeA:transposeB:alpha:)``
  /// reads either operand transposed through the GEMM's flags.
  public func transposed() -> Tensor {
    guard rank >= 2 else {
      shapeFailure(
        .invalid(op: "transposed()", message: "shape \(shape) has fewer than two dimensions"))
    }
    let m = shape[rank - 2]
    let k = shape[rank - 1]
    var resultShape = shape
    resultShape.swapAt(rank - 2, rank - 1)
    let y = Tensor(uninitializedShape: resultShape)  // [B…, K, M]
    if count > 0 {
      Tensor.transposeKernel(
        storage.pointer, into: y.storage.pointer, batch: count / (m * k), rows: m, columns: k)
    }
    return Tensor.record(y, inputs: [self]) { grad in [grad.transposed()] }  // [B…, M, K]
  }

  /// target[b, j, i] = source[b, i, j] for `batch` row-major matrices [rows, columns],
  /// in 32×32 tiles so both sides stay in cache.
  static func transposeKernel(
    _ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>,
    batch: Int, rows: Int, columns: Int
  ) {
    let tile = 32
    let tileRows = (rows + tile - 1) / tile
    let work = Swift.max(1, tile * columns)
    Parallel.forEachChunk(batch * tileRows, minimumChunk: Swift.max(1, 16_384 / work)) { range in
      for task in range {
        let matrix = task / tileRows
        let firstRow = (task % tileRows) * tile
        let lastRow = Swift.min(rows, firstRow + tile)
        let from = source + matrix * rows * columns
        let to = target + matrix * rows * columns
        var firstColumn = 0
        while firstColumn < columns {
          let lastColumn = Swift.min(columns, firstColumn + tile)
          // Contiguous writes along each output row, strided reads within the tile.
          for j in firstColumn..<lastColumn {
            for i in firstRow..<lastRow { to[j * rows + i] = from[i * columns + j] }
          }
          firstColumn = lastColumn
        }
      }
    }
  }

  // MARK: Attention heads

  /// Splits the hidden dimension into attention heads: [B, T, H] → [B, NH, T, D], D = H / NH.
  ///
  /// Backward is ``mergeHeads()``.
  public func splitHeads(_ headCount: Int) -> Tensor {
    guard rank == 3, headCount > 0, shape[2] % headCount == 0 else {
      shapeFailure(
        .invalid(
          op: "splitHeads",
          message: "expected [B, T, H] with H divisible by \(headCount) heads, got \(shape)"))
    }
    let (batch, tokens, headSize) = (shape[0], shape[1], shape[2] / headCount)
    let y = Tensor(uninitializedShape: [batch, headCount, tokens, headSize])  // [B, NH, T, D]
    Tensor.headPermuteKernel(
      storage.pointer, into: y.storage.pointer, batch: batch, tokens: tokens, heads: headCount,
      headSize: headSize, splitting: true)
    return Tensor.record(y, inputs: [self]) { grad in [grad.mergeHeads()] }  // [B, T, H]
  }

  /// Joins attention heads back into the hidden dimension: [B, NH, T, D] → [B, T, NH·D].
  ///
  /// Backward is ``splitHeads(_:)``.
  public func mergeHeads() -> Tensor {
    guard rank == 4 else {
      shapeFailure(.invalid(op: "mergeHeads", message: "expected [B, NH, T, D], got \(shape)"))
    }
    let (batch, heads, tokens, headSize) = (shape[0], shape[1], shape[2], shape[3])
    let y = Tensor(uninitializedShape: [batch, tokens, heads * headSize])  // [B, T, H]
    Tensor.headPermuteKernel(
      storage.pointer, into: y.storage.pointer, batch: batch, tokens: tokens, heads: heads,
      headSize: headSize, splitting: false)
    return Tensor.record(y, inputs: [self]) { grad in [grad.splitHeads(heads)] }  // [B, NH, T, D]
  }

  /// Moves each head's D contiguous floats between [B, T, NH, D] (token-major)
  /// and [B, NH, T, D] (head-major) order.
  private static func headPermuteKernel(
    _ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>,
    batch: Int, tokens: Int, heads: Int, headSize: Int, splitting: Bool
  ) {
    let rows = batch * tokens * heads
    guard rows > 0, headSize > 0 else { return }
    Parallel.forEachChunk(rows, minimumChunk: Swift.max(1, 16_384 / headSize)) { range in
      for row in range {
        // row enumerates [B, T, NH] in token-major order.
        let b = row / (tokens * heads)
        let t = (row / heads) % tokens
        let h = row % heads
        let tokenMajor = row * headSize
        let headMajor = ((b * heads + h) * tokens + t) * headSize
        if splitting {
          (target + headMajor).update(from: source + tokenMajor, count: headSize)
        } else {
          (target + tokenMajor).update(from: source + headMajor, count: headSize)
        }
      }
    }
  }

  // MARK: Concatenation, splitting, slicing

  /// Joins tensors along one axis.
  ///
  /// - Parameters:
  ///   - tensors: at least one tensor; shapes equal except along `axis`.
  ///   - axis: the axis to join along; negative values count from the end.
  /// - Returns: the common shape with the sizes along `axis` added up.
  public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
    guard let first = tensors.first else {
      shapeFailure(.invalid(op: "concatenate", message: "there are no tensors to join"))
    }
    let axis = normalizedAxis(axis, rank: first.rank, shape: first.shape, op: "concatenate")
    for tensor in tensors {
      var expected = first.shape
      if tensor.rank == first.rank { expected[axis] = tensor.shape[axis] }
      guard tensor.shape == expected else {
        shapeFailure(
          .invalid(
            op: "concatenate",
            message: "shapes \(first.shape) and \(tensor.shape) differ outside axis \(axis)"))
      }
    }
    let sizes = tensors.map { $0.shape[axis] }
    var resultShape = first.shape
    resultShape[axis] = sizes.reduce(0, +)
    let (outer, total, inner) = axisSplit(resultShape, axis: axis)
    let y = Tensor(uninitializedShape: resultShape)  // [… Σ sizes …]
    var offset = 0
    for (tensor, size) in zip(tensors, sizes) {
      copyRows(
        from: tensor.storage.pointer, sourceStride: size * inner,
        to: y.storage.pointer + offset * inner, targetStride: total * inner,
        rows: outer, width: size * inner)
      offset += size
    }
    let needed = tensors.map(\.isTracked)
    return record(y, inputs: tensors) { grad in  // grad: [… Σ sizes …]
      var start = 0
      var grads: [Tensor?] = []
      for (size, isNeeded) in zip(sizes, needed) {
        grads.append(isNeeded ? grad.sliceCopy(axis: axis, range: start..<(start + size)) : nil)
        start += size
      }
      return grads
    }
  }

  /// Cuts this tensor along one axis into consecutive pieces.
  ///
  /// - Parameters:
  ///   - sizes: the pieces' sizes along `axis`; they must add up to its length.
  ///   - axis: the axis to cut; negative values count from the end.
  /// - Returns: one tensor per size, each this shape with `sizes[i]` along `axis`.
  public func split(sizes: [Int], axis: Int) -> [Tensor] {
    let axis = Tensor.normalizedAxis(axis, rank: rank, shape: shape, op: "split")
    guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == shape[axis] else {
      shapeFailure(
        .invalid(
          op: "split",
          message:
            "sizes \(sizes) do not add up to length \(shape[axis]) of axis \(axis) in \(shape)"
        ))
    }
    var start = 0
    return sizes.map { size in
      defer { start += size }
      return slice(axis: axis, range: start..<(start + size))
    }
  }

  /// The elements at positions `range` along one axis, copied: [… L …] → [… range.count …].
  ///
  /// - Parameters:
  ///   - axis: the axis to cut; negative values count from the end.
  ///   - range: positions within `0...L`.
  /// - Returns: this shape with `range.count` along `axis`. Backward pads the gradient with zeros.
  public func slice(axis: Int, range: Range<Int>) -> Tensor {
    let axis = Tensor.normalizedAxis(axis, rank: rank, shape: shape, op: "slice")
    guard range.lowerBound >= 0, range.upperBound <= shape[axis] else {
      shapeFailure(
        .invalid(
          op: "slice", message: "range \(range) is out of bounds for axis \(axis) of \(shape)"))
    }
    let y = sliceCopy(axis: axis, range: range)  // [… range.count …]
    let inputShape = shape
    return Tensor.record(y, inputs: [self]) { grad in  // grad: [… range.count …]
      [grad.zeroPadded(to: inputShape, axis: axis, offset: range.lowerBound)]  // [… L …]
    }
  }

  /// ``slice(axis:range:)`` without recording, for an axis already counted from the front.
  func sliceCopy(axis: Int, range: Range<Int>) -> Tensor {
    var resultShape = shape
    resultShape[axis] = range.count
    let (outer, length, inner) = Tensor.axisSplit(shape, axis: axis)
    let y = Tensor(uninitializedShape: resultShape)  // [… range.count …]
    Tensor.copyRows(
      from: storage.pointer + range.lowerBound * inner, sourceStride: length * inner,
      to: y.storage.pointer, targetStride: range.count * inner,
      rows: outer, width: range.count * inner)
    return y
  }

  /// A zero tensor of `target` shape with this tensor placed at `offset` along
  /// `axis`. Not recorded.
  func zeroPadded(to target: [Int], axis: Int, offset: Int) -> Tensor {
    let (outer, length, inner) = Tensor.axisSplit(target, axis: axis)
    let y = Tensor(zeros: target)  // [… L …]
    Tensor.copyRows(
      from: storage.pointer, sourceStride: shape[axis] * inner,
      to: y.storage.pointer + offset * inner, targetStride: length * inner,
      rows: outer, width: shape[axis] * inner)
    return y
  }

  /// Copies `rows` runs of `width` floats between two strided layouts.
  static func copyRows(
    from source: UnsafePointer<Float>, sourceStride: Int,
    to target: UnsafeMutablePointer<Float>, targetStride: Int, rows: Int, width: Int
  ) {
    guard width > 0 else { return }
    Parallel.forEachChunk(rows, minimumChunk: Swift.max(1, 16_384 / width)) { range in
      for row in range {
        (target + row * targetStride).update(from: source + row * sourceStride, count: width)
      }
    }
  }

  // MARK: Row gathering

  /// The rows at `indices` of a table, in order: the embedding lookup.
  ///
  /// - Parameter indices: row numbers in `0..<N`; repeats are allowed.
  /// - Returns: [indices.count, S…] for self [N, S…]. Backward scatter-adds the
  ///   gradient's rows into the table's gradient, so a row picked twice
  ///   receives both gradients. When the table is a ``Parameter``'s value, its
  ///   gradient is a ``RowSparseGradient`` over the picked rows only (the rest of
  ///   the table gets no work); otherwise it is a dense [N, S…] table.
  public func gatherRows(_ indices: [Int]) -> Tensor {
    guard rank >= 1 else {
      shapeFailure(.invalid(op: "gatherRows", message: "a scalar has no rows"))
    }
    do {
      try Tensor.checkRowIndices(indices, rowCount: shape[0], op: "gatherRows")
    } catch {
      shapeFailure(error)
    }
    let rowShape = Array(shape.dropFirst())
    let width = Tensor.elementCount(rowShape)
    let y = Tensor(uninitializedShape: [indices.count] + rowShape)  // [indices.count, S…]
    let source = UnsafePointer(storage.pointer)
    let target = y.storage.pointer
    if width > 0 {
      indices.withUnsafeBufferPointer { rows in
        Parallel.forEachChunk(rows.count, minimumChunk: Swift.max(1, 16_384 / width)) { range in
          for position in range {
            (target + position * width).update(from: source + rows[position] * width, count: width)
          }
        }
      }
    }
    let tableShape = shape
    let leaf = node
    return Tensor.record(y, inputs: [self]) { grad in  // grad: [indices.count, S…]
      guard let parameter = leaf?.parameter else {
        let gradTable = Tensor(zeros: tableShape)  // [N, S…]
        Tensor.scatterAddRows(grad, at: indices, into: gradTable.storage.pointer, width: width)
        return [gradTable]
      }
      // A parameter's table: accumulate only the picked rows, in the order a
      // dense scatter-add would, and hand them to the parameter directly.
      let touched = Array(Set(indices)).sorted()  // R rows, ascending
      let slotOf = Dictionary(uniqueKeysWithValues: touched.enumerated().map { ($1, $0) })
      let values = Tensor(zeros: [touched.count] + tableShape.dropFirst())  // [R, S…]
      Tensor.scatterAddRows(
        grad, at: indices.map { slotOf[$0]! }, into: values.storage.pointer, width: width)
      parameter.accumulateRowGradient(
        RowSparseGradient(shape: tableShape, rows: touched, values: values))
      return [nil]
    }
  }

  /// target[rows[p]] += gradient[p] for every position p in order, over rows of
  /// `width` floats. Threads split the columns, so that repeated rows are never
  /// written concurrently.
  ///
  /// - Parameters:
  ///   - gradient: [rows.count, S…].
  ///   - target: a table whose rows are `width` floats wide.
  static func scatterAddRows(
    _ gradient: Tensor, at rows: [Int], into target: UnsafeMutablePointer<Float>, width: Int
  ) {
    let from = UnsafePointer(gradient.storage.pointer)
    rows.withUnsafeBufferPointer { rows in
      Parallel.forEachChunk(width, minimumChunk: Swift.max(1, 16_384 / Swift.max(rows.count, 1))) {
        columns in
        for position in 0..<rows.count {
          let line = from + position * width
          let sum = target + rows[position] * width
          for column in columns { sum[column] += line[column] }
        }
      }
    }
  }

  /// Throws for the first index outside `0..<rowCount`.
  static func checkRowIndices(_ indices: [Int], rowCount: Int, op: String) throws(ShapeError) {
    for (position, index) in indices.enumerated() where index < 0 || index >= rowCount {
      throw .indexOutOfRange(op: op, index: index, position: position, count: rowCount)
    }
  }

  // MARK: Dimensions of size 1

  /// This tensor without the size-1 dimension at `axis`: [… 1 …] → [… …]. Shares storage.
  public func squeezed(axis: Int) -> Tensor {
    let axis = Tensor.normalizedAxis(axis, rank: rank, shape: shape, op: "squeezed(axis:)")
    guard shape[axis] == 1 else {
      shapeFailure(
        .invalid(op: "squeezed(axis:)", message: "axis \(axis) of \(shape) has size \(shape[axis])")
      )
    }
    var newShape = shape
    newShape.remove(at: axis)
    return reshaped(newShape)
  }

  /// This tensor with a new dimension of size 1 inserted at `axis`, which counts
  /// positions in the result (-1 appends): [S…] → [… 1 …]. Shares storage.
  public func unsqueezed(axis: Int) -> Tensor {
    let axis = Tensor.normalizedAxis(
      axis, rank: rank + 1, shape: shape, op: "unsqueezed(axis:)")
    var newShape = shape
    newShape.insert(1, at: axis)
    return reshaped(newShape)
  }
}
