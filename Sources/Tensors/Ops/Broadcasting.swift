// Broadcasting: NumPy's rules for combining shapes, the strided walk that the
// elementwise kernels share, and the reduction that undoes a broadcast in backward.
//
// Shapes: S… any shape. Broadcasting aligns trailing dimensions; a dimension of 1,
// or one missing on the left, stretches to the other operand's size.

/// A shape or index that an op cannot accept. Ops trap with its description.
public enum ShapeError: Error, Equatable, CustomStringConvertible {
  /// Two operand shapes that do not broadcast together.
  case notBroadcastable(op: String, lhs: [Int], rhs: [Int])
  /// A shape that cannot stretch to a target shape.
  case cannotBroadcast(op: String, shape: [Int], target: [Int])
  /// An axis outside `-rank..<rank`.
  case axisOutOfRange(op: String, axis: Int, shape: [Int])
  /// An index outside `0..<count`, found at `position` in the index list.
  case indexOutOfRange(op: String, index: Int, position: Int, count: Int)
  /// Any other shape requirement, stated as a sentence.
  case invalid(op: String, message: String)

  public var description: String {
    switch self {
    case .notBroadcastable(let op, let lhs, let rhs):
      "\(op): shapes \(lhs) and \(rhs) do not broadcast together"
    case .cannotBroadcast(let op, let shape, let target):
      "\(op): shape \(shape) does not broadcast to \(target)"
    case .axisOutOfRange(let op, let axis, let shape):
      "\(op): axis \(axis) is out of range for shape \(shape)"
    case .indexOutOfRange(let op, let index, let position, let count):
      "\(op): index \(index) at position \(position) is out of range for \(count) rows"
    case .invalid(let op, let message):
      "\(op): \(message)"
    }
  }
}

/// Stops the program with the error's message. Unlike `precondition`, whose
/// message is dropped in optimised builds, this names the shapes in every build.
@inline(never)
func shapeFailure(_ error: ShapeError) -> Never {
  fatalError(error.description)
}

extension Tensor {
  /// The shape that `lhs` and `rhs` broadcast to, under NumPy's rules.
  static func broadcastShape(
    _ lhs: [Int], _ rhs: [Int], op: String
  ) throws(ShapeError) -> [Int] {
    if lhs == rhs { return lhs }
    let rank = Swift.max(lhs.count, rhs.count)
    var result = [Int](repeating: 1, count: rank)
    for position in 0..<rank {
      let a = position < rank - lhs.count ? 1 : lhs[position - (rank - lhs.count)]
      let b = position < rank - rhs.count ? 1 : rhs[position - (rank - rhs.count)]
      if a == b || b == 1 {
        result[position] = a
      } else if a == 1 {
        result[position] = b
      } else {
        throw .notBroadcastable(op: op, lhs: lhs, rhs: rhs)
      }
    }
    return result
  }

  /// ``broadcastShape(_:_:op:)``, trapping with both shapes named on a mismatch.
  static func broadcastShapeOrTrap(_ lhs: [Int], _ rhs: [Int], op: String) -> [Int] {
    do {
      return try broadcastShape(lhs, rhs, op: op)
    } catch {
      shapeFailure(error)
    }
  }

  /// `axis` counted from the front, for an axis that may count from the end (-1 is the last).
  static func normalizedAxis(_ axis: Int, rank: Int, shape: [Int], op: String) -> Int {
    let resolved = axis < 0 ? axis + rank : axis
    guard resolved >= 0 && resolved < rank else {
      shapeFailure(.axisOutOfRange(op: op, axis: axis, shape: shape))
    }
    return resolved
  }

  /// The sizes before, at and after `axis`: the [outer, length, inner] view that
  /// axis-wise kernels walk.
  static func axisSplit(_ shape: [Int], axis: Int) -> (outer: Int, length: Int, inner: Int) {
    (
      elementCount(Array(shape[..<axis])), shape[axis],
      elementCount(Array(shape[(axis + 1)...]))
    )
  }
}

// MARK: - The strided walk

/// A function of two floats that an elementwise kernel applies at every position.
protocol BinaryElementKernel {
  func callAsFunction(_ a: Float, _ b: Float) -> Float
}

/// Two operands' element strides over a broadcast result, with dimensions of
/// size 1 dropped and adjacent dimensions merged where both operands step
/// through them the same way. The innermost strides are always 0 or 1.
///
/// Same shapes become one dimension; [B, T, H] + [H] becomes [B·T, H] with
/// strides [H, 1] and [0, 1]; a scalar operand has stride 0 everywhere.
struct BroadcastLayout {
  var sizes: [Int]
  var lhsStrides: [Int]
  var rhsStrides: [Int]

  init(result: [Int], lhs: [Int], rhs: [Int]) {
    func strides(of shape: [Int]) -> [Int] {
      let padded = [Int](repeating: 1, count: result.count - shape.count) + shape
      var strides = [Int](repeating: 0, count: result.count)
      var step = 1
      for dimension in stride(from: result.count - 1, through: 0, by: -1) {
        strides[dimension] = padded[dimension] == 1 ? 0 : step
        step *= padded[dimension]
      }
      return strides
    }
    let lhsFull = strides(of: lhs)
    let rhsFull = strides(of: rhs)
    // Walk from the innermost dimension out, merging where both walks stay linear.
    var sizes: [Int] = []
    var lhsStrides: [Int] = []
    var rhsStrides: [Int] = []
    for dimension in stride(from: result.count - 1, through: 0, by: -1) {
      let size = result[dimension]
      if size == 1 { continue }
      if let innerSize = sizes.last,
        lhsFull[dimension] == lhsStrides.last! * innerSize,
        rhsFull[dimension] == rhsStrides.last! * innerSize
      {
        sizes[sizes.count - 1] *= size
      } else {
        sizes.append(size)
        lhsStrides.append(lhsFull[dimension])
        rhsStrides.append(rhsFull[dimension])
      }
    }
    if sizes.isEmpty {
      sizes = [1]
      lhsStrides = [0]
      rhsStrides = [0]
    }
    self.sizes = sizes.reversed()
    self.lhsStrides = lhsStrides.reversed()
    self.rhsStrides = rhsStrides.reversed()
  }
}

extension Tensor {
  /// `kernel(lhs, rhs)` at every position of `shape`, which both operands must
  /// broadcast to. Not recorded: the ops wrap it.
  static func elementwise<Kernel: BinaryElementKernel>(
    _ lhs: Tensor, _ rhs: Tensor, shape: [Int], _ kernel: Kernel
  ) -> Tensor {
    let result = Tensor(uninitializedShape: shape)  // [S…]
    guard result.count > 0 else { return result }
    let layout = BroadcastLayout(result: shape, lhs: lhs.shape, rhs: rhs.shape)
    let a = UnsafePointer(lhs.storage.pointer)
    let b = UnsafePointer(rhs.storage.pointer)
    let c = result.storage.pointer
    let width = layout.sizes[layout.sizes.count - 1]
    let strideA = layout.lhsStrides[layout.sizes.count - 1]
    let strideB = layout.rhsStrides[layout.sizes.count - 1]
    let rows = result.count / width
    if rows == 1 {
      Parallel.forEachChunk(width) { range in
        let start = range.lowerBound
        runLine(
          kernel, a + start * strideA, strideA, b + start * strideB, strideB, c + start,
          range.count)
      }
      return result
    }
    let outerSizes = Array(layout.sizes.dropLast())
    let outerA = Array(layout.lhsStrides.dropLast())
    let outerB = Array(layout.rhsStrides.dropLast())
    Parallel.forEachChunk(rows, minimumChunk: Swift.max(1, 16_384 / width)) { range in
      outerSizes.withUnsafeBufferPointer { sizes in
        for row in range {
          // The row's offsets into each operand, from its multi-index.
          var remainder = row
          var offsetA = 0
          var offsetB = 0
          for dimension in stride(from: sizes.count - 1, through: 0, by: -1) {
            let index = remainder % sizes[dimension]
            remainder /= sizes[dimension]
            offsetA += index * outerA[dimension]
            offsetB += index * outerB[dimension]
          }
          runLine(kernel, a + offsetA, strideA, b + offsetB, strideB, c + row * width, width)
        }
      }
    }
    return result
  }

  /// One line of an elementwise kernel, each operand contiguous (stride 1) or
  /// repeated (stride 0). The separate loops let the compiler vectorise each case.
  @inline(__always)
  private static func runLine<Kernel: BinaryElementKernel>(
    _ kernel: Kernel, _ a: UnsafePointer<Float>, _ strideA: Int,
    _ b: UnsafePointer<Float>, _ strideB: Int, _ c: UnsafeMutablePointer<Float>, _ count: Int
  ) {
    switch (strideA, strideB) {
    case (1, 1):
      for index in 0..<count { c[index] = kernel(a[index], b[index]) }
    case (1, _):
      let scalar = b[0]
      for index in 0..<count { c[index] = kernel(a[index], scalar) }
    case (_, 1):
      let scalar = a[0]
      for index in 0..<count { c[index] = kernel(scalar, b[index]) }
    default:
      c.update(repeating: kernel(a[0], b[0]), count: count)
    }
  }
}

private struct ScaleKernel: BinaryElementKernel {
  @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b }
}

extension Tensor {
  /// This tensor stretched to `target` under NumPy's rules, materialised.
  ///
  /// - Parameter target: a shape this one broadcasts to, e.g. [H] → [B, T, H].
  /// - Returns: [target…]. Backward sums the gradient back to this shape.
  public func broadcasted(to target: [Int]) -> Tensor {
    guard (try? Tensor.broadcastShape(shape, target, op: "broadcasted(to:)")) == target else {
      shapeFailure(.cannotBroadcast(op: "broadcasted(to:)", shape: shape, target: target))
    }
    if shape == target { return self }
    let y = expanded(to: target, scale: 1)  // [target…]
    let inputShape = shape
    return Tensor.record(y, inputs: [self]) { grad in [grad.summed(toShape: inputShape)] }
  }

  /// `scale ·` this tensor stretched to `target`. Not recorded.
  func expanded(to target: [Int], scale: Float) -> Tensor {
    Tensor.elementwise(self, Tensor(scale), shape: target, ScaleKernel())
  }

  /// Sums a broadcast result's gradient back to an operand's shape: over the
  /// leading dimensions the operand lacks, and over those where it has size 1.
  /// Not recorded. Accumulates in Double (see ``sumAxisKernel``).
  ///
  /// - Parameter target: a shape that broadcasts to this tensor's shape.
  /// - Returns: [target…].
  func summed(toShape target: [Int]) -> Tensor {
    if shape == target { return self }
    ensure(
      (try? Tensor.broadcastShape(target, shape, op: "")) == shape,
      "summed(toShape:): \(target) does not broadcast to \(shape)")
    if count == 0 || Tensor.elementCount(target) == 0 { return Tensor(zeros: target) }
    // Runs of adjacent dimensions that are all kept or all summed, size-1 dimensions dropped.
    let padded = [Int](repeating: 1, count: rank - target.count) + target
    var runs: [(size: Int, summed: Bool)] = []
    for dimension in 0..<rank where shape[dimension] != 1 {
      let summed = padded[dimension] == 1
      if let last = runs.last, last.summed == summed {
        runs[runs.count - 1].size *= shape[dimension]
      } else {
        runs.append((shape[dimension], summed))
      }
    }
    var current = self
    while let index = runs.lastIndex(where: \.summed) {
      let outer = runs[..<index].reduce(1) { $0 * $1.size }
      let inner = runs[(index + 1)...].reduce(1) { $0 * $1.size }
      let next = Tensor(uninitializedShape: [outer * inner])
      Tensor.sumAxisKernel(
        current.storage.pointer, outer: outer, length: runs[index].size, inner: inner, scale: 1,
        into: next.storage.pointer)
      current = next
      runs.remove(at: index)
    }
    return Tensor(shape: target, storage: current.storage)
  }
}
