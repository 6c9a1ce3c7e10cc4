// Seeded random numbers that give the same values for a seed on every platform.

/// A deterministic pseudo-random generator: xoshiro256** seeded through SplitMix64.
///
/// Use it, not `SystemRandomNumberGenerator`, wherever results must be
/// reproducible: weight initialisation, dropout masks, data shuffling.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
  /// The four words of xoshiro256** state. Saved with training checkpoints.
  public var state: [UInt64]

  /// A generator whose stream is fixed by `seed`.
  public init(seed: UInt64) {
    var mix = seed
    var words: [UInt64] = []
    for _ in 0..<4 {
      mix &+= 0x9E37_79B9_7F4A_7C15
      var z = mix
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      words.append(z ^ (z >> 31))
    }
    state = words
  }

  public mutating func next() -> UInt64 {
    let result = rotateLeft(state[1] &* 5, 7) &* 9
    let t = state[1] << 17
    state[2] ^= state[0]
    state[3] ^= state[1]
    state[1] ^= state[2]
    state[0] ^= state[3]
    state[2] ^= t
    state[3] = rotateLeft(state[3], 45)
    return result
  }

  /// A float uniform in [0, 1), from the top 24 bits.
  public mutating func nextUnitFloat() -> Float {
    Float(next() >> 40) * (1.0 / 16_777_216.0)
  }

  /// A standard normal sample (Box–Muller, computed in Double).
  public mutating func nextNormal() -> Float {
    let u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    let radius = (-2.0 * log(max(u1, .leastNonzeroMagnitude))).squareRoot()
    return Float(radius * cos(2.0 * Double.pi * u2))
  }

  private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension Tensor {
  /// Whether ``randomNormal(shape:mean:standardDeviation:generator:)`` and
  /// ``randomUniform(shape:lower:upper:generator:)`` skip sampling: see
  /// ``deferringInitialization(_:)``.
  @TaskLocal public static var isInitializationDeferred = false

  /// Runs `body` with random initialisation deferred: inside it, the random
  /// constructors return uninitialised tensors of the right shape and leave
  /// the generator untouched, so their pages are never written. For building
  /// a model every one of whose weights is loaded next (an int8 directory):
  /// the float32 weights that loading replaces cost no memory.
  public static func deferringInitialization<Result>(_ body: () throws -> Result) rethrows
    -> Result
  {
    try $isInitializationDeferred.withValue(true, operation: body)
  }

  /// Samples from a normal distribution with the given mean and standard deviation.
  public static func randomNormal(
    shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
    generator: inout SeededGenerator
  ) -> Tensor {
    var result = Tensor(uninitializedShape: shape)
    guard !isInitializationDeferred else { return result }
    result.withUnsafeMutableBufferPointer { values in
      for index in values.indices {
        values[index] = mean + standardDeviation * generator.nextNormal()
      }
    }
    return result
  }

  /// Samples uniformly from [lower, upper).
  public static func randomUniform(
    shape: [Int], lower: Float = 0, upper: Float = 1, generator: inout SeededGenerator
  ) -> Tensor {
    var result = Tensor(uninitializedShape: shape)
    guard !isInitializationDeferred else { return result }
    result.withUnsafeMutableBufferPointer { values in
      for index in values.indices {
        values[index] = lower + (upper - lower) * generator.nextUnitFloat()
      }
    }
    return result
  }
}
