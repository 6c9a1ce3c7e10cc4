import Foundation
import TestSupport
import Testing

@testable import BERT

/// AdamW with clipping in one pass, against a float64 re-derivation of
/// PyTorch's `clip_grad_norm_` and `torch.optim.AdamW`; a row-sparse
/// embedding gradient against the same gradient given densely.
@Suite struct AdamWTests {
  /// PyTorch's update, in float64, for one parameter (`_single_tensor_adamw`):
  ///
  ///     p ← p·(1 − lr·λ)
  ///     m ← β₁·m + (1 − β₁)·g
  ///     v ← β₂·v + (1 − β₂)·g²
  ///     p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
  struct Reference {
    var p: [Double]
    var m: [Double]
    var v: [Double]

    init(_ values: [Float]) {
      p = values.map(Double.init)
      m = Array(repeating: 0, count: values.count)
      v = m
    }

    mutating func step(
      _ g: [Double], t: Int, lr: Double, decay: Double,
      // β₁, β₂ and ε as the optimiser holds them (Float), so 1 − β₂ is the same number.
      beta1: Double = Double(Float(0.9)), beta2: Double = Double(Float(0.999)),
      eps: Double = Double(Float(1e-8))
    ) {
      let stepSize = lr / (1 - pow(beta1, Double(t)))
      let correction2 = (1 - pow(beta2, Double(t))).squareRoot()
      for i in p.indices {
        p[i] *= 1 - lr * decay
        m[i] = beta1 * m[i] + (1 - beta1) * g[i]
        v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
        p[i] -= stepSize * m[i] / (v[i].squareRoot() / correction2 + eps)
      }
    }
  }

  /// `clip_grad_norm_`: every gradient times min(1, maxNorm / (‖g‖ + 1e-6)).
  static func clipped(_ gradients: [[Double]], maxNorm: Double) -> [[Double]] {
    let norm = gradients.joined().reduce(0) { $0 + $1 * $1 }.squareRoot()
    let coefficient = min(1, maxNorm / (norm + 1e-6))
    return gradients.map { $0.map { $0 * coefficient } }
  }

  /// A weight [3, 5] (decays), a bias [5] (does not) and a word embedding
  /// [7, 4] looked up at four ids (a row-sparse gradient; rows 0, 2, 5 and 6
  /// get none but still decay), three updates: clipped, clipped, and one under
  /// the maximum norm.
  @Test(arguments: BackendKind.allAvailable)
  func fusedClippingAndUpdateMatchPyTorchsFormula(_ backend: BackendKind) throws {
    var generator = SeededGenerator(seed: 61)
    let shapes = [[3, 5], [5], [7, 4]]
    let keys = ["dense.weight", "dense.bias", "embeddings.word_embeddings.weight"]
    let initial = shapes.map { Tensor.randomNormal(shape: $0, generator: &generator) }
    let parameters = initial.map { Parameter($0) }
    let ids = [3, 1, 3, 4]
    let (lr, decay): (Float, Float) = (0.01, 0.1)
    let optimizer = AdamW(
      parameters: Array(zip(keys, parameters)), learningRate: lr, weightDecay: decay)
    var references = initial.map { Reference($0.scalars) }
    let maxNorms: [Float] = [0.5, 2, 100]
    try Compute.withBackend(backend) {
      for (index, maxNorm) in maxNorms.enumerated() {
        let weightGrad = Tensor.randomNormal(shape: [3, 5], generator: &generator)  // [3, 5]
        let biasGrad = Tensor.randomNormal(shape: [5], generator: &generator)  // [5]
        let lookupGrad = Tensor.randomNormal(shape: [4, 4], generator: &generator)  // [ids, 4]
        parameters[0].setGradient(weightGrad)
        parameters[1].setGradient(biasGrad)
        parameters[2].value.gatherRows(ids).backward(gradient: lookupGrad)
        guard case .rows = try #require(parameters[2].gradient) else {
          Issue.record("the embedding's gradient is not row-sparse")
          return
        }
        var tableGrad = [Double](repeating: 0, count: 28)  // [7, 4]
        for (position, id) in ids.enumerated() {
          for column in 0..<4 {
            tableGrad[id * 4 + column] += Double(lookupGrad.scalars[position * 4 + column])
          }
        }
        let gradients = Self.clipped(
          [weightGrad.scalars.map(Double.init), biasGrad.scalars.map(Double.init), tableGrad],
          maxNorm: Double(maxNorm))
        let expectedNorm = [weightGrad.scalars, biasGrad.scalars].joined().map(Double.init)
          .reduce(0) { $0 + $1 * $1 }
        let norm = optimizer.update(clippingGradientNormTo: maxNorm)
        let fullNorm = (expectedNorm + tableGrad.reduce(0) { $0 + $1 * $1 }).squareRoot()
        #expect(
          abs(Double(norm) - fullNorm) <= 1e-5 * fullNorm, "norm \(norm), expected \(fullNorm)")
        for (slot, decays) in [true, false, true].enumerated() {
          references[slot].step(
            gradients[slot], t: index + 1, lr: Double(lr), decay: decays ? Double(decay) : 0)
        }
        optimizer.zeroGradients()
        let state = Dictionary(uniqueKeysWithValues: optimizer.stateTensors)
        for slot in 0..<3 {
          let key = keys[slot]
          let step = "step \(index + 1), \(key)"
          expectClose(
            parameters[slot].value.scalars, references[slot].p.map(Float.init), rtol: 1e-5,
            atol: 1e-6, "\(step), parameter:")
          expectClose(
            try #require(state["exp_avg.\(key)"]).scalars, references[slot].m.map(Float.init),
            rtol: 1e-5, atol: 1e-9, "\(step), first moment:")
          expectClose(
            try #require(state["exp_avg_sq.\(key)"]).scalars, references[slot].v.map(Float.init),
            rtol: 1e-5, atol: 1e-12, "\(step), second moment:")
        }
      }
    }
    #expect(optimizer.step == 3)
  }

  /// The same gradients, once row-sparse and once dense, on tables big enough
  /// to be cut into several pieces, with rows of 7 (not a multiple of the 8
  /// SIMD lanes): every parameter and moment gets the same bits. The fused
  /// clipping gives the same bits as clipping first, then updating.
  @Test(arguments: BackendKind.allAvailable)
  func rowSparseAndDenseGradientsGiveTheSameBits(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 62)
    let table = Tensor.randomNormal(shape: [20_000, 7], generator: &generator)  // [N, 7]
    let vector = Tensor.randomNormal(shape: [70_001], generator: &generator)
    let (sparseTable, denseTable) = (Parameter(table), Parameter(table))
    let (fusedVector, splitVector) = (Parameter(vector), Parameter(vector))
    let sparse = AdamW(parameters: [("word_embeddings.weight", sparseTable)], learningRate: 1e-3)
    let dense = AdamW(parameters: [("word_embeddings.weight", denseTable)], learningRate: 1e-3)
    let fused = AdamW(parameters: [("weight", fusedVector)], learningRate: 1e-3)
    let split = AdamW(parameters: [("weight", splitVector)], learningRate: 1e-3)
    Compute.withBackend(backend) {
      for _ in 0..<3 {
        let ids = (0..<300).map { _ in Int(generator.next() % 20_000) }
        let lookupGrad = Tensor.randomNormal(shape: [300, 7], generator: &generator)  // [300, 7]
        sparseTable.value.gatherRows(ids).backward(gradient: lookupGrad)
        denseTable.setGradient(sparseTable.grad)
        sparse.update()
        dense.update()

        let gradient = Tensor.randomNormal(shape: [70_001], generator: &generator)
        fusedVector.setGradient(gradient)
        splitVector.setGradient(gradient)
        let fusedNorm = fused.update(clippingGradientNormTo: 1)
        let splitNorm = clipGradientNorm([splitVector], maxNorm: 1)
        split.update()
        #expect(fusedNorm == splitNorm && fusedNorm > 1)
        for optimizer in [sparse, dense, fused, split] { optimizer.zeroGradients() }
      }
      expectClose(sparseTable.value, denseTable.value, rtol: 0, atol: 0, "row-sparse table:")
      expectClose(fusedVector.value, splitVector.value, rtol: 0, atol: 0, "fused clipping:")
      for (a, b) in [(sparse, dense), (fused, split)] {
        for ((name, x), (_, y)) in zip(a.stateTensors, b.stateTensors) {
          expectClose(x, y, rtol: 0, atol: 0, "\(name):")
        }
      }
    }
  }

  @Test func aNonFiniteNormUpdatesNothing() {
    let weight = Parameter(Tensor(shape: [2], scalars: [1, 2]))
    weight.setGradient(Tensor(shape: [2], scalars: [.nan, 1]))
    let optimizer = AdamW(parameters: [("weight", weight)], learningRate: 0.1)
    let norm = optimizer.update(clippingGradientNormTo: 1)
    #expect(norm.isNaN)
    #expect(weight.value.scalars == [1, 2] && optimizer.step == 0)
    #expect(optimizer.stateTensors.allSatisfy { $0.tensor.scalars == [0, 0] })
  }
}
