// Evaluation metrics as pure functions over arrays. They follow the reference
// implementations the field reports with (scikit-learn, scipy, seqeval, the
// official SQuAD v1.1 script), and return 0 where those are undefined, so that
// every result can be written as JSON.

/// Evaluation metrics: classification, correlation, tagging and SQuAD.
public enum Metrics {}

extension Metrics {
  /// The fraction of predictions equal to the gold label; 0 for empty input.
  /// - Parameters:
  ///   - predictions: predicted labels, one per example.
  ///   - labels: gold labels, as many as `predictions`.
  public static func accuracy<Label: Equatable>(predictions: [Label], labels: [Label]) -> Double {
    ensure(
      predictions.count == labels.count, "accuracy: predictions and labels differ in length")
    guard !labels.isEmpty else { return 0 }
    var correct = 0
    for (p, g) in zip(predictions, labels) where p == g { correct += 1 }
    return Double(correct) / Double(labels.count)
  }

  /// Macro-averaged F1, as scikit-learn's `f1_score(average="macro")` with its
  /// default labels: the unweighted mean over every class present in the gold
  /// labels or the predictions of F1 = 2·TP / (2·TP + FP + FN). A class that is
  /// never predicted, or never gold, has F1 0. 0 for empty input.
  public static func macroF1<Label: Hashable>(predictions: [Label], labels: [Label]) -> Double {
    ensure(
      predictions.count == labels.count, "macroF1: predictions and labels differ in length")
    var truePositives: [Label: Int] = [:]
    var predicted: [Label: Int] = [:]
    var gold: [Label: Int] = [:]
    for (p, g) in zip(predictions, labels) {
      predicted[p, default: 0] += 1
      gold[g, default: 0] += 1
      if p == g { truePositives[p, default: 0] += 1 }
    }
    let classes = Set(predicted.keys).union(gold.keys)
    guard !classes.isEmpty else { return 0 }
    var sum = 0.0
    for label in classes {
      // 2·TP / (2·TP + FP + FN) = 2·TP / (gold count + predicted count), as
      // scikit-learn computes it; the denominator is positive for a present class.
      let tp = Double(truePositives[label] ?? 0)
      sum += 2 * tp / Double((gold[label] ?? 0) + (predicted[label] ?? 0))
    }
    return sum / Double(classes.count)
  }

  /// The Matthews correlation coefficient in its multi-class form (Gorodkin's
  /// R_K, as scikit-learn's `matthews_corrcoef`). With the confusion matrix C,
  /// t_k = Σ_j C[k, j] gold counts, p_k = Σ_i C[i, k] predicted counts,
  /// c = trace C and s = Σ C:
  ///
  ///     MCC = (c·s − Σ t_k p_k) / √((s² − Σ p_k²) · (s² − Σ t_k²))
  ///
  /// 0 when the denominator is 0 (one class only in the gold labels or in the
  /// predictions, or empty input), as scikit-learn returns.
  public static func matthewsCorrelation<Label: Hashable>(
    predictions: [Label], labels: [Label]
  ) -> Double {
    ensure(
      predictions.count == labels.count,
      "matthewsCorrelation: predictions and labels differ in length")
    var predicted: [Label: Int] = [:]
    var gold: [Label: Int] = [:]
    var correct = 0
    for (p, g) in zip(predictions, labels) {
      predicted[p, default: 0] += 1
      gold[g, default: 0] += 1
      if p == g { correct += 1 }
    }
    let s = Double(labels.count)
    var truePredicted = 0.0
    for (label, t) in gold { truePredicted += Double(t) * Double(predicted[label] ?? 0) }
    let predictedSquares = predicted.values.reduce(0.0) { $0 + Double($1) * Double($1) }
    let goldSquares = gold.values.reduce(0.0) { $0 + Double($1) * Double($1) }
    let covariance = Double(correct) * s - truePredicted
    let predictedVariance = s * s - predictedSquares
    let goldVariance = s * s - goldSquares
    let denominator = predictedVariance * goldVariance
    guard denominator != 0 else { return 0 }
    return covariance / denominator.squareRoot()
  }
}
