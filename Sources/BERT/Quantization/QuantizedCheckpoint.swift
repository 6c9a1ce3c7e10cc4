// Reading and writing the weights of an int8 directory (`bert quantize`).
//
// A quantized projection under key K is stored as three tensors:
//   K.weight        I8  [out, in]   q, in −127…127
//   K.weight_scale  F32 [out]       s, W ≈ s[j] · q[j, ·]
//   K.bias          F32 [out]       (when the layer has one)
// The word-embedding table likewise, one scale per token row. Every other
// parameter (LayerNorm, position and segment embeddings, projections kept in
// float) is F32 under its usual key.

/// A problem with the quantized tensors of an int8 directory.
public enum QuantizedCheckpointError: Error, CustomStringConvertible, Equatable {
  /// `tensor` is I8 but its scales `scale` are absent.
  case missingScale(file: String, tensor: String, scale: String)
  /// A tensor has the wrong dtype or shape for its slot.
  case badTensor(file: String, tensor: String, reason: String)
  /// A quantized value is −128, outside the symmetric range.
  case valueOutOfRange(file: String, tensor: String, index: Int, value: Int8)
  /// A scale is negative or not finite.
  case badScale(file: String, tensor: String, row: Int, value: Float)
  /// An int8 directory lacks weights the model needs; it cannot start a new
  /// head, since it is for inference only.
  case incomplete(file: String, keys: [String])

  public var description: String {
    switch self {
    case .missingScale(let file, let tensor, let scale):
      "\(file): \(tensor) is int8 but its scales \(scale) are missing; "
        + "write the directory again with bert quantize"
    case .badTensor(let file, let tensor, let reason): "\(file): \(tensor) \(reason)"
    case .valueOutOfRange(let file, let tensor, let index, let value):
      "\(file): \(tensor) holds \(value) at element \(index), outside the symmetric range −127…127"
    case .badScale(let file, let tensor, let row, let value):
      "\(file): \(tensor) row \(row) is \(value); a scale must be finite and not negative"
    case .incomplete(let file, let keys):
      "\(file) is an int8 directory without "
        + keys.prefix(4).joined(separator: ", ") + (keys.count > 4 ? ", …" : "")
        + "; an int8 model is for inference and cannot start a new head "
        + "(fine-tune the float32 model, then quantize it)"
    }
  }
}

/// The names an int8 checkpoint gives a quantized tensor's parts.
enum QuantizedKeys {
  /// K.weight_scale for the weight K.weight.
  static func scale(of weight: String) -> String { weight + "_scale" }
}

extension Layer {
  /// Fills this layer's projections and word embeddings from an int8
  /// checkpoint: each slot whose `weight` is I8 in `file` becomes a
  /// ``QuantizedLinear`` or ``QuantizedEmbedding`` built straight from the
  /// stored values and scales, never through float32. Slots stored in float
  /// are left for ``CheckpointLoader`` to fill.
  ///
  /// Keys are matched with or without the heads' `bert.` prefix, as
  /// ``CheckpointLoader`` matches them.
  ///
  /// - Parameter path: the file errors name.
  /// - Returns: the checkpoint names read here, for the loader to skip.
  /// - Throws: ``QuantizedCheckpointError`` for absent scales, −128 values,
  ///   bad scales, or shapes that do not fit the slot.
  mutating func loadQuantizedWeights(from file: SafeTensorsCheckpoint, path: String) throws
    -> Set<String>
  {
    var read: Set<String> = []
    func stored(_ key: String) -> String? {
      let candidates =
        key.hasPrefix("bert.")
        ? [key, String(key.dropFirst("bert.".count))] : [key, "bert." + key]
      return candidates.first { file.info(for: "\($0).weight")?.dtype == .i8 }
    }
    func rows(_ name: String, shape: [Int]) throws -> (values: [Int8], scales: [Float]) {
      let weight = "\(name).weight"
      let scale = QuantizedKeys.scale(of: weight)
      guard let info = file.info(for: weight), info.shape == shape else {
        throw QuantizedCheckpointError.badTensor(
          file: path, tensor: weight,
          reason: "has shape \(file.info(for: weight)?.shape ?? []), the model needs \(shape)")
      }
      guard let scaleInfo = file.info(for: scale) else {
        throw QuantizedCheckpointError.missingScale(file: path, tensor: weight, scale: scale)
      }
      guard scaleInfo.shape == [shape[0]], [.f32, .f16, .bf16].contains(scaleInfo.dtype) else {
        throw QuantizedCheckpointError.badTensor(
          file: path, tensor: scale,
          reason:
            "is \(scaleInfo.dtype.rawValue) \(scaleInfo.shape); it must be float [\(shape[0])]")
      }
      let values = try file.int8Values(named: weight)
      if let index = values.firstIndex(of: Int8.min) {
        throw QuantizedCheckpointError.valueOutOfRange(
          file: path, tensor: weight, index: index, value: Int8.min)
      }
      let scales = try file.tensor(named: scale).scalars
      if let row = scales.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
        throw QuantizedCheckpointError.badScale(
          file: path, tensor: scale, row: row, value: scales[row])
      }
      read.formUnion([weight, scale])
      return (values, scales)
    }
    func bias(_ name: String, size: Int) throws -> Tensor? {
      let key = "\(name).bias"
      guard let info = file.info(for: key) else { return nil }
      guard info.shape == [size] else {
        throw QuantizedCheckpointError.badTensor(
          file: path, tensor: key, reason: "has shape \(info.shape), the model needs [\(size)]")
      }
      read.insert(key)
      return try file.tensor(named: key)
    }
    try mapProjections { key, projection in
      guard let name = stored(key) else { return projection }
      let (values, scales) = try rows(name, shape: [projection.outputSize, projection.inputSize])
      let matrix = QuantizedMatrix(
        outputSize: projection.outputSize, inputSize: projection.inputSize, values: values,
        scales: scales)
      return QuantizedLinear(weight: matrix, bias: try bias(name, size: projection.outputSize))
    }
    try mapEmbeddingTables { key, table in
      guard let name = stored(key) else { return table }
      let (values, scales) = try rows(name, shape: [table.count, table.size])
      return QuantizedEmbedding(
        count: table.count, size: table.size, values: values, scales: scales)
    }
    return read
  }

  /// This layer's weights as an int8 checkpoint stores them, under its full
  /// keys: I8 values and F32 scales for each ``QuantizedLinear`` and
  /// ``QuantizedEmbedding`` (with the linear's F32 bias), F32 for every other
  /// parameter. What ``loadQuantizedWeights(from:path:)`` reads back.
  func quantizedCheckpointEntries() -> [(name: String, entry: SafeTensors.Entry)] {
    var entries: [(name: String, entry: SafeTensors.Entry)] = []
    var copy = self
    copy.mapProjections { key, projection in
      if let quantized = projection as? QuantizedLinear {
        let weight = quantized.weight
        entries.append(
          ("\(key).weight", .int8(weight.values, shape: [weight.outputSize, weight.inputSize])))
        entries.append(
          (
            QuantizedKeys.scale(of: "\(key).weight"),
            .float32(Tensor(shape: [weight.outputSize], scalars: weight.scales))
          ))
        if let bias = quantized.bias { entries.append(("\(key).bias", .float32(bias))) }
      }
      return projection
    }
    copy.mapEmbeddingTables { key, table in
      if let quantized = table as? QuantizedEmbedding {
        entries.append(
          ("\(key).weight", .int8(quantized.values, shape: [quantized.count, quantized.size])))
        entries.append(
          (
            QuantizedKeys.scale(of: "\(key).weight"),
            .float32(Tensor(shape: [quantized.count], scalars: quantized.scales))
          ))
      }
      return table
    }
    entries += namedParameters.map { ($0.key, .float32($0.parameter.value)) }
    return entries
  }
}
