/// Which layers lie between the encoder and the classifier of a
/// ``BertForSequenceClassification``.
public enum SequenceClassifierHead: String, Codable, Sendable, CaseIterable {
  /// Hugging Face's `BertForSequenceClassification`: the pretrained pooler
  /// (dense + tanh on the `[CLS]` state) → dropout → `classifier`.
  case pooler
  /// The d2l variant: a new MLP on the `[CLS]` hidden state, laid out as
  /// DistilBERT's head: `pre_classifier` [H, H] → ReLU → dropout →
  /// `classifier`. The encoder's pooler is not used (nor loaded). Only this
  /// package reads it back: transformers' `BertForSequenceClassification`
  /// has no `pre_classifier`.
  case clsMLP = "cls-mlp"
}
