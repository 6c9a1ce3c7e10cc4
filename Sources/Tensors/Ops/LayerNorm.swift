// Layer normalisation over the last axis, alone or fused with a residual add.
//
// Shapes: R rows (every leading dimension flattened; B·T in BERT), N the
// normalised width (H). gamma and beta are [N].
//
// y = (s − mean)·rstd·γ + β with s = x (+ residual), mean and the biased
// variance per row (as PyTorch), rstd = 1/√(var + ε). Mean and variance are
// computed in two passes over the row while it is in cache, which is exact
// where the one-pass E[s²] − E[s]² formula would cancel.

/// What the LayerNorm backward needs.
struct LayerNormSaved {
  /// The normalised input s = x (+ residual). [R, N]
  let input: Tensor
  /// Per row: the mean of s. [R]
  let mean: Tensor
  /// Per row: 1/√(var(s) + ε). [R]
  let reciprocalStd: Tensor
  /// The scale. [N]
  let gamma: Tensor

  var width: Int { gamma.count }
  var rows: Int { mean.count }
}

extension Tensor {
  /// Layer normalisation over the last axis.
  ///
  /// - Parameters:
  ///   - gamma: [N], the scale.
  ///   - beta: [N], the shift.
  ///   - epsilon: added to the variance (BERT: 1e-12).
  /// - Returns: [..., N], the shape of self.
  public func layerNorm(gamma: Tensor, beta: Tensor, epsilon: Float) -> Tensor {
    Tensor.layerNorm(self, residual: nil, gamma: gamma, beta: beta, epsilon: epsilon)
  }

  /// layerNorm(self + residual), fused: one pass over both inputs, no sum tensor
  /// unless gradients are recorded.
  ///
  /// - Parameters:
  ///   - residual: the same shape as self [..., N].
  ///   - gamma, beta: [N].
  ///   - epsilon: added to the variance.
  /// - Returns: [..., N]; gradients flow to self, residual, gamma and beta.
  public func addingLayerNorm(
    _ residual: Tensor, gamma: Tensor, beta: Tensor, epsilon: Float
  ) -> Tensor {
    ensure(
      residual.shape == shape,
      "addingLayerNorm: residual \(residual.shape) differs from input \(shape)")
    return Tensor.layerNorm(self, residual: residual, gamma: gamma, beta: beta, epsilon: epsilon)
  }

  private static func layerNorm(
    _ x: Tensor, residual: Tensor?, gamma: Tensor, beta: Tensor, epsilon: Float
  ) -> Tensor {
    ensure(x.rank >= 1, "layerNorm: needs rank ≥ 1, got a scalar")
    let width = x.shape[x.rank - 1]
    ensure(
      gamma.shape == [width] && beta.shape == [width],
      "layerNorm: gamma \(gamma.shape) and beta \(beta.shape) must both be [\(width)] for input \(x.shape)"
    )
    let rows = x.count / Swift.max(width, 1)
    var inputs = [x]
    if let residual { inputs.append(residual) }
    inputs += [gamma, beta]
    let recording = GradientMode.isEnabled && inputs.contains { $0.isTracked }

    var result = Tensor(uninitializedShape: x.shape)  // [R, N]
    // With a residual and recording, s = x + residual is kept for backward.
    let sum = residual != nil && recording ? Tensor(uninitializedShape: x.shape) : nil  // [R, N]
    let mean = Tensor(uninitializedShape: [recording ? rows : 0])  // [R]
    let reciprocalStd = Tensor(uninitializedShape: [recording ? rows : 0])  // [R]

    let xp = x.storage.pointer
    let rp = residual?.storage.pointer
    let yp = result.storage.pointer
    let sp = sum?.storage.pointer
    let meanp = recording ? mean.storage.pointer : nil
    let rstdp = recording ? reciprocalStd.storage.pointer : nil
    let g = gamma.storage.pointer
    let b = beta.storage.pointer
    Parallel.forEachChunk(rows, minimumChunk: RowKernels.minimumRows(width: width)) { range in
      for row in range {
        let offset = row * width
        var source = UnsafePointer(xp + offset)
        if let rp {
          // s = x + r, written where it is kept (or into the output row, then
          // normalised in place).
          let target = (sp ?? yp) + offset
          RowKernels.add(xp + offset, rp + offset, target, width)
          source = UnsafePointer(target)
        }
        let (rowMean, rowRstd) = RowKernels.meanAndReciprocalStd(source, width, epsilon: epsilon)
        meanp?[row] = rowMean
        rstdp?[row] = rowRstd
        RowKernels.normalize(source, yp + offset, width, rowMean, rowRstd, g, b)
      }
    }
    result = result.detached()
    guard recording else { return result }
    let saved = LayerNormSaved(
      input: sum?.detached() ?? x.detached(), mean: mean.detached(),
      reciprocalStd: reciprocalStd.detached(), gamma: gamma.detached())
    let hasResidual = residual != nil
    return Tensor.record(result, inputs: inputs) { grad in
      let grads = Tensor.layerNormBackward(grad, saved)
      return hasResidual
        ? [grads.input, grads.input, grads.gamma, grads.beta]
        : [grads.input, grads.gamma, grads.beta]
    }
  }

  /// ds = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·γ, x̂ = (s − mean)·rstd;
  /// dγ = Σ_rows dy·x̂, dβ = Σ_rows dy.
  fileprivate static func layerNormBackward(_ grad: Tensor, _ saved: LayerNormSaved) -> (
    input: Tensor, gamma: Tensor, beta: Tensor
  ) {
    let width = saved.width
    let rows = saved.rows
    let gradInput = Tensor(uninitializedShape: saved.input.shape)  // [R, N]
    let s = saved.input.storage.pointer
    let meanp = saved.mean.storage.pointer
    let rstdp = saved.reciprocalStd.storage.pointer
    let g = saved.gamma.storage.pointer
    let dy = grad.storage.pointer
    let ds = gradInput.storage.pointer

    // Each chunk of rows accumulates dγ and dβ in its own slots [2, N].
    let chunks = Swift.max(
      1, Swift.min(Compute.threadCount, rows / Swift.max(1, RowKernels.minimumRows(width: width))))
    let partials = UnsafeMutablePointer<Float>.allocate(capacity: chunks * 2 * width)
    partials.initialize(repeating: 0, count: chunks * 2 * width)
    defer { partials.deallocate() }
    let rowsPerChunk = (rows + chunks - 1) / chunks
    Parallel.forEach(chunks) { chunk in
      let gradGamma = partials + chunk * 2 * width
      let gradBeta = gradGamma + width
      let end = Swift.min(rows, (chunk + 1) * rowsPerChunk)
      for row in Swift.min(rows, chunk * rowsPerChunk)..<end {
        let offset = row * width
        RowKernels.layerNormBackward(
          s + offset, dy + offset, ds + offset, width, meanp[row], rstdp[row], g,
          gradGamma, gradBeta)
      }
    }
    var gradGamma = Tensor(zeros: [width])  // [N]
    var gradBeta = Tensor(zeros: [width])  // [N]
    let dg = gradGamma.storage.pointer
    let db = gradBeta.storage.pointer
    for chunk in 0..<chunks {
      let base = partials + chunk * 2 * width
      for j in 0..<width {
        dg[j] += base[j]
        db[j] += base[width + j]
      }
    }
    gradGamma = gradGamma.detached()
    gradBeta = gradBeta.detached()
    return (gradInput.detached(), gradGamma, gradBeta)
  }
}

extension RowKernels {
  /// out[j] = a[j] + b[j].
  @inline(__always)
  static func add(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
    _ n: Int
  ) {
    var j = 0
    while j + 8 <= n {
      VectorMath.store(VectorMath.load(a + j) + VectorMath.load(b + j), out + j)
      j += 8
    }
    while j < n {
      out[j] = a[j] + b[j]
      j += 1
    }
  }

  /// The mean and 1/√(biased variance + ε) of a row, by the corrected two-pass
  /// algorithm: a first mean m₀, then d = s − m₀ gives mean = m₀ + Σd/n and
  /// var = Σd²/n − (Σd/n)², which also removes the rounding error of m₀.
  @inline(__always)
  static func meanAndReciprocalStd(_ row: UnsafePointer<Float>, _ n: Int, epsilon: Float) -> (
    Float, Float
  ) {
    var sum0 = Vector(repeating: 0)
    var sum1 = Vector(repeating: 0)
    var j = 0
    while j + 16 <= n {
      sum0 += VectorMath.load(row + j)
      sum1 += VectorMath.load(row + j + 8)
      j += 16
    }
    var total = (sum0 + sum1).sum()
    while j < n {
      total += row[j]
      j += 1
    }
    let firstMean = total / Float(n)
    let center = Vector(repeating: firstMean)
    var deviations0 = Vector(repeating: 0)
    var deviations1 = Vector(repeating: 0)
    var squares0 = Vector(repeating: 0)
    var squares1 = Vector(repeating: 0)
    j = 0
    while j + 16 <= n {
      let d0 = VectorMath.load(row + j) - center
      let d1 = VectorMath.load(row + j + 8) - center
      deviations0 += d0
      deviations1 += d1
      squares0 = squares0.addingProduct(d0, d0)
      squares1 = squares1.addingProduct(d1, d1)
      j += 16
    }
    var deviations = (deviations0 + deviations1).sum()
    var squares = (squares0 + squares1).sum()
    while j < n {
      let d = row[j] - firstMean
      deviations += d
      squares += d * d
      j += 1
    }
    let correction = deviations / Float(n)
    let variance = Swift.max(squares / Float(n) - correction * correction, 0)
    return (firstMean + correction, 1 / (variance + epsilon).squareRoot())
  }

  /// y[j] = (s[j] − mean)·rstd·γ[j] + β[j]. `y` may be `s`.
  @inline(__always)
  static func normalize(
    _ s: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ mean: Float,
    _ rstd: Float, _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>
  ) {
    let center = Vector(repeating: mean)
    let scale = Vector(repeating: rstd)
    var j = 0
    while j + 8 <= n {
      let normalized = (VectorMath.load(s + j) - center) * scale
      VectorMath.store(
        VectorMath.load(beta + j).addingProduct(normalized, VectorMath.load(gamma + j)), y + j)
      j += 8
    }
    while j < n {
      y[j] = (s[j] - mean) * rstd * gamma[j] + beta[j]
      j += 1
    }
  }

  /// One row of the LayerNorm backward, adding dy·x̂ to `gradGamma` and dy to `gradBeta`.
  @inline(__always)
  static func layerNormBackward(
    _ s: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ ds: UnsafeMutablePointer<Float>,
    _ n: Int, _ mean: Float, _ rstd: Float, _ gamma: UnsafePointer<Float>,
    _ gradGamma: UnsafeMutablePointer<Float>, _ gradBeta: UnsafeMutablePointer<Float>
  ) {
    let center = Vector(repeating: mean)
    let scale = Vector(repeating: rstd)
    // Pass 1: Σ dx̂ and Σ dx̂·x̂, and the parameter gradients.
    var sumD = Vector(repeating: 0)
    var sumDX = Vector(repeating: 0)
    var j = 0
    while j + 8 <= n {
      let xhat = (VectorMath.load(s + j) - center) * scale
      let g = VectorMath.load(dy + j)
      let dxhat = g * VectorMath.load(gamma + j)
      sumD += dxhat
      sumDX = sumDX.addingProduct(dxhat, xhat)
      VectorMath.store(VectorMath.load(gradGamma + j).addingProduct(g, xhat), gradGamma + j)
      VectorMath.store(VectorMath.load(gradBeta + j) + g, gradBeta + j)
      j += 8
    }
    var totalD = sumD.sum()
    var totalDX = sumDX.sum()
    for k in j..<n {
      let xhat = (s[k] - mean) * rstd
      let dxhat = dy[k] * gamma[k]
      totalD += dxhat
      totalDX += dxhat * xhat
      gradGamma[k] += dy[k] * xhat
      gradBeta[k] += dy[k]
    }
    // Pass 2: ds = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)).
    let meanD = totalD / Float(n)
    let meanDX = totalDX / Float(n)
    let meanDVector = Vector(repeating: meanD)
    let meanDXVector = Vector(repeating: meanDX)
    j = 0
    while j + 8 <= n {
      let xhat = (VectorMath.load(s + j) - center) * scale
      let dxhat = VectorMath.load(dy + j) * VectorMath.load(gamma + j)
      VectorMath.store(scale * (dxhat - meanDVector - xhat * meanDXVector), ds + j)
      j += 8
    }
    for k in j..<n {
      let xhat = (s[k] - mean) * rstd
      ds[k] = rstd * (dy[k] * gamma[k] - meanD - xhat * meanDX)
    }
  }
}
