// B batch, T tokens, H hidden.

extension Tensor {
  /// The first position of every sequence: [B, T, H] → [B, H].
  public func firstTokens() -> Tensor {
    let (b, t, h) = (shape[0], shape[1], shape[2])
    return reshaped([b * t, h]).gatherRows((0..<b).map { $0 * t })  // [B, H]
  }
}
