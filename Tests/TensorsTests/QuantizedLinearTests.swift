import Foundation
import TestSupport
import Testing

@testable import Tensors

/// gelu(u) in Double: the exact erf form, or the tanh form.
private func geluReference(_ u: Double, approximate: Bool) -> Double {
  if approximate {
    return 0.5 * u
      * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (u + 0.044715 * u * u * u)))
  }
  return 0.5 * u * (1 + Foundation.erf(u / 2.0.squareRoot()))
}

/// The activations under test: none, and both GELUs.
private let activations: [FusedActivation] = [
  .none, .gelu(approximate: false), .gelu(approximate: true),
]

@Suite struct QuantizedLinearTests {
  // MARK: - The weight quantizer

  /// Hand-derived: row 0 has max |w| = 127, so s = 1 and q = round(w), ties to
  /// even (−63.5 → −64, 2.5 → 2, 0.5 → 0, −0.5 → 0, 1.5 → 2); row 1 has
  /// max |w| = 254, s = 2 (−254 → −127, 3/2 = 1.5 → 2, 5/2 = 2.5 → 2, 1/2 → 0,
  /// −7/2 = −3.5 → −4, 9/2 = 4.5 → 4); row 2 is all zeros: s = 0, q = 0.
  @Test func weightQuantizationRoundsToNearestEven() {
    let weight = Tensor(
      shape: [3, 6],
      scalars: [
        127, -63.5, 2.5, 0.5, -0.5, 1.5,
        -254, 3, 5, 1, -7, 9,
        0, 0, 0, 0, 0, 0,
      ])
    let matrix = QuantizedMatrix(quantizing: weight)
    #expect(matrix.outputSize == 3 && matrix.inputSize == 6)
    #expect(matrix.scales == [1, 2, 0])
    #expect(
      matrix.values == [
        127, -64, 2, 0, 0, 2,
        -127, 2, 2, 0, -4, 4,
        0, 0, 0, 0, 0, 0,
      ])
    // dequantized: s · q
    #expect(
      matrix.dequantized().scalars == [
        127, -64, 2, 0, 0, 2,
        -254, 4, 4, 0, -8, 8,
        0, 0, 0, 0, 0, 0,
      ])
  }

  /// The largest magnitude of every row maps to ±127, and values and scales
  /// round-trip through the packed panels at odd sizes.
  @Test func valuesRoundTripThroughThePanels() {
    var generator = SeededGenerator(seed: 5)
    let weight = Tensor.randomNormal(shape: [37, 23], generator: &generator)  // [out, in]
    let matrix = QuantizedMatrix(quantizing: weight)
    let values = matrix.values
    for j in 0..<37 {
      let row = Array(weight.scalars[(j * 23)..<((j + 1) * 23)])
      let largest = row.indices.max { abs(row[$0]) < abs(row[$1]) }!
      #expect(values[j * 23 + largest] == (row[largest] > 0 ? 127 : -127), "row \(j)")
      #expect(matrix.scales[j] == row.map(abs).max()! / 127, "row \(j)")
    }
    let copy = QuantizedMatrix(
      outputSize: 37, inputSize: 23, values: values, scales: matrix.scales)
    #expect(copy.values == values && copy.scales == matrix.scales)
  }

  @Test func nonFiniteWeightIsRefused() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = QuantizedMatrix(quantizing: Tensor(shape: [2, 2], scalars: [1, 2, .nan, 4]))
    }
    if let result {
      let message = String(decoding: result.standardErrorContent, as: UTF8.self)
      #expect(
        message.contains("weight row 1 holds a non-finite value (nan) at column 0"), "\(message)")
    }
  }

  @Test func weightValueMinus128IsRefused() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = QuantizedMatrix(outputSize: 2, inputSize: 2, values: [1, 2, 3, -128], scales: [1, 1])
    }
    if let result {
      let message = String(decoding: result.standardErrorContent, as: UTF8.self)
      #expect(message.contains("value -128 at row 1, column 1 is outside"), "\(message)")
    }
  }

  // MARK: - The activation quantizer

  /// Hand-derived, on rows of 11 values (8 through the vector path, 3 through
  /// the scalar tail), across two 4-row slivers:
  /// - row 0: lo −1.5, hi 253.5, range 255: s = 1, inverse = 1,
  ///   z = round(1.5) = 2, and q = round(x) + 2, ties to even (−1.5 → −2,
  ///   0.5 → 0, 1.5 → 2, −0.5 → 0, 99.5 → 100); hi gives round(253.5) + 2 =
  ///   254 + 2 = 256, clamped to 255;
  /// - row 1: lo 0 (the range always holds 0), hi 510: s = 2, inverse = 0.5,
  ///   z = 0, q = round(x / 2) (0.5 → 0, 1.5 → 2, 2.5 → 2, 3.5 → 4, 4.5 → 4, 5.5 → 6);
  /// - row 2: lo −510, hi 0: s = 2, z = round(255) = 255, q = round(x / 2) + 255
  ///   (−127.5 → −128, −0.5 → 0, −1.5 → −2, −2.5 → −2, −3.5 → −4, −4.5 → −4, −5.5 → −6, −6.5 → −6);
  /// - row 3: all zeros: s = 0, z = 0, q = 0;
  /// - row 4 holds NaN, row 5 +∞: s = NaN, z = 0, q = 0.
  @Test(arguments: Int8GEMM.Kernel.allAvailable)
  func activationQuantizationByHand(_ kernel: Int8GEMM.Kernel) {
    let nan = Float.nan
    let x = Tensor(
      shape: [2, 3, 11],
      scalars: [
        -1.5, 253.5, 0, 0.5, 1.5, -0.5, 99.5, 3, -1, 50, 0,
        2, 4, 510, 6, 1, 3, 5, 7, 9, 11, 0,
        -510, -255, -1, -3, -5, -7, -9, -11, -13, -2, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        1, 2, 3, nan, 5, 6, 7, 8, 9, 10, 11,
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, .infinity,
      ])
    let quantized = QuantizedActivations(quantizing: x, kernel: kernel)
    #expect(quantized.rows == 6 && quantized.columns == 11)
    let expected: [UInt8] = [
      0, 255, 2, 2, 4, 2, 102, 5, 1, 52, 2,
      1, 2, 255, 3, 0, 2, 2, 4, 4, 6, 0,
      0, 127, 255, 253, 253, 251, 251, 249, 249, 254, 255,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]
    #expect(quantized.values == expected, "\(kernel)")
    #expect(Array(quantized.scales.prefix(4)) == [1, 2, 2, 0], "\(kernel)")
    #expect(quantized.scales[4].isNaN && quantized.scales[5].isNaN, "\(kernel)")
    #expect(quantized.zeroPoints == [2, 0, 255, 0, 0, 0], "\(kernel)")
  }

  /// x ≈ s·(q − z) within half a step: s·|t − round(t)| ≤ s/2 for t = x·inverse,
  /// and the clamps at 0 and 255 only act where the rounded zero point already
  /// took up the difference (see the rule in `QuantizedActivations.swift`).
  /// Plus 10⁻⁶·max|x| for the float products. Also: every kernel's quantizer
  /// agrees with the portable one exactly.
  @Test func dequantizedActivationsAreWithinHalfAStep() {
    var generator = SeededGenerator(seed: 17)
    var x = Tensor.randomNormal(shape: [13, 45], generator: &generator)  // [R, K]
    x.withUnsafeMutableBufferPointer { values in
      for k in 0..<45 { values[2 * 45 + k] = abs(values[2 * 45 + k]) + 1 }  // all positive
      for k in 0..<45 { values[5 * 45 + k] = -abs(values[5 * 45 + k]) * 3 }  // all negative
      values[7 * 45 + 4] = 40  // one outlier
    }
    let reference = QuantizedActivations(quantizing: x, kernel: .portable)
    for kernel in Int8GEMM.Kernel.allAvailable {
      let quantized = QuantizedActivations(quantizing: x, kernel: kernel)
      #expect(quantized.values == reference.values, "\(kernel) against portable")
      #expect(quantized.scales == reference.scales, "\(kernel) against portable")
      #expect(quantized.zeroPoints == reference.zeroPoints, "\(kernel) against portable")
    }
    let restored = reference.dequantized().scalars
    let largest = x.scalars.map(abs).max()!
    var worst: Float = 0
    for i in 0..<13 {
      for k in 0..<45 {
        let error = abs(restored[i * 45 + k] - x.scalars[i * 45 + k])
        worst = max(worst, error / (reference.scales[i] / 2 + 1e-6 * largest))
      }
    }
    #expect(worst <= 1, "largest error / (s/2 + 1e-6·max|x|): \(worst)")
  }

  // MARK: - quantizedLinear

  /// Random x [2, 7, 37] (rows through both slivers and tiles), W [45, 37], bias [45].
  private static func operands(seed: UInt64, rows: Int = 14, inputs: Int = 37, outputs: Int = 45)
    -> (x: Tensor, weight: Tensor, bias: Tensor)
  {
    var generator = SeededGenerator(seed: seed)
    let x = Tensor.randomNormal(shape: [2, rows / 2, inputs], generator: &generator)  // [2, T, in]
    let weight = Tensor.randomNormal(
      shape: [outputs, inputs], standardDeviation: 0.2, generator: &generator)  // [out, in]
    let bias = Tensor.randomNormal(shape: [outputs], generator: &generator)  // [out]
    return (x, weight, bias)
  }

  /// Against a Double reference built from the same integers and scales:
  /// y = Σ_k (q − z)·qW (exact) · sA · sW + b, then GELU in Double (Foundation's
  /// erf and tanh). What is left is Float rounding in the output pass and the
  /// vector GELU (relative error ≤ 3·10⁻⁷): tolerance 2·10⁻⁶ absolute + 2·10⁻⁶ relative.
  @Test(arguments: Int8GEMM.Kernel.allAvailable, activations)
  func matchesDoubleReferenceOnTheSameIntegers(
    _ kernel: Int8GEMM.Kernel, _ activation: FusedActivation
  ) {
    let (x, weight, bias) = Self.operands(seed: 3)
    let matrix = QuantizedMatrix(quantizing: weight)
    let quantized = QuantizedActivations(quantizing: x, kernel: kernel)
    let (r, k, n) = (14, 37, 45)
    let sums = ReferenceInt8GEMM.multiply(
      activations: quantized.values, zeroPoints: quantized.zeroPoints, weights: matrix.values,
      m: r, n: n, k: k)
    for withBias in [false, true] {
      var expected = [Float](repeating: 0, count: r * n)
      for i in 0..<r {
        for j in 0..<n {
          var value =
            Double(sums[i * n + j]) * Double(quantized.scales[i]) * Double(matrix.scales[j])
          if withBias { value += Double(bias.scalars[j]) }
          if case .gelu(let approximate) = activation {
            value = geluReference(value, approximate: approximate)
          }
          expected[i * n + j] = Float(value)
        }
      }
      let y = Int8GEMM.withKernel(kernel) {
        x.quantizedLinear(matrix, bias: withBias ? bias : nil, activation: activation)
      }
      #expect(y.shape == [2, 7, 45])
      expectClose(
        y.scalars, expected, rtol: 2e-6, atol: 2e-6,
        "\(kernel) \(activation) bias: \(withBias)")
    }
  }

  /// Against fp32 `linear` on the float weight, elementwise within the worst
  /// case of the quantization steps: with |δx| ≤ sA/2 and |δw| ≤ sW/2,
  /// |Σ x̂ŵ − Σ xw| ≤ sW/2·Σ|x| + sA/2·Σ|w| + K·sA·sW/4, plus 10⁻⁵ for Float
  /// rounding; GELU is 1.13-Lipschitz (its largest slope, at √2, is 1.1289), so
  /// the bound scales by 1.13 after it.
  @Test(arguments: Int8GEMM.Kernel.allAvailable, activations)
  func matchesFloatLinearWithinTheQuantizationSteps(
    _ kernel: Int8GEMM.Kernel, _ activation: FusedActivation
  ) {
    let (x, weight, bias) = Self.operands(seed: 8, rows: 18, inputs: 70, outputs: 33)
    let matrix = QuantizedMatrix(quantizing: weight)
    let quantized = QuantizedActivations(quantizing: x, kernel: kernel)
    let (r, k, n) = (18, 70, 33)
    let xs = x.scalars
    let ws = weight.scalars
    for withBias in [false, true] {
      var reference = x.linear(weight: weight, bias: withBias ? bias : nil)  // [2, 9, 33]
      if case .gelu(let approximate) = activation {
        reference = reference.gelu(approximate: approximate)
      }
      let y = Int8GEMM.withKernel(kernel) {
        x.quantizedLinear(matrix, bias: withBias ? bias : nil, activation: activation)
      }
      let lipschitz: Float = activation == .none ? 1 : 1.13
      var worst: Float = 0
      var worstAt = 0
      for i in 0..<r {
        let sumX = (0..<k).reduce(Float(0)) { $0 + abs(xs[i * k + $1]) }
        for j in 0..<n {
          let sumW = (0..<k).reduce(Float(0)) { $0 + abs(ws[j * k + $1]) }
          let sA = quantized.scales[i]
          let sW = matrix.scales[j]
          let bound =
            lipschitz * (sW / 2 * sumX + sA / 2 * sumW + Float(k) * sA * sW / 4) + 1e-5
          let ratio = abs(y.scalars[i * n + j] - reference.scalars[i * n + j]) / bound
          if ratio > worst {
            worst = ratio
            worstAt = i * n + j
          }
        }
      }
      #expect(
        worst <= 1,
        "\(kernel) \(activation) bias \(withBias): largest |int8 − fp32| / bound = \(worst) at \(worstAt)"
      )
    }
  }

  /// Every kernel gives the same Float outputs bit for bit, on a product large
  /// enough to split across threads (64 × 300 × 256 multiply-adds).
  @Test(arguments: activations)
  func kernelsAgreeBitForBit(_ activation: FusedActivation) {
    let (x, weight, bias) = Self.operands(seed: 21, rows: 64, inputs: 256, outputs: 300)
    let matrix = QuantizedMatrix(quantizing: weight)
    let outputs = Int8GEMM.Kernel.allAvailable.map { kernel in
      Int8GEMM.withKernel(kernel) {
        withoutGradients { x.quantizedLinear(matrix, bias: bias, activation: activation) }.scalars
      }
    }
    for (index, output) in outputs.enumerated().dropFirst() {
      let same = zip(output, outputs[0]).allSatisfy { $0.bitPattern == $1.bitPattern }
      #expect(same, "\(Int8GEMM.Kernel.allAvailable[index]) against the first kernel")
    }
  }

  /// A zero row gives exactly the bias (and GELU of it); a row holding NaN
  /// gives NaN and leaves the other rows alone.
  @Test(arguments: Int8GEMM.Kernel.allAvailable)
  func zeroAndNaNRows(_ kernel: Int8GEMM.Kernel) {
    let weight = Tensor(shape: [2, 3], scalars: [1, -2, 0.5, 0.25, 3, -1])
    let matrix = QuantizedMatrix(quantizing: weight)
    let bias = Tensor(shape: [2], scalars: [0.5, -1])
    let x = Tensor(shape: [3, 3], scalars: [0, 0, 0, 1, .nan, 2, 1, 1, 1])
    let y = Int8GEMM.withKernel(kernel) { x.quantizedLinear(matrix, bias: bias) }.scalars
    #expect(Array(y[0..<2]) == [0.5, -1], "\(kernel)")
    #expect(y[2].isNaN && y[3].isNaN, "\(kernel)")
    #expect(y[4].isFinite && y[5].isFinite, "\(kernel)")
    let g = Int8GEMM.withKernel(kernel) {
      x.quantizedLinear(matrix, bias: bias, activation: .gelu())
    }.scalars
    #expect(Array(g[0..<2]) == Tensor(shape: [2], scalars: [0.5, -1]).gelu().scalars)
  }

  /// A transformer feed-forward block, int8 against fp32: x [32, 256] →
  /// gelu(x·W1ᵀ + b1) [32, 1024] → ·W2ᵀ + b2 [32, 256], weights N(0, 0.05²)
  /// and N(0, 0.03²) as in a trained BERT layer. Bounds: the error is the sum
  /// of independent rounding noises of the weights and the activations, whose
  /// variances go as the squared steps; 8-bit activations halve the step of
  /// the former 7-bit ones and so quarter their share (relative RMS error
  /// measured 2.1% with 7 bits, 1.39% with 8). Relative RMS error ≤ 2%, and,
  /// since a row with relative error e has 1 − cos ≈ e²/2, each output row's
  /// cosine to fp32 ≥ 0.9995 (e ≈ 3.2%; measured 0.99988 worst), on every kernel.
  @Test(arguments: Int8GEMM.Kernel.allAvailable)
  func feedForwardBlockStaysCloseToFloat(_ kernel: Int8GEMM.Kernel) {
    var generator = SeededGenerator(seed: 31)
    let x = Tensor.randomNormal(shape: [32, 256], generator: &generator)  // [R, H]
    let w1 = Tensor.randomNormal(
      shape: [1024, 256], standardDeviation: 0.05, generator: &generator)  // [I, H]
    let b1 = Tensor.randomNormal(shape: [1024], standardDeviation: 0.05, generator: &generator)
    let w2 = Tensor.randomNormal(
      shape: [256, 1024], standardDeviation: 0.03, generator: &generator)  // [H, I]
    let b2 = Tensor.randomNormal(shape: [256], standardDeviation: 0.05, generator: &generator)
    let reference = x.linear(weight: w1, bias: b1).gelu().linear(weight: w2, bias: b2)  // [R, H]
    let (q1, q2) = (QuantizedMatrix(quantizing: w1), QuantizedMatrix(quantizing: w2))
    let y = Int8GEMM.withKernel(kernel) {
      x.quantizedLinear(q1, bias: b1, activation: .gelu()).quantizedLinear(q2, bias: b2)
    }  // [R, H]
    var worstCosine = 1.0
    var errorSquares = 0.0
    var referenceSquares = 0.0
    for i in 0..<32 {
      var (dot, aa, bb) = (0.0, 0.0, 0.0)
      for j in 0..<256 {
        let (a, b) = (Double(y.scalars[i * 256 + j]), Double(reference.scalars[i * 256 + j]))
        dot += a * b
        aa += a * a
        bb += b * b
        errorSquares += (a - b) * (a - b)
      }
      referenceSquares += bb
      worstCosine = min(worstCosine, dot / (aa * bb).squareRoot())
    }
    let relativeRMS = (errorSquares / referenceSquares).squareRoot()
    #expect(worstCosine >= 0.9995, "\(kernel): worst row cosine \(worstCosine)")
    #expect(relativeRMS <= 0.02, "\(kernel): relative RMS error \(relativeRMS)")
  }

  /// No inputs: y is the bias.
  @Test func emptyInputGivesTheBias() {
    let matrix = QuantizedMatrix(outputSize: 2, inputSize: 0, values: [], scales: [1, 1])
    let y = Tensor(zeros: [3, 0]).quantizedLinear(
      matrix, bias: Tensor(shape: [2], scalars: [1, 2]))
    #expect(y.shape == [3, 2] && y.scalars == [1, 2, 1, 2, 1, 2])
  }

  /// Inference only: untracked under `withoutGradients` even for a tracked
  /// input, and refused with a clear message while recording.
  @Test func trackedInputIsRefusedWhileRecording() async {
    let weight = Parameter(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
    let matrix = QuantizedMatrix(quantizing: weight.value)
    let x = Tensor(shape: [1, 2], scalars: [1, 1]).linear(weight: weight.value, bias: nil)
    let y = withoutGradients { x.quantizedLinear(matrix) }
    #expect(!y.isTracked && y.shape == [1, 2])
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let weight = Parameter(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
      let x = Tensor(shape: [1, 2], scalars: [1, 1]).linear(weight: weight.value, bias: nil)
      _ = x.quantizedLinear(QuantizedMatrix(quantizing: weight.value))
    }
    if let result {
      let message = String(decoding: result.standardErrorContent, as: UTF8.self)
      #expect(message.contains("input [1, 2] is tracked by autograd"), "\(message)")
      #expect(message.contains("inference only"), "\(message)")
    }
  }

  @Test func mismatchedInputIsRefused() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let matrix = QuantizedMatrix(quantizing: Tensor(zeros: [4, 3]))
      _ = Tensor(zeros: [2, 5]).quantizedLinear(matrix)
    }
    if let result {
      let message = String(decoding: result.standardErrorContent, as: UTF8.self)
      #expect(message.contains("input [2, 5] does not fit weight [4, 3]"), "\(message)")
    }
  }
}
