// The `quantization_config` field of an int8 directory's config.json.

/// What `config.json` says about a model directory's quantized weights, under
/// `quantization_config` (the field transformers gives quantized checkpoints;
/// its `quant_method` names a method transformers does not know, so
/// transformers refuses the directory rather than misreading it).
///
/// ```json
/// "quantization_config": {
///   "quant_method": "bert_swift_int8",
///   "weights": "int8, symmetric, one float32 scale per output row in <key>.weight_scale",
///   "activations": "int8, asymmetric, one scale per row, quantized at run time",
///   "modules_in_float": []
/// }
/// ```
///
/// `weights` and `activations` are for readers; ``method`` and
/// ``keptInFloat`` are what loading uses.
public struct QuantizationConfig: Codable, Sendable, Equatable {
  /// The only method this package writes and reads.
  public static let int8Method = "bert_swift_int8"

  /// `quant_method`: ``int8Method``.
  public var method: String
  /// `modules_in_float`: the projection keys kept in float32
  /// (`encoder.layer.9.output.dense`).
  public var keptInFloat: [String]

  enum CodingKeys: String, CodingKey {
    case method = "quant_method"
    case keptInFloat = "modules_in_float"
    case weights
    case activations
  }

  public init(keptInFloat: [String] = []) {
    method = QuantizationConfig.int8Method
    self.keptInFloat = keptInFloat
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    method = try c.decode(String.self, forKey: .method)
    keptInFloat = try c.decodeIfPresent([String].self, forKey: .keptInFloat) ?? []
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(method, forKey: .method)
    try c.encode(
      "int8, symmetric, one float32 scale per output row in <key>.weight_scale", forKey: .weights)
    try c.encode(
      "int8, asymmetric, one scale per row, quantized at run time", forKey: .activations)
    try c.encode(keptInFloat, forKey: .keptInFloat)
  }
}
