// Matrix products, forward and backward, all through the current backend's GEMM.
//
// Shapes: M, K, N are the product's dimensions; B… are leading batch dimensions.

extension Tensor {
  /// The matrix product op(self) · op(other).
  ///
  /// - 2-D: self [M, K] (or [K, M] transposed) · other [K, N] (or [N, K]) → [M, N].
  /// - Batched: self [B…, M, K] · other [B…, K, N] → [B…, M, N], one GEMM per batch
  ///   element, with the same batch dimensions on both sides.
  /// - Shared right-hand side: self [B…, M, K] · other [K, N] → [B…, M, N] as one
  ///   GEMM over all B…·M rows (only without `transposeA`).
  public func matmul(
    _ other: Tensor, transposeA: Bool = false, transposeB: Bool = false, alpha: Float = 1
  ) -> Tensor {
    ensure(
      rank >= 2 && other.rank >= 2,
      "matmul: operands need rank ≥ 2, got shapes \(shape) and \(other.shape)")
    if rank > 2 && other.rank == 2 && !transposeA {
      let rows = count / shape[rank - 1]
      let flat = reshaped([rows, shape[rank - 1]]).matmul(
        other, transposeB: transposeB, alpha: alpha)  // [B…·M, N]
      return flat.reshaped(Array(shape.dropLast()) + [flat.shape[1]])  // [B…, M, N]
    }
    let batchA = Array(shape.dropLast(2))
    let batchB = Array(other.shape.dropLast(2))
    ensure(
      batchA == batchB,
      "matmul: batch dimensions differ between shapes \(shape) and \(other.shape)")
    let (m, kA) =
      transposeA ? (shape[rank - 1], shape[rank - 2]) : (shape[rank - 2], shape[rank - 1])
    let (kB, n) =
      transposeB
      ? (other.shape[other.rank - 1], other.shape[other.rank - 2])
      : (other.shape[other.rank - 2], other.shape[other.rank - 1])
    ensure(
      kA == kB,
      "matmul: inner dimensions differ: \(shape)\(transposeA ? "ᵀ" : "") · \(other.shape)\(transposeB ? "ᵀ" : "")"
    )
    let batch = Tensor.elementCount(batchA)
    var result = Tensor(uninitializedShape: batchA + [m, n])  // [B…, M, N]
    Compute.backend.sgemmBatched(
      transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: kA, alpha: alpha,
      a: storage.pointer, lda: shape[rank - 1], strideA: m * kA,
      b: other.storage.pointer, ldb: other.shape[other.rank - 1], strideB: kA * n,
      beta: 0, c: result.storage.pointer, ldc: n, strideC: m * n, batchCount: batch)
    result = result.detached()

    let a = self
    let b = other
    return Tensor.record(result, inputs: [self, other]) { grad in  // grad: [B…, M, N]
      // C = op(A)·op(B):  d op(A) = dC·op(B)ᵀ,  d op(B) = op(A)ᵀ·dC.
      let gradA =
        transposeA
        ? b.matmul(grad, transposeA: transposeB, transposeB: true, alpha: alpha)  // [B…, K, M]
        : grad.matmul(b, transposeB: !transposeB, alpha: alpha)  // [B…, M, K]
      let gradB =
        transposeB
        ? grad.matmul(a, transposeA: true, transposeB: transposeA, alpha: alpha)  // [B…, N, K]
        : a.matmul(grad, transposeA: !transposeA, alpha: alpha)  // [B…, K, N]
      return [gradA, gradB]
    }
  }

  /// A fully connected layer: y = x·Wᵀ + b, as one NT GEMM over all leading rows.
  ///
  /// - Parameters:
  ///   - weight: [out, in], the checkpoint's layout; never transposed in memory.
  ///   - bias: [out], or nil.
  /// - Returns: [B…, out] for self [B…, in].
  public func linear(weight: Tensor, bias: Tensor?) -> Tensor {
    let y = Tensor.linearForward(self, weight: weight, bias: bias)  // [B…, out]
    let x = self
    var inputs = [self, weight]
    if let bias { inputs.append(bias) }
    return Tensor.record(y, inputs: inputs) { grad in  // grad: [B…, out]
      Tensor.linearBackward(grad, input: x, weight: weight, hasBias: bias != nil)
    }
  }

  /// y = x·Wᵀ + b for x [B…, in], W [out, in], b [out]: one NT GEMM over all
  /// rows, onto C prefilled with the bias (beta = 1). Not recorded.
  static func linearForward(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let inFeatures = x.shape[x.rank - 1]
    ensure(
      weight.rank == 2 && weight.shape[1] == inFeatures,
      "linear: input \(x.shape) does not fit weight \(weight.shape) ([out, in])")
    let outFeatures = weight.shape[0]
    if let bias {
      ensure(
        bias.shape == [outFeatures], "linear: bias \(bias.shape) for weight \(weight.shape)")
    }
    let rows = x.count / inFeatures
    let y = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [outFeatures])  // [B…, out]
    if let bias {
      // Start C from the broadcast bias and let GEMM accumulate onto it (beta = 1).
      let biasPointer = bias.storage.pointer
      let target = y.storage.pointer
      Parallel.forEachChunk(rows, minimumChunk: max(1, 16_384 / max(outFeatures, 1))) { range in
        for row in range {
          (target + row * outFeatures).update(from: biasPointer, count: outFeatures)
        }
      }
    }
    Compute.backend.sgemm(
      transposeA: false, transposeB: true, m: rows, n: outFeatures, k: inFeatures, alpha: 1,
      a: x.storage.pointer, lda: inFeatures, b: weight.storage.pointer, ldb: inFeatures,
      beta: bias == nil ? 0 : 1, c: y.storage.pointer, ldc: outFeatures)
    return y.detached()
  }

  /// The gradients of y = x·Wᵀ + b from dy [B…, out]: dx = dy·W [B…, in],
  /// dW = dyᵀ·x [out, in], and db = Σ dy [out] when `hasBias`.
  static func linearBackward(_ grad: Tensor, input x: Tensor, weight: Tensor, hasBias: Bool)
    -> [Tensor]
  {
    let (inFeatures, outFeatures) = (weight.shape[1], weight.shape[0])
    let rows = x.count / inFeatures
    let backend = Compute.backend
    let g = grad.storage.pointer
    var gradX = Tensor(uninitializedShape: x.shape)  // [B…, in] = dy·W
    backend.sgemm(
      transposeA: false, transposeB: false, m: rows, n: inFeatures, k: outFeatures, alpha: 1,
      a: g, lda: outFeatures, b: weight.storage.pointer, ldb: inFeatures,
      beta: 0, c: gradX.storage.pointer, ldc: inFeatures)
    var gradW = Tensor(uninitializedShape: weight.shape)  // [out, in] = dyᵀ·x
    backend.sgemm(
      transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: rows, alpha: 1,
      a: g, lda: outFeatures, b: x.storage.pointer, ldb: inFeatures,
      beta: 0, c: gradW.storage.pointer, ldc: inFeatures)
    gradX = gradX.detached()
    gradW = gradW.detached()
    guard hasBias else { return [gradX, gradW] }
    return [gradX, gradW, grad.sumRows()]  // [out]
  }

  /// Sums a [B…, N] tensor over every leading dimension, giving [N]. Not recorded.
  func sumRows() -> Tensor {
    let width = shape[rank - 1]
    let rows = count / max(width, 1)
    var result = Tensor(zeros: [width])  // [N]
    let source = storage.pointer
    result.withUnsafeMutableBufferPointer { sums in
      for row in 0..<rows {
        let line = source + row * width
        for column in 0..<width { sums[column] += line[column] }
      }
    }
    return result
  }
}
