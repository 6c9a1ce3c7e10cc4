import Tensors
import TestSupport
import Testing

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
