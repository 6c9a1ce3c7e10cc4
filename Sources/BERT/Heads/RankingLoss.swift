// The bi-encoder's differentiable embedding (pooling, L2 normalisation) and
// its multiple-negatives ranking loss, built from the autograd ops so the
// backward of each step sits beside its forward in those ops.
//
// B queries (and positives), N hard negatives in the batch, C = B + N
// candidates, T tokens, H hidden.

/// sentence-transformers' `MultipleNegativesRankingLoss` on embeddings: the
/// cross-entropy of `scale · cos(query_i, candidate_j)` with target i, where
/// the candidates are the B positives followed by the batch's hard negatives.
/// With `symmetric`, the mean of that and the positive→query direction
/// (`MultipleNegativesSymmetricRankingLoss`: each positive against every
/// query, target i).
///
/// - Parameters:
///   - queries: [B, H] query embeddings (not necessarily normalised).
///   - candidates: [C, H], C ≥ B: the positives (row i belongs to query i),
///     then the hard negatives.
///   - scale: the inverse temperature; 20 in sentence-transformers.
/// - Returns: the mean loss, rank 0.
public func multipleNegativesRankingLoss(
  queries: Tensor, candidates: Tensor, scale: Float = 20, symmetric: Bool = false
) -> Tensor {
  let b = queries.shape[0]
  ensure(
    queries.rank == 2 && candidates.rank == 2 && candidates.shape[0] >= b
      && candidates.shape[1] == queries.shape[1],
    "multipleNegativesRankingLoss: queries \(queries.shape) need candidates [≥ \(b), H], got \(candidates.shape)"
  )
  let q = l2Normalized(queries)  // [B, H]
  let c = l2Normalized(candidates)  // [C, H]
  let scores = q.matmul(c, transposeB: true, alpha: scale)  // [B, C]
  let targets = Array(0..<b)
  let forward = scores.crossEntropy(labels: targets)  // []
  guard symmetric else { return forward }
  let positives = c.slice(axis: 0, range: 0..<b)  // [B, H]
  let reverse = positives.matmul(q, transposeB: true, alpha: scale)  // [B, B]
  return (forward + reverse.crossEntropy(labels: targets)) * 0.5  // []
}

/// Rows scaled to unit L2 norm, as `torch.nn.functional.normalize(x, dim=1)`
/// (which divides by max(‖x‖, 1e-12)).
///
/// - Parameter x: [N, H].
/// - Returns: [N, H].
public func l2Normalized(_ x: Tensor) -> Tensor {
  let norms = sqrt(x.squared().sum(axis: 1, keepingDimension: true))  // [N, 1]
  return x / norms.clamped(min: 1e-12, max: .greatestFiniteMagnitude)  // [N, H]
}

/// The pooled embedding of each sequence, recorded for backward: what
/// ``BertPipeline/pool(_:batch:pooling:)`` computes without a graph.
///
/// - Parameters:
///   - output: the encoder's output; hidden states [B, T, H].
///   - batch: the batch it ran on (its attention mask marks real tokens).
///   - pooling: `.mean`, `.meanSqrtLength`, `.cls` or `.pooler`.
/// - Returns: [B, H].
public func pooledEmbeddings(_ output: BertModelOutput, batch: TextBatch, pooling: Pooling)
  -> Tensor
{
  let hidden = output.lastHiddenState  // [B, T, H]
  let (b, t) = (hidden.shape[0], hidden.shape[1])
  switch pooling {
  case .mean, .meanSqrtLength:
    let mask = Tensor(shape: [b, t, 1], scalars: batch.attentionMask.map(Float.init))  // [B, T, 1]
    let sums = (hidden * mask).sum(axis: 1)  // [B, H]
    let counts = batch.lengths.map { Float(Swift.max($0, 1)) }
    let divisors = pooling == .mean ? counts : counts.map { $0.squareRoot() }
    return sums / Tensor(shape: [b, 1], scalars: divisors)  // [B, H]
  case .cls:
    return hidden.slice(axis: 1, range: 0..<1).reshaped([b, hidden.shape[2]])  // [B, H]
  case .pooler:
    guard let pooled = output.poolerOutput else {
      ensureFailure("pooling .pooler: this model has no pooler")
    }
    return pooled  // [B, H]
  case .max, .none:
    ensureFailure("pooledEmbeddings: pooling \(pooling.rawValue) does not train a bi-encoder")
  }
}
