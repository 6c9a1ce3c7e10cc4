/// How a forward pass runs: training (dropout on) or inference, and the random
/// stream for dropout masks.
public struct ForwardContext {
  /// Whether dropout is active.
  public var isTraining: Bool
  /// The source of dropout masks; advanced by every dropout in training.
  public var generator: SeededGenerator

  /// Inference: dropout off.
  public static var inference: ForwardContext { ForwardContext(isTraining: false, seed: 0) }

  public init(isTraining: Bool, seed: UInt64) {
    self.isTraining = isTraining
    generator = SeededGenerator(seed: seed)
  }

  /// Applies dropout with probability `p` in training, and nothing otherwise.
  mutating func dropout(_ x: Tensor, _ p: Float) -> Tensor {
    guard isTraining, p > 0 else { return x }
    return x.dropout(probability: p, generator: &generator)
  }
}
