import Foundation
import TestSupport
import Testing

@testable import Tensors

@Suite struct AttentionTests {
  static let schedules: [AttentionSchedule] = [.perHead, .perGEMM]

  /// Naive attention with explicit loops in Double: per batch b, head h and
  /// query i, softmax over keys j of q·k/√D + mask[b, j], then Σⱼ p·v.
  static func reference(
    _ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, mask: Tensor?
  ) -> [Float] {
    let (batch, tokens, hidden) = (q.shape[0], q.shape[1], q.shape[2])
    let size = hidden / heads
    var out = [Float](repeating: 0, count: q.count)
    for b in 0..<batch {
      for h in 0..<heads {
        for i in 0..<tokens {
          var scores = [Double](repeating: 0, count: tokens)
          for j in 0..<tokens {
            var dot = 0.0
            for d in 0..<size {
              dot += Double(q[b, i, h * size + d]) * Double(k[b, j, h * size + d])
            }
            scores[j] = dot / Double(size).squareRoot() + Double(mask?[b, j] ?? 0)
          }
          let top = scores.max()!
          let weights = scores.map { Foundation.exp($0 - top) }
          let total = weights.reduce(0, +)
          for d in 0..<size {
            var sum = 0.0
            for j in 0..<tokens { sum += weights[j] / total * Double(v[b, j, h * size + d]) }
            out[(b * tokens + i) * hidden + h * size + d] = Float(sum)
          }
        }
      }
    }
    return out
  }

  static func inputs(seed: UInt64, batch: Int = 2, tokens: Int = 5, hidden: Int = 8) -> [Tensor] {
    var generator = SeededGenerator(seed: seed)
    return (0..<3).map { _ in
      Tensor.randomNormal(shape: [batch, tokens, hidden], generator: &generator)
    }
  }

  static func attention(
    _ xs: [Tensor], heads: Int = 2, mask: Tensor? = nil, dropout: Float = 0, seed: UInt64 = 9
  ) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    return Tensor.multiHeadAttention(
      query: xs[0], key: xs[1], value: xs[2], headCount: heads, additiveMask: mask,
      dropoutProbability: dropout, generator: &generator)
  }

  /// Q = K = 0 and, per (b, h), V_bh the T × T identity (head size T), so that
  /// the attention output is P̃ itself. Returns (zeros for Q and K, V), each [B, T, NH·T].
  static func identityValues(batch: Int, tokens: Int, heads: Int) -> (Tensor, Tensor) {
    let hidden = tokens * heads
    var value = [Float](repeating: 0, count: batch * tokens * hidden)
    for b in 0..<batch {
      for h in 0..<heads {
        for t in 0..<tokens { value[(b * tokens + t) * hidden + h * tokens + t] = 1 }
      }
    }
    return (
      Tensor(zeros: [batch, tokens, hidden]),
      Tensor(shape: [batch, tokens, hidden], scalars: value)
    )
  }

  /// With Q = K = 0 every probability is 1/T, and with V the identity the
  /// output is P̃ itself: each entry is 0 (dropped) or 1/(T·(1 − p)), and about
  /// p of them are dropped, independently across heads, rows and batches.
  @Test(arguments: BackendKind.allAvailable)
  func attentionDropoutDropsTheRightShare(_ backend: BackendKind) {
    let (batch, tokens, heads, p) = (2, 64, 2, Float(0.1))
    let (zeros, v) = Self.identityValues(batch: batch, tokens: tokens, heads: heads)
    var generator = SeededGenerator(seed: 5)
    for recording in [false, true] {
      let output = Compute.withBackend(backend) {
        let run = {
          Tensor.multiHeadAttention(
            query: zeros, key: zeros, value: v, headCount: heads, additiveMask: nil,
            dropoutProbability: p, generator: &generator)
        }
        return recording ? run() : withoutGradients(run)
      }.scalars  // [B, T, H]: P̃ for every (b, h) side by side
      let kept = 1 / (Float(tokens) * (1 - p))
      #expect(output.allSatisfy { $0 == 0 || abs($0 - kept) < 1e-6 })
      let dropped = Double(output.filter { $0 == 0 }.count) / Double(output.count)
      // 16,384 draws: the standard error of the share is 0.0023.
      #expect(abs(dropped - Double(p)) < 0.012, "dropped share \(dropped), recording \(recording)")
    }
  }

  /// At an odd T, the (b, h) blocks of T·T probabilities start alternately at
  /// even and odd positions of the mask stream. Over 20 draws every entry of P̃
  /// must be kept at least once (a fixed entry survives 20 draws at p = 0.1 with
  /// probability 1 − 10⁻²⁰), and the dropped share stays p.
  @Test(arguments: BackendKind.allAvailable)
  func attentionDropoutCanKeepEveryProbabilityAtOddLength(_ backend: BackendKind) {
    let (batch, tokens, heads, p, draws) = (2, 33, 2, Float(0.1), 20)
    let (zeros, v) = Self.identityValues(batch: batch, tokens: tokens, heads: heads)
    var generator = SeededGenerator(seed: 6)
    var everKept = [Bool](repeating: false, count: v.count)
    var droppedCount = 0
    for _ in 0..<draws {
      let output = Compute.withBackend(backend) {
        Tensor.multiHeadAttention(
          query: zeros, key: zeros, value: v, headCount: heads, additiveMask: nil,
          dropoutProbability: p, generator: &generator)
      }.scalars  // [B, T, H]: P̃ for every (b, h) side by side
      for (index, entry) in output.enumerated() where entry != 0 { everKept[index] = true }
      droppedCount += output.filter { $0 == 0 }.count
    }
    let never = everKept.indices.filter { !everKept[$0] }
    #expect(
      never.count == 0,
      "\(never.count) entries dropped in all \(draws) draws, first \(never.prefix(5))")
    let share = Double(droppedCount) / Double(draws * everKept.count)
    // 87,120 draws: the standard error of the share is 0.001.
    #expect(abs(share - Double(p)) < 0.005, "dropped share \(share)")
  }

  @Test(arguments: BackendKind.allAvailable)
  func attentionMatchesReference(_ backend: BackendKind) {
    let xs = Self.inputs(seed: 61, tokens: 7, hidden: 12)
    let mask = Tensor(
      shape: [2, 7], scalars: [0, 0, 0, -1e4, 0, -1e4, 0] + [0, 0, 0, 0, 0, 0, -1e4])
    for schedule in Self.schedules {
      Tensor.$attentionSchedule.withValue(schedule) {
        Compute.withBackend(backend) {
          for (heads, m) in [(3, nil), (3, mask), (1, mask), (12, mask)] as [(Int, Tensor?)] {
            let expected = Self.reference(xs[0], xs[1], xs[2], heads: heads, mask: m)
            let inference = withoutGradients { Self.attention(xs, heads: heads, mask: m) }
            expectClose(
              inference.scalars, expected, rtol: 1e-5, atol: 1e-5,
              "\(schedule), \(heads) heads, mask \(m != nil), inference")
            // The recording path saves the probabilities; its values must agree.
            let tracked = xs.map { Parameter($0) }
            let recorded = Self.attention(tracked.map(\.value), heads: heads, mask: m)
            #expect(recorded.isTracked)
            expectClose(
              recorded.scalars, expected, rtol: 1e-5, atol: 1e-5,
              "\(schedule), \(heads) heads, mask \(m != nil), recorded")
          }
        }
      }
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func attentionGradients(_ backend: BackendKind) {
    let xs = Self.inputs(seed: 62)
    let mask = Tensor(shape: [2, 5], scalars: [0, 0, -1e4, 0, 0, 0, 0, 0, 0, -1e4])
    for schedule in Self.schedules {
      Tensor.$attentionSchedule.withValue(schedule) {
        Compute.withBackend(backend) {
          checkGradients(xs) { Self.attention($0) }
          checkGradients(xs) { Self.attention($0, mask: mask) }
          // Dropout with a fixed seed: every evaluation draws the same mask.
          checkGradients(xs) { Self.attention($0, mask: mask, dropout: 0.3) }
        }
      }
    }
  }

  /// Dropout on the probabilities: the same seed gives the same result whether
  /// or not gradients are recorded, and under either schedule; and without the
  /// dropped weights the row sums (seen through V = ones) are 1/(1 − p) or 0 per kept entry.
  @Test(arguments: BackendKind.allAvailable)
  func attentionDropoutIsDeterministic(_ backend: BackendKind) {
    let xs = Self.inputs(seed: 63, tokens: 9, hidden: 8)
    Compute.withBackend(backend) {
      let reference = withoutGradients { Self.attention(xs, dropout: 0.25) }
      for schedule in Self.schedules {
        Tensor.$attentionSchedule.withValue(schedule) {
          let inference = withoutGradients { Self.attention(xs, dropout: 0.25) }
          let tracked = xs.map { Parameter($0) }
          let recorded = Self.attention(tracked.map(\.value), dropout: 0.25)
          #expect(inference.scalars == reference.scalars, "\(schedule), inference")
          expectClose(
            recorded.scalars, reference.scalars, rtol: 0, atol: 0, "\(schedule), recorded")
        }
      }
      let undropped = withoutGradients { Self.attention(xs) }
      #expect(undropped.scalars != reference.scalars)
      var generator = SeededGenerator(seed: 1)
      let before = generator
      _ = Tensor.multiHeadAttention(
        query: xs[0], key: xs[1], value: xs[2], headCount: 2, additiveMask: nil,
        dropoutProbability: 0, generator: &generator)
      #expect(generator == before, "no dropout draws no randomness")
    }
  }

  /// A row whose keys are all masked is finite and documented: uniform over the
  /// keys with −greatestFiniteMagnitude or −∞, plain attention with −10⁴.
  @Test(arguments: BackendKind.allAvailable)
  func fullyMaskedRowIsDefined(_ backend: BackendKind) {
    let xs = Self.inputs(seed: 64)
    let tokens = 5
    Compute.withBackend(backend) {
      for schedule in Self.schedules {
        Tensor.$attentionSchedule.withValue(schedule) {
          for value in [-Float.greatestFiniteMagnitude, -.infinity] {
            // Batch 0 normal; batch 1 every key masked.
            let mask = Tensor(
              shape: [2, tokens],
              scalars: [0, value, 0, 0, 0] + [Float](repeating: value, count: tokens))
            let tracked = xs.map { Parameter($0) }
            let out = Self.attention(tracked.map(\.value), mask: mask)
            #expect(out.scalars.allSatisfy { $0.isFinite }, "mask \(value)")
            // Uniform: every query of batch 1 gets the mean of V's rows.
            for i in 0..<tokens {
              for c in 0..<8 {
                var mean: Float = 0
                for j in 0..<tokens { mean += xs[2][1, j, c] / Float(tokens) }
                #expect(abs(out[1, i, c] - mean) <= 1e-5)
              }
            }
            out.backward(gradient: Tensor(ones: out.shape))
            #expect(tracked.allSatisfy { $0.grad!.scalars.allSatisfy { $0.isFinite } })
          }
          let constant = Tensor(repeating: -1e4, shape: [2, tokens])
          let shifted = withoutGradients { Self.attention(xs, mask: constant) }
          let plain = withoutGradients { Self.attention(xs) }
          // Up to the rounding of score − 10⁴ in Float (ulp(10⁴) ≈ 10⁻³).
          expectClose(shifted, plain, rtol: 1e-3, atol: 2e-3, "a constant mask cancels")
        }
      }
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func maskedFill(_ backend: BackendKind) {
    let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    Compute.withBackend(backend) {
      let full = x.maskedFill([true, false, false, false, false, true], value: -7)
      #expect(full.scalars == [-7, 2, 3, 4, 5, -7])
      let rows = x.maskedFill([false, true, false], value: 0)
      #expect(rows.scalars == [1, 0, 3, 4, 0, 6])
      checkGradients([x]) { $0[0].maskedFill([false, true, false], value: 0.5) }
    }
  }
}
