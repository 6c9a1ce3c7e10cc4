import Foundation

// Scaled dot-product multi-head attention as one fused op, and masked fill.
//
// B batch, T tokens, H hidden, NH heads, D head size (H = NH·D).
//
// Q, K and V stay in the [B, T, H] layout the projections produce: head h of
// batch b is the T×D matrix at offset b·T·H + h·D with row stride H. Every
// product addresses it in place through the GEMM's leading dimension, so no
// head is ever split into new memory, and the context is written straight
// into its [B, T, H] output (ldc = H). Per (b, h):
//
//   S = Q_bh·K_bhᵀ/√D           [T, T]  one GEMM (lda = ldb = H)
//   P = softmax(S + mask_b)     [T, T]  in place, row by row
//   P̃ = dropout(P)              [T, T]
//   O_bh = P̃·V_bh               [T, D]  one GEMM (ldb = ldc = H)
//
// Mask convention: `additiveMask` is [B, T], one value per key position, added
// to every query row of every head: 0 attends, a large negative value masks.
// Use −10 000 as the original BERT does, or −Float.greatestFiniteMagnitude as
// HF's `(1 − mask)·finfo.min`; −∞ is accepted and treated as the latter.
// A row whose keys are all masked is defined and finite: with −10 000 on every
// key the constant cancels in the softmax and the row attends by its raw
// scores; with −greatestFiniteMagnitude (or −∞) every shifted score rounds to
// the same value and the row attends uniformly over all T keys.

/// What the attention backward needs, kept only while gradients are recorded.
struct AttentionSaved {
  let query: Tensor  // [B, T, H]
  let key: Tensor  // [B, T, H]
  let value: Tensor  // [B, T, H]
  /// softmax(QKᵀ/√D + mask), before dropout. [B, NH, T, T]
  let probabilities: Tensor
  /// The dropout keep bits, (T·T + 63)/64 words per (b, h); nil without dropout.
  let dropout: DropoutMask?
  let shape: AttentionShape
}

/// The sizes of one attention call.
struct AttentionShape {
  let batch: Int  // B
  let tokens: Int  // T
  let heads: Int  // NH
  let headSize: Int  // D
  var hidden: Int { heads * headSize }  // H
  var pairs: Int { batch * heads }  // B·NH
  var scale: Float { 1 / Float(headSize).squareRoot() }
  /// Words of dropout bits per (b, h) block of T·T probabilities.
  var wordsPerHead: Int { (tokens * tokens + 63) / 64 }

  /// Offset of head h of batch b inside a [B, T, H] tensor.
  func headOffset(_ pair: Int) -> Int {
    (pair / heads) * tokens * hidden + (pair % heads) * headSize
  }
}

/// How the attention kernels spread across threads.
///
/// Measured with OpenBLAS on 2 threads (release, BERT-base heads: NH = 12, D = 64),
/// forward without gradients / forward + backward with dropout:
///
/// | B × T   | perGEMM          | perHead          | the GEMMs alone |
/// |---------|------------------|------------------|-----------------|
/// | 8 × 128 | 8.7 / 26 ms      | 20 / 61 ms       | 7.7 ms          |
/// | 1 × 512 | 12.7 / 39 ms     | 14.4 / 82 ms     | 7.5 ms          |
/// | 2 × 512 | 35 / 73 ms       | 30 / 145 ms      | 15.7 ms         |
///
/// OpenBLAS threads every call itself, and two concurrent callers fight over its
/// thread pool, which is why ``perHead`` lost in the table above. Since
/// ``perHead`` runs its GEMMs single-threaded (each inside a chunk of its parallel
/// loop; see ``Compute/gemmThreadCount``), it avoids that fight and OpenBLAS's
/// per-call thread hand-off, and it is the default: on the build machine, with other work running, forward attention
/// at 8 × 128 took 17–18 ms per head-parallel against 30–45 ms per GEMM
/// (best cases 12.2 against 14.2 ms). `BERT_ATTENTION_SCHEDULE` picks one for measuring.
enum AttentionSchedule: String, Sendable {
  /// Parallel over the B·NH (batch, head) pairs, each with its own GEMM calls.
  /// Pays off only with a single-threaded GEMM.
  case perHead
  /// One pair after another, the backend threading each GEMM and the softmax
  /// rows split across threads.
  case perGEMM

  /// `BERT_ATTENTION_SCHEDULE=perHead|perGEMM` (for measuring), else the default.
  static let initial: AttentionSchedule =
    ProcessInfo.processInfo.environment["BERT_ATTENTION_SCHEDULE"].flatMap(AttentionSchedule.init)
    ?? .perHead
}

extension Tensor {
  /// The schedule the attention op uses; see ``AttentionSchedule``.
  @TaskLocal static var attentionSchedule = AttentionSchedule.initial

  /// Fused multi-head scaled dot-product attention with an additive key mask
  /// and dropout on the probabilities.
  ///
  /// - Parameters:
  ///   - query, key, value: [B, T, H], as the Q/K/V projections produce them;
  ///     head h is columns h·D ..< (h+1)·D.
  ///   - headCount: NH; H must be a multiple of it.
  ///   - additiveMask: [B, T] or nil. Added to the scores of each key position
  ///     (0 to attend, −10 000 or −Float.greatestFiniteMagnitude to mask); not
  ///     differentiated. See the file header for fully masked rows.
  ///   - dropoutProbability: dropout on the attention probabilities; at 0 the
  ///     generator is not advanced, otherwise exactly one value is drawn.
  ///   - generator: the source of the dropout mask.
  /// - Returns: the context, [B, T, H]; gradients flow to query, key and value.
  public static func multiHeadAttention(
    query: Tensor, key: Tensor, value: Tensor, headCount: Int, additiveMask: Tensor?,
    dropoutProbability: Float, generator: inout SeededGenerator
  ) -> Tensor {
    ensure(
      query.rank == 3 && key.shape == query.shape && value.shape == query.shape,
      "multiHeadAttention: query \(query.shape), key \(key.shape) and value \(value.shape) must all be [B, T, H]"
    )
    let hidden = query.shape[2]
    ensure(
      headCount > 0 && hidden % headCount == 0,
      "multiHeadAttention: hidden size \(hidden) is not a multiple of the head count \(headCount)")
    let shape = AttentionShape(
      batch: query.shape[0], tokens: query.shape[1], heads: headCount,
      headSize: hidden / headCount)
    if let additiveMask {
      ensure(
        additiveMask.shape == [shape.batch, shape.tokens],
        "multiHeadAttention: additiveMask \(additiveMask.shape) must be [B, T] = [\(shape.batch), \(shape.tokens)]"
      )
    }
    ensure(
      dropoutProbability >= 0 && dropoutProbability <= 1,
      "multiHeadAttention: dropout probability \(dropoutProbability) is outside [0, 1]")
    let recording =
      GradientMode.isEnabled && (query.isTracked || key.isTracked || value.isTracked)
    let dropoutKey = dropoutProbability > 0 ? generator.next() : nil

    let tokens = shape.tokens
    let block = tokens * tokens
    var output = Tensor(uninitializedShape: query.shape)  // [B, T, H]
    // The probabilities are kept for backward only while recording: [B, NH, T, T].
    let probabilities =
      recording ? Tensor(uninitializedShape: [shape.batch, headCount, tokens, tokens]) : nil
    let mask =
      recording && dropoutKey != nil
      ? DropoutMask(
        elementCount: shape.pairs * shape.wordsPerHead * 64, probability: dropoutProbability)
      : nil
    let kernel = AttentionKernel(
      shape: shape, query: query.storage.pointer, key: key.storage.pointer,
      value: value.storage.pointer, mask: additiveMask?.storage.pointer,
      dropoutKey: dropoutKey, dropoutProbability: dropoutProbability, backend: Compute.backend)
    let out = output.storage.pointer
    let saved = probabilities?.storage.pointer
    let savedBits = mask?.words

    switch attentionSchedule {
    case .perHead:
      Compute.withSingleThreadedGEMM {
        Parallel.forEachChunk(shape.pairs, minimumChunk: 1) { range in
          let scratch = AttentionScratch(shape: shape)
          for pair in range {
            kernel.forward(
              pair: pair, probabilities: saved.map { $0 + pair * block } ?? scratch.scores,
              bits: savedBits.map { $0 + pair * shape.wordsPerHead } ?? scratch.bits,
              dropped: scratch.dropped, output: out, rowsInParallel: false)
          }
        }
      }
    case .perGEMM:
      let scratch = AttentionScratch(shape: shape)
      for pair in 0..<shape.pairs {
        kernel.forward(
          pair: pair, probabilities: saved.map { $0 + pair * block } ?? scratch.scores,
          bits: savedBits.map { $0 + pair * shape.wordsPerHead } ?? scratch.bits,
          dropped: scratch.dropped, output: out, rowsInParallel: true)
      }
    }
    output = output.detached()
    guard let probabilities else { return output }
    let state = AttentionSaved(
      query: query.detached(), key: key.detached(), value: value.detached(),
      probabilities: probabilities, dropout: mask, shape: shape)
    return Tensor.record(output, inputs: [query, key, value]) { grad in  // grad: [B, T, H]
      let grads = Tensor.attentionBackward(grad, state)
      return [grads.query, grads.key, grads.value]
    }
  }

  /// dV = P̃ᵀ·dO, dP̃ = dO·Vᵀ, dP = dropout(dP̃), dS = P ⊙ (dP − rowsum(dP ⊙ P)),
  /// dQ = dS·K/√D, dK = dSᵀ·Q/√D, per (b, h), written into [B, T, H] with ldc = H.
  fileprivate static func attentionBackward(_ grad: Tensor, _ saved: AttentionSaved) -> (
    query: Tensor, key: Tensor, value: Tensor
  ) {
    let shape = saved.shape
    var gradQuery = Tensor(uninitializedShape: saved.query.shape)  // [B, T, H]
    var gradKey = Tensor(uninitializedShape: saved.query.shape)  // [B, T, H]
    var gradValue = Tensor(uninitializedShape: saved.query.shape)  // [B, T, H]
    let kernel = AttentionKernel(
      shape: shape, query: saved.query.storage.pointer, key: saved.key.storage.pointer,
      value: saved.value.storage.pointer, mask: nil, dropoutKey: nil,
      dropoutProbability: 0, backend: Compute.backend)
    let targets = (
      gradQuery.storage.pointer, gradKey.storage.pointer, gradValue.storage.pointer
    )
    let dO = grad.storage.pointer
    switch attentionSchedule {
    case .perHead:
      Compute.withSingleThreadedGEMM {
        Parallel.forEachChunk(shape.pairs, minimumChunk: 1) { range in
          let scratch = AttentionScratch(shape: shape)
          for pair in range {
            kernel.backward(
              pair: pair, gradOutput: dO, saved: saved, scratch: scratch, targets: targets,
              rowsInParallel: false)
          }
        }
      }
    case .perGEMM:
      let scratch = AttentionScratch(shape: shape)
      for pair in 0..<shape.pairs {
        kernel.backward(
          pair: pair, gradOutput: dO, saved: saved, scratch: scratch, targets: targets,
          rowsInParallel: true)
      }
    }
    gradQuery = gradQuery.detached()
    gradKey = gradKey.detached()
    gradValue = gradValue.detached()
    return (gradQuery, gradKey, gradValue)
  }
}

/// One thread's working memory: two T×T blocks and one head's dropout bits.
private final class AttentionScratch {
  /// The scores and probabilities when they are not saved; dP in backward. [T, T]
  let scores: UnsafeMutablePointer<Float>
  /// The probabilities after dropout. [T, T]
  let dropped: UnsafeMutablePointer<Float>
  /// One head's keep bits when they are not saved.
  let bits: UnsafeMutablePointer<UInt64>
  let bitWords: Int

  init(shape: AttentionShape) {
    let block = shape.tokens * shape.tokens
    scores = .allocate(capacity: block)
    dropped = .allocate(capacity: block)
    bitWords = shape.wordsPerHead + 1
    bits = .allocate(capacity: bitWords)
    bits.initialize(repeating: 0, count: bitWords)
  }

  deinit {
    scores.deallocate()
    dropped.deallocate()
    bits.deallocate()
  }
}

/// The per-(b, h) forward and backward steps, on raw pointers.
private struct AttentionKernel: @unchecked Sendable {
  let shape: AttentionShape
  let query: UnsafePointer<Float>  // [B, T, H]
  let key: UnsafePointer<Float>  // [B, T, H]
  let value: UnsafePointer<Float>  // [B, T, H]
  let mask: UnsafePointer<Float>?  // [B, T]
  let dropoutKey: UInt64?
  let dropoutProbability: Float
  /// Read once on the calling task: worker threads do not see task-local overrides.
  let backend: any Backend

  /// Softmax probabilities into `probabilities` [T, T], dropout, then O_bh = P̃·V_bh.
  func forward(
    pair: Int, probabilities p: UnsafeMutablePointer<Float>, bits: UnsafeMutablePointer<UInt64>,
    dropped: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
    rowsInParallel: Bool
  ) {
    let tokens = shape.tokens
    let hidden = shape.hidden
    let offset = shape.headOffset(pair)
    // S = Q_bh·K_bhᵀ·scale  [T, T]
    backend.sgemm(
      transposeA: false, transposeB: true, m: tokens, n: tokens, k: shape.headSize,
      alpha: shape.scale,
      a: query + offset, lda: hidden, b: key + offset, ldb: hidden, beta: 0, c: p, ldc: tokens)
    let maskRow = mask.map { $0 + (pair / shape.heads) * tokens }
    forRows(tokens, parallel: rowsInParallel) { i in
      RowKernels.maskedSoftmax(p + i * tokens, maskRow, tokens)
    }
    var context = UnsafePointer(p)
    if let dropoutKey {
      bits.initialize(repeating: 0, count: shape.wordsPerHead)
      DropoutBits.fill(
        key: dropoutKey, threshold: DropoutBits.threshold(probability: dropoutProbability),
        first: pair * tokens * tokens, count: tokens * tokens, into: bits)
      let scale = dropoutProbability < 1 ? 1 / (1 - dropoutProbability) : 0
      forRows(tokens, parallel: rowsInParallel) { i in
        DropoutBits.apply(
          p + i * tokens, dropped + i * tokens, tokens, words: bits, offset: i * tokens,
          scale: scale)
      }
      context = UnsafePointer(dropped)
    }
    // O_bh = P̃·V_bh  [T, D], straight into [B, T, H]
    backend.sgemm(
      transposeA: false, transposeB: false, m: tokens, n: shape.headSize, k: tokens, alpha: 1,
      a: context, lda: tokens, b: value + offset, ldb: hidden, beta: 0, c: output + offset,
      ldc: hidden)
  }

  /// dQ_bh, dK_bh and dV_bh for one pair.
  func backward(
    pair: Int, gradOutput dO: UnsafePointer<Float>, saved: AttentionSaved,
    scratch: AttentionScratch,
    targets: (
      UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>
    ),
    rowsInParallel: Bool
  ) {
    let tokens = shape.tokens
    let hidden = shape.hidden
    let headSize = shape.headSize
    let offset = shape.headOffset(pair)
    let p = saved.probabilities.storage.pointer + pair * tokens * tokens  // [T, T]
    var context = UnsafePointer(p)
    let bits = saved.dropout.map { UnsafePointer($0.words + pair * shape.wordsPerHead) }
    let dropScale = saved.dropout?.scale ?? 1
    if let bits {
      let dropped = scratch.dropped
      forRows(tokens, parallel: rowsInParallel) { i in
        DropoutBits.apply(
          p + i * tokens, dropped + i * tokens, tokens, words: bits, offset: i * tokens,
          scale: dropScale)
      }
      context = UnsafePointer(dropped)
    }
    // dV_bh = P̃ᵀ·dO_bh  [T, D]
    backend.sgemm(
      transposeA: true, transposeB: false, m: tokens, n: headSize, k: tokens, alpha: 1,
      a: context, lda: tokens, b: dO + offset, ldb: hidden, beta: 0, c: targets.2 + offset,
      ldc: hidden)
    // dP̃ = dO_bh·V_bhᵀ  [T, T]
    let dP = scratch.scores
    backend.sgemm(
      transposeA: false, transposeB: true, m: tokens, n: tokens, k: headSize, alpha: 1,
      a: dO + offset, lda: hidden, b: value + offset, ldb: hidden, beta: 0, c: dP, ldc: tokens)
    // dP = dropout(dP̃); dS = P ⊙ (dP − rowsum(dP ⊙ P)), in place.
    forRows(tokens, parallel: rowsInParallel) { i in
      let row = dP + i * tokens
      if let bits {
        DropoutBits.apply(row, row, tokens, words: bits, offset: i * tokens, scale: dropScale)
      }
      RowKernels.softmaxBackward(p + i * tokens, row, row, tokens)
    }
    // dQ_bh = dS·K_bh·scale,  dK_bh = dSᵀ·Q_bh·scale  [T, D]
    backend.sgemm(
      transposeA: false, transposeB: false, m: tokens, n: headSize, k: tokens, alpha: shape.scale,
      a: dP, lda: tokens, b: key + offset, ldb: hidden, beta: 0, c: targets.0 + offset, ldc: hidden)
    backend.sgemm(
      transposeA: true, transposeB: false, m: tokens, n: headSize, k: tokens, alpha: shape.scale,
      a: dP, lda: tokens, b: query + offset, ldb: hidden, beta: 0, c: targets.1 + offset,
      ldc: hidden)
  }

  /// Calls `body` for each row, across threads when `parallel`.
  @inline(__always)
  private func forRows(_ rows: Int, parallel: Bool, _ body: (Int) -> Void) {
    if parallel {
      Parallel.forEachChunk(rows, minimumChunk: RowKernels.minimumRows(width: rows)) { range in
        for i in range { body(i) }
      }
    } else {
      for i in 0..<rows { body(i) }
    }
  }
}

extension RowKernels {
  /// row = softmax(row + mask) in place, in three passes (max, exp and sum,
  /// scale), with row + mask raised to −greatestFiniteMagnitude where it is
  /// lower (a −∞ mask) so that no row becomes NaN.
  @inline(__always)
  static func maskedSoftmax(
    _ row: UnsafeMutablePointer<Float>, _ mask: UnsafePointer<Float>?, _ n: Int
  ) {
    guard let mask else {
      softmax(row, row, n)
      return
    }
    let floor = Vector(repeating: -.greatestFiniteMagnitude)
    var best = floor
    var j = 0
    while j + 8 <= n {
      best = VectorMath.maximum(best, VectorMath.load(row + j) + VectorMath.load(mask + j))
      j += 8
    }
    var rowMax = best.max()
    for k in j..<n { rowMax = Swift.max(rowMax, row[k] + mask[k]) }
    let shift = Vector(repeating: rowMax)
    var sum = Vector(repeating: 0)
    j = 0
    while j + 8 <= n {
      let shifted = VectorMath.maximum(VectorMath.load(row + j) + VectorMath.load(mask + j), floor)
      let e = VectorMath.exp(shifted - shift)
      VectorMath.store(e, row + j)
      sum += e
      j += 8
    }
    var total = sum.sum()
    for k in j..<n {
      let e = VectorMath.exp(Swift.max(row[k] + mask[k], -.greatestFiniteMagnitude) - rowMax)
      row[k] = e
      total += e
    }
    scale(row, n, by: 1 / total)
  }
}

extension Tensor {
  /// Replaces the elements where `mask` is true by `value`.
  ///
  /// - Parameters:
  ///   - mask: either one flag per element of self (row-major), or one flag per
  ///     position of the last dimension, applied to every row.
  ///   - value: the replacement.
  /// - Returns: the shape of self. The gradient is zero at replaced elements.
  public func maskedFill(_ mask: [Bool], value: Float) -> Tensor {
    let width = rank == 0 ? 1 : shape[rank - 1]
    ensure(
      mask.count == count || mask.count == width,
      "maskedFill: a mask of \(mask.count) flags fits neither all \(count) elements nor the last dimension (\(width)) of \(shape)"
    )
    let period = mask.count
    let flags = mask.map { $0 ? Float(0) : Float(1) }  // 1 keeps, 0 replaces
    var result = Tensor(uninitializedShape: shape)
    let x = storage.pointer
    let y = result.storage.pointer
    let count = self.count
    flags.withUnsafeBufferPointer { keep in
      let k = keep.baseAddress!
      Parallel.forEachChunk(count) { range in
        for index in range {
          y[index] = k[index % period] == 1 ? x[index] : value
        }
      }
    }
    result = result.detached()
    return Tensor.record(result, inputs: [self]) { grad in
      let gradInput = Tensor(uninitializedShape: grad.shape)
      let g = grad.storage.pointer
      let dx = gradInput.storage.pointer
      flags.withUnsafeBufferPointer { keep in
        let k = keep.baseAddress!
        Parallel.forEachChunk(count) { range in
          for index in range { dx[index] = g[index] * k[index % period] }
        }
      }
      return [gradInput.detached()]
    }
  }
}
