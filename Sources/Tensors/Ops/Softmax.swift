// Softmax and log-softmax over the last axis, numerically stable.
//
// Shapes: R rows (every leading dimension flattened), N the last dimension.
//
// Forward subtracts each row's maximum before exponentiating, so logits of any
// finite magnitude (±10⁴ and beyond) give finite results. Backward needs only
// the output, saved in ``SoftmaxSaved``.

/// What the softmax backward passes need: the forward output and the row width.
struct SoftmaxSaved {
  /// softmax: the probabilities; logSoftmax: the log-probabilities. [R, N]
  let output: Tensor
  /// N, the length of the normalised axis.
  let width: Int

  var rows: Int { output.count / Swift.max(width, 1) }
}

extension Tensor {
  /// The softmax over the last axis: exp(xᵢ − max) / Σⱼ exp(xⱼ − max).
  ///
  /// A row of finite logits never overflows; a row that is −∞ everywhere
  /// becomes uniform rather than NaN.
  ///
  /// - Returns: the same shape as self [..., N]; each row sums to 1.
  public func softmax() -> Tensor {
    ensure(rank >= 1, "softmax: needs rank ≥ 1, got a scalar")
    let width = shape[rank - 1]
    let rows = count / Swift.max(width, 1)
    var result = Tensor(uninitializedShape: shape)  // [R, N]
    let x = storage.pointer
    let y = result.storage.pointer
    Parallel.forEachChunk(rows, minimumChunk: RowKernels.minimumRows(width: width)) { range in
      for row in range { RowKernels.softmax(x + row * width, y + row * width, width) }
    }
    result = result.detached()
    let saved = SoftmaxSaved(output: result, width: width)
    return Tensor.record(result, inputs: [self]) { grad in [Tensor.softmaxBackward(grad, saved)] }
  }

  /// The log of the softmax over the last axis: xᵢ − max − log Σⱼ exp(xⱼ − max).
  ///
  /// - Returns: the same shape as self [..., N].
  public func logSoftmax() -> Tensor {
    ensure(rank >= 1, "logSoftmax: needs rank ≥ 1, got a scalar")
    let width = shape[rank - 1]
    let rows = count / Swift.max(width, 1)
    var result = Tensor(uninitializedShape: shape)  // [R, N]
    let x = storage.pointer
    let y = result.storage.pointer
    Parallel.forEachChunk(rows, minimumChunk: RowKernels.minimumRows(width: width)) { range in
      for row in range {
        let input = x + row * width
        let output = y + row * width
        let shift = Vector(repeating: RowKernels.logSumExp(input, width))
        var j = 0
        while j + 8 <= width {
          VectorMath.store(VectorMath.load(input + j) - shift, output + j)
          j += 8
        }
        while j < width {
          output[j] = input[j] - shift[0]
          j += 1
        }
      }
    }
    result = result.detached()
    let saved = SoftmaxSaved(output: result, width: width)
    return Tensor.record(result, inputs: [self]) { grad in
      [Tensor.logSoftmaxBackward(grad, saved)]
    }
  }

  /// dx = y ⊙ (dy − Σⱼ dyⱼ·yⱼ), row by row.
  fileprivate static func softmaxBackward(_ grad: Tensor, _ saved: SoftmaxSaved) -> Tensor {
    rowwiseBackward(grad, saved, RowKernels.softmaxBackward)
  }

  /// dx = dy − exp(y)·Σⱼ dyⱼ, row by row (y the log-probabilities).
  fileprivate static func logSoftmaxBackward(_ grad: Tensor, _ saved: SoftmaxSaved) -> Tensor {
    rowwiseBackward(grad, saved) { y, g, dx, width in
      var total: Float = 0
      for j in 0..<width { total += g[j] }
      let sum = Vector(repeating: total)
      var j = 0
      while j + 8 <= width {
        let p = VectorMath.exp(VectorMath.load(y + j))
        VectorMath.store(VectorMath.load(g + j) - p * sum, dx + j)
        j += 8
      }
      while j < width {
        dx[j] = g[j] - VectorMath.exp(y[j]) * total
        j += 1
      }
    }
  }

  /// Runs `row(y, dy, dx, width)` on every row of the saved output [R, N] and
  /// the incoming gradient, split across threads; returns dx [R, N].
  private static func rowwiseBackward(
    _ grad: Tensor, _ saved: SoftmaxSaved,
    _ row: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
  ) -> Tensor {
    let width = saved.width
    let gradInput = Tensor(uninitializedShape: saved.output.shape)  // [R, N]
    let y = saved.output.storage.pointer
    let g = grad.storage.pointer
    let dx = gradInput.storage.pointer
    Parallel.forEachChunk(saved.rows, minimumChunk: RowKernels.minimumRows(width: width)) {
      range in
      for index in range {
        let offset = index * width
        row(y + offset, g + offset, dx + offset, width)
      }
    }
    return gradInput.detached()
  }
}

extension RowKernels {
  /// One row of the softmax backward: dx = y ⊙ (dy − Σⱼ dyⱼ·yⱼ). `dx` may alias `dy`.
  @inline(__always)
  static func softmaxBackward(
    _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
    _ n: Int
  ) {
    let inner = Vector(repeating: dot(y, dy, n))
    var j = 0
    while j + 8 <= n {
      VectorMath.store(VectorMath.load(y + j) * (VectorMath.load(dy + j) - inner), dx + j)
      j += 8
    }
    while j < n {
      dx[j] = y[j] * (dy[j] - inner[0])
      j += 1
    }
  }
}
