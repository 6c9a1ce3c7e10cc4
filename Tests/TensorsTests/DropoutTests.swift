import TestSupport
import Testing

@testable import Tensors

@Suite struct DropoutTests {
  @Test func zeroProbabilityIsIdentityAndDrawsNothing() {
    var generator = SeededGenerator(seed: 41)
    let x = Tensor.randomNormal(shape: [3, 5], generator: &generator)
    let before = generator
    let y = x.dropout(probability: 0, generator: &generator)
    #expect(y.scalars == x.scalars)
    #expect(generator == before)
  }

  /// Kept fraction near 1 − p, kept values scaled by exactly 1/(1 − p), the
  /// same mask for the same seed and a different one for another seed.
  @Test(arguments: BackendKind.allAvailable)
  func statisticsAndDeterminism(_ backend: BackendKind) {
    let count = 100_003
    let x = Tensor(ones: [count])
    for p: Float in [0.1, 0.5] {
      Compute.withBackend(backend) {
        var first = SeededGenerator(seed: 42)
        var second = SeededGenerator(seed: 42)
        var other = SeededGenerator(seed: 43)
        let a = x.dropout(probability: p, generator: &first)
        let b = x.dropout(probability: p, generator: &second)
        let c = x.dropout(probability: p, generator: &other)
        #expect(a.scalars == b.scalars, "same seed, same mask")
        #expect(a.scalars != c.scalars, "another seed, another mask")
        #expect(first == second)
        let kept = a.scalars.filter { $0 != 0 }
        let fraction = Double(kept.count) / Double(count)
        // Binomial standard deviation √(p(1−p)/n) ≤ 0.0016; allow 5σ.
        #expect(abs(fraction - Double(1 - p)) < 0.008, "kept fraction \(fraction) for p = \(p)")
        #expect(kept.allSatisfy { $0 == 1 / (1 - p) }, "kept values scaled by 1/(1 − p)")
      }
    }
  }

  /// The mask stream as the file header defines it: element e keeps when the
  /// low (e even) or high (e odd) 32 bits of SplitMix64 output number ⌊e/2⌋ of
  /// the stream `key` reach the threshold. `mix` is SplitMix64: seeded with 0,
  /// its first output is 0xE220A8397B1DCDAF (the reference implementation's
  /// published value). Every start offset, odd or even, and every word boundary
  /// must pack exactly those bits.
  @Test func maskBitsFollowTheStreamDefinition() {
    #expect(DropoutBits.mix(0, 0) == 0xE220_A839_7B1D_CDAF)
    let key: UInt64 = 0x1234_5678_9ABC_DEF0
    let threshold = DropoutBits.threshold(probability: 0.5)
    func expected(_ element: Int) -> Bool {
      let random = DropoutBits.mix(key, UInt64(element >> 1))
      return (element & 1 == 0 ? random & 0xFFFF_FFFF : random >> 32) >= threshold
    }
    let total = 300
    var mismatches: [(first: Int, count: Int, element: Int)] = []
    for first in 0..<70 {
      for count in [1, 2, 63, 64, 65, 66, 127, 128, 129, total - first] {
        let words = UnsafeMutablePointer<UInt64>.allocate(capacity: count / 64 + 2)
        defer { words.deallocate() }
        words.initialize(repeating: 0, count: count / 64 + 2)
        DropoutBits.fill(key: key, threshold: threshold, first: first, count: count, into: words)
        for i in 0..<count where ((words[i >> 6] >> UInt64(i & 63)) & 1 == 1) != expected(first + i)
        {
          mismatches.append((first, count, first + i))
        }
      }
    }
    #expect(mismatches.count == 0, "\(mismatches.count) bits differ, first \(mismatches.prefix(3))")
  }

  @Test func oneDropsEverything() {
    var generator = SeededGenerator(seed: 44)
    let y = Tensor(ones: [70]).dropout(probability: 1, generator: &generator)
    #expect(y.scalars.allSatisfy { $0 == 0 })
  }

  /// The gradient is the same mask and scale; a fresh generator per call keeps
  /// the mask fixed across the finite-difference evaluations.
  @Test(arguments: BackendKind.allAvailable)
  func dropoutGradients(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 45)
    let x = Tensor.randomNormal(shape: [3, 23], generator: &generator)
    Compute.withBackend(backend) {
      checkGradients([x]) { xs in
        var fresh = SeededGenerator(seed: 46)
        return xs[0].dropout(probability: 0.3, generator: &fresh)
      }
    }
  }
}
