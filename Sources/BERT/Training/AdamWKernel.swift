// AdamW's elementwise update, over one piece of one parameter.
//
// W elements per row of a row-sparse gradient; R rows it holds.

/// The numbers one update shares between all parameters.
struct AdamWConstants {
  var learningRate: Float
  var beta1: Float
  var beta2: Float
  var epsilon: Float
  /// 1 − β₁ᵗ and 1 − β₂ᵗ.
  var correction1: Float
  var correction2: Float
  /// Every gradient is multiplied by this first (the clipping coefficient, or 1).
  var gradientScale: Float
}

/// A range of one parameter's elements to update, with where its gradient is.
struct AdamWPiece {
  /// About this many elements per piece (whole rows of a row-sparse gradient).
  static let size = 65_536

  enum Gradient {
    /// The parameter's dense gradient, from its first element.
    case dense(UnsafeMutablePointer<Float>)
    /// A row-sparse gradient over rows of `width` elements.
    case rows(RowSparseGradient, width: Int)
  }

  let parameter: UnsafeMutablePointer<Float>
  let firstMoment: UnsafeMutablePointer<Float>
  let secondMoment: UnsafeMutablePointer<Float>
  /// lr·λ, or 0 for a parameter without weight decay.
  let decay: Float
  /// The elements start..<end; for a row-sparse gradient, whole rows.
  let start: Int
  let end: Int
  let gradient: Gradient

  /// Updates the piece. A row that a row-sparse gradient does not hold gets
  /// `zeroRow` (at least W zeros) as its gradient, exactly as a dense zero row.
  func run(_ constants: AdamWConstants, zeroRow: UnsafePointer<Float>?) {
    switch gradient {
    case .dense(let g):
      AdamWPiece.update(
        parameter + start, firstMoment + start, secondMoment + start, UnsafePointer(g + start),
        count: end - start, decay: decay, constants)
    case .rows(let rows, let width):
      guard width > 0 else { return }
      let values = UnsafePointer(rows.values.storage.pointer)
      let held = rows.rows
      // The first held row at or after this piece's first row.
      var slot = AdamWPiece.firstIndex(in: held, notBelow: start / width)
      for row in (start / width)..<(end / width) {
        var g = zeroRow!
        if slot < held.count && held[slot] == row {
          g = values + slot * width
          slot += 1
        }
        let offset = row * width
        AdamWPiece.update(
          parameter + offset, firstMoment + offset, secondMoment + offset, g, count: width,
          decay: decay, constants)
      }
    }
  }

  /// The first index of `sorted` whose value is at least `value` (its count if none).
  static func firstIndex(in sorted: [Int], notBelow value: Int) -> Int {
    var (low, high) = (0, sorted.count)
    while low < high {
      let middle = (low + high) / 2
      if sorted[middle] < value { low = middle + 1 } else { high = middle }
    }
    return low
  }

  /// For each of `count` elements, with g the gradient times the scale:
  ///
  ///     p ← p − lr·λ·p
  ///     m ← β₁·m + (1 − β₁)·g
  ///     v ← β₂·v + (1 − β₂)·g·g
  ///     p ← p − lr·(m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
  ///
  /// Eight lanes at a time, then one at a time, in the same operations in the
  /// same order (no fused multiply-add), so every element gets the same bits
  /// either way.
  @inline(__always)
  static func update(
    _ p: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
    _ v: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, count: Int, decay: Float,
    _ constants: AdamWConstants
  ) {
    let (lr, b1, b2, eps) = (
      constants.learningRate, constants.beta1, constants.beta2, constants.epsilon
    )
    let (c1, c2, scale) = (constants.correction1, constants.correction2, constants.gradientScale)
    let (keep1, keep2) = (1 - b1, 1 - b2)
    typealias Lanes = SIMD8<Float>
    var i = 0
    while i + 8 <= count {
      let gradient = UnsafeRawPointer(g + i).loadUnaligned(as: Lanes.self) * scale
      var weight = UnsafeRawPointer(p + i).loadUnaligned(as: Lanes.self)
      weight = weight - decay * weight
      let first =
        b1 * UnsafeRawPointer(m + i).loadUnaligned(as: Lanes.self) + keep1 * gradient
      let second =
        b2 * UnsafeRawPointer(v + i).loadUnaligned(as: Lanes.self) + keep2 * gradient * gradient
      let mHat = first / c1
      let vHat = second / c2
      weight = weight - lr * mHat / (vHat.squareRoot() + eps)
      UnsafeMutableRawPointer(p + i).storeBytes(of: weight, as: Lanes.self)
      UnsafeMutableRawPointer(m + i).storeBytes(of: first, as: Lanes.self)
      UnsafeMutableRawPointer(v + i).storeBytes(of: second, as: Lanes.self)
      i += 8
    }
    while i < count {
      let gradient = g[i] * scale
      var weight = p[i]
      weight = weight - decay * weight
      let first = b1 * m[i] + keep1 * gradient
      let second = b2 * v[i] + keep2 * gradient * gradient
      let mHat = first / c1
      let vHat = second / c2
      p[i] = weight - lr * mHat / (vHat.squareRoot() + eps)
      m[i] = first
      v[i] = second
      i += 1
    }
  }
}
