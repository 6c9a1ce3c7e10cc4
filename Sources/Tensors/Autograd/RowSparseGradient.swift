// The gradient of a table of which a backward pass touched only some rows.
//
// N rows of the parameter, R touched rows, W elements per row (the product of S…).

/// The gradient of a [N, S…] parameter that is zero outside a few rows: what a
/// row lookup (``Tensor/gatherRows(_:)`` on a ``Parameter``'s value, i.e. an
/// embedding) gives its table.
///
/// It holds only the touched rows, so a word embedding of 30 522 rows costs
/// what its batch's tokens cost, not what the vocabulary does. Every row that
/// is not listed is exactly zero: ``densified()`` gives the same tensor, bit
/// for bit, that a dense backward would have accumulated.
public struct RowSparseGradient: @unchecked Sendable {
  /// The parameter's shape, [N, S…].
  public let shape: [Int]
  /// The touched rows, ascending and distinct.
  public let rows: [Int]
  /// Their gradients: row j is the gradient of the parameter's row `rows[j]`. [R, S…]
  public private(set) var values: Tensor

  /// A gradient that is `values` on `rows` and zero elsewhere.
  ///
  /// - Parameters:
  ///   - shape: the parameter's shape [N, S…].
  ///   - rows: ascending, distinct rows in `0..<N`.
  ///   - values: [rows.count, S…].
  public init(shape: [Int], rows: [Int], values: Tensor) {
    ensure(shape.count >= 1, "RowSparseGradient: a parameter of shape \(shape) has no rows")
    ensure(
      values.shape == [rows.count] + shape.dropFirst(),
      "RowSparseGradient: values of shape \(values.shape) for \(rows.count) rows of \(shape)")
    for (position, row) in rows.enumerated() {
      ensure(
        row >= 0 && row < shape[0] && (position == 0 || row > rows[position - 1]),
        "RowSparseGradient: row \(row) at position \(position) is out of order or outside 0..<\(shape[0])"
      )
    }
    self.shape = shape
    self.rows = rows
    self.values = values.detached()
  }

  /// W: the elements of one row.
  public var rowWidth: Int { Tensor.elementCount(Array(shape.dropFirst())) }

  /// The full gradient [N, S…], zero outside ``rows``.
  public func densified() -> Tensor {
    var dense = Tensor(zeros: shape)  // [N, S…]
    add(to: &dense)
    return dense
  }

  /// dense += self, row by row. `dense` has the parameter's shape.
  public func add(to dense: inout Tensor) {
    ensure(dense.shape == shape, "RowSparseGradient: adding to \(dense.shape), expected \(shape)")
    let width = rowWidth
    let source = values.storage.pointer
    dense.withUnsafeMutableBufferPointer { target in
      let target = target.baseAddress!
      for (slot, row) in rows.enumerated() {
        let from = source + slot * width
        let to = target + row * width
        for column in 0..<width { to[column] += from[column] }
      }
    }
  }

  /// self + other over the union of their rows (a row in one only is copied,
  /// as a dense sum would add zero to it).
  public func adding(_ other: RowSparseGradient) -> RowSparseGradient {
    ensure(other.shape == shape, "RowSparseGradient: adding \(other.shape) to \(shape)")
    let width = rowWidth
    var merged: [Int] = []
    merged.reserveCapacity(rows.count + other.rows.count)
    var (i, j) = (0, 0)
    while i < rows.count || j < other.rows.count {
      if j == other.rows.count || (i < rows.count && rows[i] < other.rows[j]) {
        merged.append(rows[i])
        i += 1
      } else if i == rows.count || other.rows[j] < rows[i] {
        merged.append(other.rows[j])
        j += 1
      } else {
        merged.append(rows[i])
        i += 1
        j += 1
      }
    }
    let sum = Tensor(zeros: [merged.count] + shape.dropFirst())  // [R, S…]
    let target = sum.storage.pointer
    for (part, source) in [
      (rows, values.storage.pointer), (other.rows, other.values.storage.pointer),
    ] {
      var slot = 0
      for (index, row) in part.enumerated() {
        while merged[slot] != row { slot += 1 }
        let from = source + index * width
        let to = target + slot * width
        for column in 0..<width { to[column] += from[column] }
      }
    }
    return RowSparseGradient(shape: shape, rows: merged, values: sum)
  }

  /// Multiplies every stored value by `factor` in place (gradient clipping).
  public mutating func scale(by factor: Float) {
    values.withUnsafeMutableBufferPointer { values in
      let base = values.baseAddress!
      Parallel.forEachChunk(values.count) { range in
        for index in range { base[index] *= factor }
      }
    }
  }
}
