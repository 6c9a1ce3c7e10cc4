// C labels, H hidden.

extension BertConfig {
  /// A new classification layer [C, H], initialised as Hugging Face initialises
  /// a head: W ~ N(0, initializer_range²), b = 0.
  func newClassifier(labelCount: Int, seed: UInt64) -> Linear {
    var generator = SeededGenerator(seed: seed)
    return Linear(
      inputSize: hiddenSize, outputSize: labelCount, standardDeviation: initializerRange,
      generator: &generator)
  }

  /// The dropout before a head's classifier: `classifier_dropout`, else the
  /// hidden dropout, as in transformers.
  var classifierDropoutProbability: Float { classifierDropout ?? hiddenDropoutProbability }
}
