// Activations: GELU (exact and tanh forms), bias + GELU fused, tanh and ReLU.
//
// Shapes: R rows (every leading dimension flattened), N the last dimension.
// In BERT the intermediate layer is x·Wᵀ [B·T, 3072] followed by bias + GELU.
//
// Every kernel is one pass over the data with SIMD8 arithmetic, split across
// threads by rows. Backward passes recompute the activation's derivative from
// the saved input instead of keeping a second tensor.

extension Tensor {
  /// The Gaussian error linear unit, elementwise.
  ///
  /// - Parameter approximate: false (the default) for the exact form
  ///   0.5·x·(1 + erf(x/√2)) that BERT uses; true for the tanh form
  ///   0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
  /// - Returns: the same shape as self.
  public func gelu(approximate: Bool = false) -> Tensor {
    let input = self  // [R, N] as a flat run of elements
    let result = Tensor.geluForward(input: input, bias: nil, approximate: approximate)
    return Tensor.record(result, inputs: [self]) { grad in
      [Tensor.geluBackward(grad, input: input, bias: nil, approximate: approximate).input]
    }
  }

  /// gelu(self + bias), fused: one pass, no intermediate tensor.
  ///
  /// - Parameters:
  ///   - bias: [N], added to every row of self [..., N].
  ///   - approximate: as in ``gelu(approximate:)``.
  /// - Returns: [..., N]; gradients flow to self and to bias.
  public func biasGELU(bias: Tensor, approximate: Bool = false) -> Tensor {
    ensure(
      rank >= 1 && bias.shape == [shape[rank - 1]],
      "biasGELU: bias \(bias.shape) does not match the last dimension of \(shape)")
    let input = self  // [R, N]
    let result = Tensor.geluForward(input: input, bias: bias, approximate: approximate)
    return Tensor.record(result, inputs: [self, bias]) { grad in
      let grads = Tensor.geluBackward(grad, input: input, bias: bias, approximate: approximate)
      return [grads.input, grads.bias]
    }
  }

  /// linear(gelu(self + bias), weight, outputBias): a transformer's
  /// feed-forward block after its first product, with the GELU output
  /// recomputed in the backward pass instead of kept. Training then holds one
  /// [R, I] tensor per layer instead of two, for one more GELU pass.
  ///
  /// - Parameters:
  ///   - bias: [I], added before the GELU; self is [..., I].
  ///   - approximate: as in ``gelu(approximate:)``.
  ///   - weight: [out, I], the second layer's weight.
  ///   - outputBias: [out], or nil.
  /// - Returns: [..., out]; gradients flow to self, bias, weight and outputBias.
  public func biasGELULinear(
    bias: Tensor, approximate: Bool = false, weight: Tensor, outputBias: Tensor?
  ) -> Tensor {
    ensure(
      rank >= 1 && bias.shape == [shape[rank - 1]],
      "biasGELULinear: bias \(bias.shape) does not match the last dimension of \(shape)")
    let input = self  // [R, I]
    // [R, I], dropped once the product is taken
    let activated = Tensor.geluForward(input: input, bias: bias, approximate: approximate)
    let y = Tensor.linearForward(activated, weight: weight, bias: outputBias)  // [R, out]
    var inputs = [self, bias, weight]
    if let outputBias { inputs.append(outputBias) }
    return Tensor.record(y, inputs: inputs) { grad in  // grad: [R, out]
      // [R, I], recomputed
      let activated = Tensor.geluForward(input: input, bias: bias, approximate: approximate)
      let linear = Tensor.linearBackward(
        grad, input: activated, weight: weight, hasBias: outputBias != nil)  // d activated, dW, db
      let gelu = Tensor.geluBackward(linear[0], input: input, bias: bias, approximate: approximate)
      return [gelu.input, gelu.bias] + linear.dropFirst().map { Optional($0) }
    }
  }

  /// The hyperbolic tangent, elementwise (BERT's pooler). Same shape as self.
  public func tanh() -> Tensor {
    let count = self.count
    var result = Tensor(uninitializedShape: shape)
    let x = storage.pointer
    let y = result.storage.pointer
    Parallel.forEachChunk(count, minimumChunk: 8_192) { range in
      var j = range.lowerBound
      while j + 8 <= range.upperBound {
        VectorMath.store(VectorMath.tanh(VectorMath.load(x + j)), y + j)
        j += 8
      }
      while j < range.upperBound {
        y[j] = VectorMath.tanh(x[j])
        j += 1
      }
    }
    result = result.detached()
    let output = result  // saved for backward: d tanh = 1 − y²
    return Tensor.record(result, inputs: [self]) { grad in
      let gradInput = Tensor(uninitializedShape: output.shape)
      let g = grad.storage.pointer
      let y = output.storage.pointer
      let dx = gradInput.storage.pointer
      Parallel.forEachChunk(count) { range in
        for j in range { dx[j] = g[j] * (1 - y[j] * y[j]) }
      }
      return [gradInput.detached()]
    }
  }

  /// max(x, 0), elementwise. Same shape as self; the gradient at 0 is 0.
  public func relu() -> Tensor {
    let count = self.count
    var result = Tensor(uninitializedShape: shape)
    let x = storage.pointer
    let y = result.storage.pointer
    Parallel.forEachChunk(count) { range in
      for j in range { y[j] = Swift.max(x[j], 0) }
    }
    result = result.detached()
    let output = result  // saved for backward: the gradient passes where y > 0
    return Tensor.record(result, inputs: [self]) { grad in
      let gradInput = Tensor(uninitializedShape: output.shape)
      let g = grad.storage.pointer
      let y = output.storage.pointer
      let dx = gradInput.storage.pointer
      Parallel.forEachChunk(count) { range in
        for j in range { dx[j] = y[j] > 0 ? g[j] : 0 }
      }
      return [gradInput.detached()]
    }
  }
}

// MARK: - GELU kernels

/// The constants of both GELU forms.
private enum GELU {
  static let inverseSqrt2: Float = 0.707_106_781_186_547_5
  static let inverseSqrt2Pi: Float = 0.398_942_280_401_432_7  // 1/√(2π)
  static let sqrt2OverPi: Float = 0.797_884_560_802_865_4  // √(2/π)
  static let cubic: Float = 0.044_715

  /// gelu(u) for eight values.
  @_transparent
  static func value(_ u: Vector, approximate: Bool) -> Vector {
    let half = Vector(repeating: 0.5)
    if approximate {
      let inner =
        Vector(repeating: sqrt2OverPi) * u.addingProduct(Vector(repeating: cubic) * u, u * u)
      return half * u * (1 + VectorMath.tanh(inner))
    }
    return half * u * (1 + VectorMath.erf(u * Vector(repeating: inverseSqrt2)))
  }

  /// gelu′(u) for eight values.
  @_transparent
  static func derivative(_ u: Vector, approximate: Bool) -> Vector {
    let half = Vector(repeating: 0.5)
    if approximate {
      let u2 = u * u
      let inner = Vector(repeating: sqrt2OverPi) * u.addingProduct(Vector(repeating: cubic) * u, u2)
      let t = VectorMath.tanh(inner)
      let innerDerivative =
        Vector(repeating: sqrt2OverPi) * (1 + Vector(repeating: 3 * cubic) * u2)
      return half * (1 + t) + half * u * (1 - t * t) * innerDerivative
    }
    // Φ(u) + u·φ(u)
    let cdf = half * (1 + VectorMath.erf(u * Vector(repeating: inverseSqrt2)))
    let pdf = Vector(repeating: inverseSqrt2Pi) * VectorMath.exp(-half * u * u)
    return cdf.addingProduct(u, pdf)
  }
}

extension Tensor {
  /// y = gelu(x + bias) over rows of width N (bias nil: N is the whole tensor).
  fileprivate static func geluForward(input: Tensor, bias: Tensor?, approximate: Bool) -> Tensor {
    let result = Tensor(uninitializedShape: input.shape)  // [R, N]
    let width = bias?.count ?? input.count
    let rows = input.count / Swift.max(width, 1)
    let x = input.storage.pointer
    let y = result.storage.pointer
    let b = bias?.storage.pointer
    if b == nil {
      // One long row: split it by elements.
      Parallel.forEachChunk(input.count, minimumChunk: 8_192) { range in
        geluRow(x + range.lowerBound, nil, y + range.lowerBound, range.count, approximate)
      }
    } else {
      Parallel.forEachChunk(rows, minimumChunk: RowKernels.minimumRows(width: width) / 2) {
        range in
        for row in range {
          geluRow(x + row * width, b, y + row * width, width, approximate)
        }
      }
    }
    return result.detached()
  }

  /// One row of y = gelu(x + b); `y` may be `x` (in place). The int8 linear
  /// layer's output pass calls it too, so the int8 path has the same GELU.
  @inline(__always)
  static func geluRow(
    _ x: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>,
    _ n: Int, _ approximate: Bool
  ) {
    var j = 0
    if let b {
      while j + 8 <= n {
        let u = VectorMath.load(x + j) + VectorMath.load(b + j)
        VectorMath.store(GELU.value(u, approximate: approximate), y + j)
        j += 8
      }
      if j < n {
        let u =
          VectorMath.loadPartial(x + j, n - j, fill: 0)
          + VectorMath.loadPartial(b + j, n - j, fill: 0)
        VectorMath.storePartial(GELU.value(u, approximate: approximate), y + j, n - j)
      }
    } else {
      while j + 8 <= n {
        VectorMath.store(GELU.value(VectorMath.load(x + j), approximate: approximate), y + j)
        j += 8
      }
      if j < n {
        let u = VectorMath.loadPartial(x + j, n - j, fill: 0)
        VectorMath.storePartial(GELU.value(u, approximate: approximate), y + j, n - j)
      }
    }
  }

  /// dx = dy·gelu′(x + b) and, with a bias, dbias = Σ_rows dx.
  fileprivate static func geluBackward(
    _ grad: Tensor, input: Tensor, bias: Tensor?, approximate: Bool
  ) -> (input: Tensor, bias: Tensor?) {
    let gradInput = Tensor(uninitializedShape: input.shape)  // [R, N]
    let width = bias?.count ?? input.count
    let rows = input.count / Swift.max(width, 1)
    let x = input.storage.pointer
    let g = grad.storage.pointer
    let dx = gradInput.storage.pointer
    guard let bias else {
      Parallel.forEachChunk(input.count, minimumChunk: 8_192) { range in
        let start = range.lowerBound
        geluBackwardRow(x + start, nil, g + start, dx + start, nil, range.count, approximate)
      }
      return (gradInput.detached(), nil)
    }
    // Each chunk of rows sums its dbias into its own slot; the slots are added at the end.
    let b = bias.storage.pointer
    let chunks = Swift.min(Compute.threadCount, Swift.max(1, rows))
    let partials = UnsafeMutablePointer<Float>.allocate(capacity: chunks * width)
    partials.initialize(repeating: 0, count: chunks * width)
    defer { partials.deallocate() }
    let rowsPerChunk = (rows + chunks - 1) / chunks
    Parallel.forEach(chunks) { chunk in
      let sums = partials + chunk * width
      let end = Swift.min(rows, (chunk + 1) * rowsPerChunk)
      for row in Swift.min(rows, chunk * rowsPerChunk)..<end {
        let offset = row * width
        geluBackwardRow(x + offset, b, g + offset, dx + offset, sums, width, approximate)
      }
    }
    let gradBias = Tensor(zeros: [width])  // [N]
    let db = gradBias.storage.pointer
    for chunk in 0..<chunks {
      for j in 0..<width { db[j] += partials[chunk * width + j] }
    }
    return (gradInput.detached(), gradBias.detached())
  }

  /// One row of dx = dy·gelu′(x + b), adding dx into `sums` when given.
  @inline(__always)
  private static func geluBackwardRow(
    _ x: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, _ g: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>, _ sums: UnsafeMutablePointer<Float>?, _ n: Int,
    _ approximate: Bool
  ) {
    var j = 0
    while j < n {
      let lanes = Swift.min(8, n - j)
      var u: Vector
      var dy: Vector
      if lanes == 8 {
        u = VectorMath.load(x + j)
        dy = VectorMath.load(g + j)
        if let b { u += VectorMath.load(b + j) }
      } else {
        u = VectorMath.loadPartial(x + j, lanes, fill: 0)
        dy = VectorMath.loadPartial(g + j, lanes, fill: 0)
        if let b { u += VectorMath.loadPartial(b + j, lanes, fill: 0) }
      }
      let d = dy * GELU.derivative(u, approximate: approximate)
      if lanes == 8 {
        VectorMath.store(d, dx + j)
        if let sums { VectorMath.store(VectorMath.load(sums + j) + d, sums + j) }
      } else {
        VectorMath.storePartial(d, dx + j, lanes)
        if let sums {
          for lane in 0..<lanes { sums[j + lane] += d[lane] }
        }
      }
      j += 8
    }
  }
}
