// Losses of the fine-tuning heads, following Hugging Face's rules.
// B batch, T tokens, C labels.

/// The label id that a loss ignores (PyTorch's default `ignore_index`).
public let ignoredLabel = -100

/// Cross-entropy for classification, or mean squared error for regression
/// (one output), as `BertForSequenceClassification` chooses by `num_labels`.
///
/// - Parameters:
///   - logits: [B, C].
///   - labels: [B] class ids for C > 1; ignored for regression.
///   - targets: [B] float targets for C == 1.
/// - Returns: the mean loss, rank 0.
public func sequenceClassificationLoss(
  logits: Tensor, labels: [Int] = [], targets: [Float] = []
) -> Tensor {
  if logits.shape[1] == 1 {
    ensure(
      targets.count == logits.shape[0],
      "regression loss: \(targets.count) targets for \(logits.shape[0]) rows")
    return logits.reshaped([logits.shape[0]]).meanSquaredError(
      Tensor(shape: [targets.count], scalars: targets))
  }
  return logits.crossEntropy(labels: labels, ignoreIndex: ignoredLabel)
}

/// Cross-entropy over every token whose label is not ``ignoredLabel``.
///
/// - Parameters:
///   - logits: [B, T, C].
///   - labels: [B·T], ``ignoredLabel`` for special tokens, padding and non-first sub-tokens.
public func tokenClassificationLoss(logits: Tensor, labels: [Int]) -> Tensor {
  let classes = logits.shape[logits.rank - 1]
  return logits.reshaped([-1, classes]).crossEntropy(labels: labels, ignoreIndex: ignoredLabel)
}

/// The mean of the start and end cross-entropies, as `BertForQuestionAnswering`.
///
/// Gold positions outside the sequence are clamped to T and ignored, so an
/// answer that does not fall in the window contributes nothing.
///
/// - Parameters:
///   - startLogits, endLogits: [B, T].
///   - startPositions, endPositions: [B] token indices.
public func questionAnsweringLoss(
  startLogits: Tensor, endLogits: Tensor, startPositions: [Int], endPositions: [Int]
) -> Tensor {
  let length = startLogits.shape[1]
  let clamp = { (position: Int) in min(max(position, 0), length) }
  let start = startLogits.crossEntropy(labels: startPositions.map(clamp), ignoreIndex: length)
  let end = endLogits.crossEntropy(labels: endPositions.map(clamp), ignoreIndex: length)
  return (start + end) * 0.5
}
