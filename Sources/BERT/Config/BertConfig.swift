import Foundation

/// The hyper-parameters of a BERT model, read from Hugging Face's `config.json`.
///
/// Property names follow the Swift API guidelines; the coding keys are
/// Hugging Face's. A missing field takes the default of transformers'
/// `BertConfig` (bert-base-uncased), listed beside each property.
/// Mirrors `transformers.BertConfig`.
public struct BertConfig: Codable, Sendable, Equatable {
  /// The activation of the intermediate layer.
  public enum Activation: String, Codable, Sendable {
    /// The exact form 0.5·x·(1 + erf(x/√2)).
    case gelu
    /// The tanh approximation (Hugging Face's `gelu_new`, also `gelu_pytorch_tanh`).
    case geluNew = "gelu_new"
    case geluPyTorchTanh = "gelu_pytorch_tanh"
    case relu
    case tanh

    /// Whether the activation is GELU, in either form.
    var isGELU: Bool { self == .gelu || isApproximateGELU }
    /// Whether the activation is the tanh approximation of GELU.
    var isApproximateGELU: Bool { self == .geluNew || self == .geluPyTorchTanh }
  }

  /// Rows of the word-embedding table (default 30522).
  public var vocabularySize: Int
  /// Width of every hidden state, H (default 768).
  public var hiddenSize: Int
  /// Number of transformer layers (default 12).
  public var hiddenLayerCount: Int
  /// Number of attention heads per layer, NH; H must be a multiple (default 12).
  public var attentionHeadCount: Int
  /// Width of the feed-forward layer (default 3072).
  public var intermediateSize: Int
  /// The feed-forward activation (default `gelu`, the erf form).
  public var hiddenActivation: Activation
  /// Dropout after embeddings and every sub-layer (default 0.1).
  public var hiddenDropoutProbability: Float
  /// Dropout on the attention probabilities (default 0.1).
  public var attentionDropoutProbability: Float
  /// The longest sequence the position table covers (default 512).
  public var maxPositionEmbeddings: Int
  /// Number of segment ids (default 2).
  public var typeVocabularySize: Int
  /// Standard deviation of the normal weight initialisation (default 0.02).
  public var initializerRange: Float
  /// LayerNorm's ε (default 1e-12).
  public var layerNormEpsilon: Float
  /// The id of `[PAD]`; its embedding row gets no gradient (default 0).
  public var padTokenID: Int
  /// The model classes that produced this checkpoint, e.g. `BertForSequenceClassification`.
  public var architectures: [String]?
  /// The label names of a classification head, by id ("0": "negative").
  public var idToLabel: [String: String]?
  /// The ids of a classification head's labels, by name.
  public var labelToID: [String: Int]?
  /// `regression`, `single_label_classification` or `multi_label_classification`.
  public var problemType: String?
  /// The number of outputs of a sequence or token classification head.
  public var labelCount: Int?
  /// The dropout before a classification head; nil means the hidden dropout.
  public var classifierDropout: Float?
  /// How the weights are quantized, for an int8 directory (`bert quantize`);
  /// nil for float weights.
  public var quantization: QuantizationConfig?

  enum CodingKeys: String, CodingKey {
    case vocabularySize = "vocab_size"
    case hiddenSize = "hidden_size"
    case hiddenLayerCount = "num_hidden_layers"
    case attentionHeadCount = "num_attention_heads"
    case intermediateSize = "intermediate_size"
    case hiddenActivation = "hidden_act"
    case hiddenDropoutProbability = "hidden_dropout_prob"
    case attentionDropoutProbability = "attention_probs_dropout_prob"
    case maxPositionEmbeddings = "max_position_embeddings"
    case typeVocabularySize = "type_vocab_size"
    case initializerRange = "initializer_range"
    case layerNormEpsilon = "layer_norm_eps"
    case padTokenID = "pad_token_id"
    case architectures
    case idToLabel = "id2label"
    case labelToID = "label2id"
    case problemType = "problem_type"
    case labelCount = "num_labels"
    case classifierDropout = "classifier_dropout"
    case quantization = "quantization_config"
  }

  /// A configuration with transformers' defaults, overridden by the arguments.
  public init(
    vocabularySize: Int = 30522, hiddenSize: Int = 768, hiddenLayerCount: Int = 12,
    attentionHeadCount: Int = 12, intermediateSize: Int = 3072,
    hiddenActivation: Activation = .gelu, hiddenDropoutProbability: Float = 0.1,
    attentionDropoutProbability: Float = 0.1, maxPositionEmbeddings: Int = 512,
    typeVocabularySize: Int = 2, initializerRange: Float = 0.02,
    layerNormEpsilon: Float = 1e-12, padTokenID: Int = 0
  ) {
    self.vocabularySize = vocabularySize
    self.hiddenSize = hiddenSize
    self.hiddenLayerCount = hiddenLayerCount
    self.attentionHeadCount = attentionHeadCount
    self.intermediateSize = intermediateSize
    self.hiddenActivation = hiddenActivation
    self.hiddenDropoutProbability = hiddenDropoutProbability
    self.attentionDropoutProbability = attentionDropoutProbability
    self.maxPositionEmbeddings = maxPositionEmbeddings
    self.typeVocabularySize = typeVocabularySize
    self.initializerRange = initializerRange
    self.layerNormEpsilon = layerNormEpsilon
    self.padTokenID = padTokenID
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let d = BertConfig()
    vocabularySize = try c.decodeIfPresent(Int.self, forKey: .vocabularySize) ?? d.vocabularySize
    hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
    hiddenLayerCount =
      try c.decodeIfPresent(Int.self, forKey: .hiddenLayerCount) ?? d.hiddenLayerCount
    attentionHeadCount =
      try c.decodeIfPresent(Int.self, forKey: .attentionHeadCount) ?? d.attentionHeadCount
    intermediateSize =
      try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
    hiddenActivation =
      try c.decodeIfPresent(Activation.self, forKey: .hiddenActivation) ?? d.hiddenActivation
    hiddenDropoutProbability =
      try c.decodeIfPresent(Float.self, forKey: .hiddenDropoutProbability)
      ?? d.hiddenDropoutProbability
    attentionDropoutProbability =
      try c.decodeIfPresent(Float.self, forKey: .attentionDropoutProbability)
      ?? d.attentionDropoutProbability
    maxPositionEmbeddings =
      try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
    typeVocabularySize =
      try c.decodeIfPresent(Int.self, forKey: .typeVocabularySize) ?? d.typeVocabularySize
    initializerRange =
      try c.decodeIfPresent(Float.self, forKey: .initializerRange) ?? d.initializerRange
    layerNormEpsilon =
      try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? d.layerNormEpsilon
    padTokenID = try c.decodeIfPresent(Int.self, forKey: .padTokenID) ?? d.padTokenID
    architectures = try c.decodeIfPresent([String].self, forKey: .architectures)
    idToLabel = try c.decodeIfPresent([String: String].self, forKey: .idToLabel)
    labelToID = try c.decodeIfPresent([String: Int].self, forKey: .labelToID)
    problemType = try c.decodeIfPresent(String.self, forKey: .problemType)
    labelCount = try c.decodeIfPresent(Int.self, forKey: .labelCount)
    classifierDropout = try c.decodeIfPresent(Float.self, forKey: .classifierDropout)
    quantization = try c.decodeIfPresent(QuantizationConfig.self, forKey: .quantization)
  }

  /// The number of outputs of a classification head: `num_labels`, else the
  /// size of `id2label` (transformers 5 writes only the latter); nil for neither.
  public var headLabelCount: Int? { labelCount ?? idToLabel?.count }

  /// The width of one attention head, D = H / NH.
  public var headSize: Int { hiddenSize / attentionHeadCount }

  /// Reads and validates `config.json`.
  public init(contentsOf url: URL) throws(ConfigError) {
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw .unreadable(file: url.path, reason: "\(error.localizedDescription)")
    }
    do {
      self = try JSONDecoder().decode(BertConfig.self, from: data)
    } catch let error as DecodingError {
      throw .malformed(file: url.path, reason: ConfigError.describe(error))
    } catch {
      throw .malformed(file: url.path, reason: "\(error)")
    }
    try validate(file: url.path)
  }

  /// Checks that the sizes are positive and consistent.
  public func validate(file: String = "config") throws(ConfigError) {
    let positives: [(String, Int)] = [
      ("vocab_size", vocabularySize), ("hidden_size", hiddenSize),
      ("num_hidden_layers", hiddenLayerCount), ("num_attention_heads", attentionHeadCount),
      ("intermediate_size", intermediateSize), ("max_position_embeddings", maxPositionEmbeddings),
      ("type_vocab_size", typeVocabularySize),
    ]
    for (key, value) in positives where value <= 0 {
      throw .invalid(file: file, reason: "\(key) must be positive, got \(value)")
    }
    if hiddenSize % attentionHeadCount != 0 {
      throw .invalid(
        file: file,
        reason:
          "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(attentionHeadCount)"
      )
    }
    for (key, value) in [
      ("hidden_dropout_prob", hiddenDropoutProbability),
      ("attention_probs_dropout_prob", attentionDropoutProbability),
    ] where !(value >= 0 && value < 1) {
      throw .invalid(file: file, reason: "\(key) must be in [0, 1), got \(value)")
    }
    if !(layerNormEpsilon > 0) {
      throw .invalid(file: file, reason: "layer_norm_eps must be positive, got \(layerNormEpsilon)")
    }
    if padTokenID < 0 || padTokenID >= vocabularySize {
      throw .invalid(
        file: file,
        reason: "pad_token_id \(padTokenID) is outside the vocabulary of \(vocabularySize)")
    }
    if let method = quantization?.method, method != QuantizationConfig.int8Method {
      throw .invalid(
        file: file,
        reason: "quantization_config.quant_method \"\(method)\" is not a method this package "
          + "reads (only \"\(QuantizationConfig.int8Method)\", which `bert quantize` writes)")
    }
  }
}

/// A problem with a model's `config.json`.
public enum ConfigError: Error, Equatable, CustomStringConvertible {
  case unreadable(file: String, reason: String)
  case malformed(file: String, reason: String)
  case invalid(file: String, reason: String)

  public var description: String {
    switch self {
    case .unreadable(let file, let reason): "cannot read \(file): \(reason)"
    case .malformed(let file, let reason): "\(file) is not a valid BERT config: \(reason)"
    case .invalid(let file, let reason): "\(file): \(reason)"
    }
  }

  static func describe(_ error: DecodingError) -> String {
    switch error {
    case .typeMismatch(_, let context), .valueNotFound(_, let context),
      .keyNotFound(_, let context), .dataCorrupted(let context):
      let path = context.codingPath.map(\.stringValue).joined(separator: ".")
      return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
    @unknown default:
      return "\(error)"
    }
  }
}
