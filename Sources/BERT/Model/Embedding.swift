/// A lookup table of vectors. Mirrors `torch.nn.Embedding`, including
/// `padding_idx`: the padding row receives no gradient.
public struct Embedding: EmbeddingTable {
  /// [N, H]
  public let weight: Parameter
  /// The row that gets no gradient, if any.
  public let paddingIndex: Int?

  public init(
    count: Int, size: Int, paddingIndex: Int? = nil, standardDeviation: Float,
    generator: inout SeededGenerator
  ) {
    var table = Tensor.randomNormal(
      shape: [count, size], standardDeviation: standardDeviation, generator: &generator)
    if let paddingIndex {
      table.withUnsafeMutableBufferPointer { values in
        for column in 0..<size { values[paddingIndex * size + column] = 0 }
      }
    }
    weight = Parameter(table)
    self.paddingIndex = paddingIndex
  }

  public var count: Int { weight.value.shape[0] }
  public var size: Int { weight.value.shape[1] }

  /// ids (any count) → [ids.count, H]
  public func callAsFunction(_ ids: [Int]) -> Tensor {
    ensureInRange(ids, type: "Embedding")
    let looked = weight.value.gatherRows(ids)  // [N, H]
    guard let paddingIndex, looked.isTracked else { return looked }
    // Route the gradient through an identity whose backward zeroes padding rows.
    let size = weight.value.shape[1]
    let paddedRows = ids.enumerated().filter { $0.element == paddingIndex }.map(\.offset)
    guard !paddedRows.isEmpty else { return looked }
    return Tensor.record(looked.detached(), inputs: [looked]) { grad in  // [N, H]
      var masked = grad
      masked.withUnsafeMutableBufferPointer { values in
        for row in paddedRows {
          for column in 0..<size { values[row * size + column] = 0 }
        }
      }
      return [masked]
    }
  }

  public var namedParameters: [(key: String, parameter: Parameter)] { [("weight", weight)] }

  /// No projections: nothing to map.
  public mutating func mapProjections(_ transform: ProjectionTransform) rethrows {}
}
