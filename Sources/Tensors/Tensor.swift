// Tensor: a dense, row-major, contiguous array of Float32 with value semantics.
//
// A `Tensor` is a shape plus a reference to its storage. Copies share storage
// until one of them is written (copy-on-write). Every tensor is contiguous:
// operations that rearrange data (transpose, head split) produce new storage,
// and matrix products express transposition through GEMM flags instead.

/// The reference-counted buffer behind a tensor: `count` floats, 64-byte aligned.
///
/// Large buffers come from and return to ``BufferPool``, so the activations of
/// one layer reuse the memory of the previous one instead of faulting in fresh
/// pages for every op.
public final class TensorStorage: @unchecked Sendable {
  /// The number of `Float` elements.
  public let count: Int
  /// The first element. Valid for the lifetime of the storage.
  public let pointer: UnsafeMutablePointer<Float>
  private let byteCount: Int

  /// Allocates `count` uninitialised floats.
  public init(count: Int) {
    ensure(count >= 0, "TensorStorage: negative element count \(count)")
    self.count = count
    byteCount = max(count, 1) * MemoryLayout<Float>.stride
    pointer = BufferPool.shared.take(byteCount: byteCount).bindMemory(
      to: Float.self, capacity: max(count, 1))
  }

  deinit { BufferPool.shared.give(UnsafeMutableRawPointer(pointer), byteCount: byteCount) }

  /// A new storage holding the same values.
  func copy() -> TensorStorage {
    let result = TensorStorage(count: count)
    result.pointer.update(from: pointer, count: count)
    return result
  }
}

/// A dense Float32 tensor, row-major and contiguous, with copy-on-write value semantics.
///
/// Operations on tensors record themselves for reverse-mode differentiation when
/// gradients are enabled and an input is tracked (see ``Parameter`` and
/// ``Tensor/backward()``).
public struct Tensor: @unchecked Sendable {
  /// The size of each dimension, outermost first.
  public let shape: [Int]
  /// The buffer that holds the elements. Shared between copies until a write.
  public private(set) var storage: TensorStorage
  /// The autograd node that produced this tensor, if it was recorded.
  var node: GradNode?

  /// Wraps existing storage. `shape` must describe exactly `storage.count` elements.
  public init(shape: [Int], storage: TensorStorage) {
    let count = Tensor.elementCount(shape)
    ensure(
      count == storage.count,
      "Tensor: shape \(shape) holds \(count) elements, but the storage holds \(storage.count)")
    self.shape = shape
    self.storage = storage
  }

  /// A tensor whose elements are not initialised. Kernels that overwrite every
  /// element use this to avoid a needless fill.
  public init(uninitializedShape shape: [Int]) {
    self.init(shape: shape, storage: TensorStorage(count: Tensor.elementCount(shape)))
  }

  /// A tensor filled with `value`.
  public init(repeating value: Float, shape: [Int]) {
    self.init(uninitializedShape: shape)
    storage.pointer.initialize(repeating: value, count: storage.count)
  }

  /// A tensor of zeros.
  public init(zeros shape: [Int]) { self.init(repeating: 0, shape: shape) }

  /// A tensor of ones.
  public init(ones shape: [Int]) { self.init(repeating: 1, shape: shape) }

  /// A tensor holding `scalars` in row-major order.
  public init(shape: [Int], scalars: [Float]) {
    let count = Tensor.elementCount(shape)
    ensure(
      scalars.count == count,
      "Tensor: shape \(shape) needs \(count) scalars, got \(scalars.count)")
    self.init(uninitializedShape: shape)
    scalars.withUnsafeBufferPointer { source in
      storage.pointer.update(from: source.baseAddress!, count: count)
    }
  }

  /// A rank-0 tensor holding one value.
  public init(_ value: Float) { self.init(shape: [], scalars: [value]) }

  /// The number of elements.
  public var count: Int { storage.count }

  /// The number of dimensions.
  public var rank: Int { shape.count }

  /// The elements in row-major order.
  public var scalars: [Float] {
    Array(UnsafeBufferPointer(start: storage.pointer, count: count))
  }

  /// The single element of a one-element tensor.
  public var item: Float {
    ensure(count == 1, "Tensor.item: tensor of shape \(shape) has \(count) elements")
    return storage.pointer[0]
  }

  /// The element at a full multi-index.
  public subscript(_ indices: Int...) -> Float {
    get { storage.pointer[flatIndex(indices)] }
    set {
      let offset = flatIndex(indices)
      makeUnique()
      storage.pointer[offset] = newValue
    }
  }

  /// Calls `body` with the elements, read-only.
  @inlinable
  public func withUnsafeBufferPointer<R>(
    _ body: (UnsafeBufferPointer<Float>) throws -> R
  ) rethrows -> R {
    try body(UnsafeBufferPointer(start: storage.pointer, count: count))
  }

  /// Calls `body` with the elements, writable. Copies the storage first if it is shared.
  @inlinable
  public mutating func withUnsafeMutableBufferPointer<R>(
    _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
  ) rethrows -> R {
    makeUnique()
    return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
  }

  /// Gives this tensor storage of its own if another tensor shares it.
  @usableFromInline
  mutating func makeUnique() {
    if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
  }

  /// The product of the dimensions (1 for a scalar).
  public static func elementCount(_ shape: [Int]) -> Int {
    var count = 1
    for dimension in shape {
      ensure(dimension >= 0, "Tensor: negative dimension in shape \(shape)")
      count *= dimension
    }
    return count
  }

  private func flatIndex(_ indices: [Int]) -> Int {
    ensure(
      indices.count == shape.count,
      "Tensor: index \(indices) has \(indices.count) components for shape \(shape)")
    var offset = 0
    for (index, dimension) in zip(indices, shape) {
      ensure(
        index >= 0 && index < dimension, "Tensor: index \(indices) out of range for shape \(shape)")
      offset = offset * dimension + index
    }
    return offset
  }
}

extension Tensor: CustomStringConvertible {
  public var description: String {
    let shown = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
    return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", …" : "")])"
  }
}

extension Tensor {
  /// The same elements viewed with another shape of equal element count. One
  /// dimension may be `-1`, inferred from the others.
  public func reshaped(_ newShape: [Int]) -> Tensor {
    var resolved = newShape
    if let inferred = newShape.firstIndex(of: -1) {
      let known = newShape.enumerated().filter { $0.offset != inferred }.reduce(1) {
        $0 * $1.element
      }
      ensure(
        known > 0 && count % known == 0, "reshaped: cannot reshape \(shape) to \(newShape)")
      resolved[inferred] = count / known
    }
    ensure(
      Tensor.elementCount(resolved) == count,
      "reshaped: cannot reshape \(shape) (\(count) elements) to \(newShape)")
    let result = Tensor(shape: resolved, storage: storage)
    let inputShape = shape
    return Tensor.record(result, inputs: [self]) { grad in [grad.reshaped(inputShape)] }
  }

  /// A copy that autograd does not track.
  public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }
}
