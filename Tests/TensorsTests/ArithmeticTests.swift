import Foundation
import TestSupport
import Testing

@testable import Tensors

@Suite struct ArithmeticTests {
  @Test(arguments: BackendKind.allAvailable)
  func sameShapeArithmetic(_ backend: BackendKind) {
    let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    let b = Tensor(shape: [2, 3], scalars: [2, 4, 8, -1, -2, 0.5])
    Compute.withBackend(backend) {
      expectClose(a + b, Tensor(shape: [2, 3], scalars: [3, 6, 11, 3, 3, 6.5]), "a + b")
      expectClose(a - b, Tensor(shape: [2, 3], scalars: [-1, -2, -5, 5, 7, 5.5]), "a - b")
      expectClose(a * b, Tensor(shape: [2, 3], scalars: [2, 8, 24, -4, -10, 3]), "a * b")
      expectClose(a / b, Tensor(shape: [2, 3], scalars: [0.5, 0.5, 0.375, -4, -2.5, 12]), "a / b")
      expectClose(-a, Tensor(shape: [2, 3], scalars: [-1, -2, -3, -4, -5, -6]), "-a")
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func broadcastingMatchesHandComputedValues(_ backend: BackendKind) {
    Compute.withBackend(backend) {
      // [2, 3] + [3]: the row vector is added to each row.
      let matrix = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
      let row = Tensor(shape: [3], scalars: [10, 20, 30])
      expectClose(
        matrix + row, Tensor(shape: [2, 3], scalars: [11, 22, 33, 14, 25, 36]), "[2,3] + [3]")
      expectClose(
        row - matrix, Tensor(shape: [2, 3], scalars: [9, 18, 27, 6, 15, 24]), "[3] - [2,3]")
      // [3, 1] · [1, 2]: an outer product.
      let column = Tensor(shape: [3, 1], scalars: [1, 2, 3])
      let pair = Tensor(shape: [1, 2], scalars: [10, -1])
      expectClose(
        column * pair, Tensor(shape: [3, 2], scalars: [10, -1, 20, -2, 30, -3]), "[3,1] * [1,2]")
      // [2, 3] / [2, 1]: each row divided by its own value.
      let divisors = Tensor(shape: [2, 1], scalars: [2, 4])
      expectClose(
        matrix / divisors, Tensor(shape: [2, 3], scalars: [0.5, 1, 1.5, 1, 1.25, 1.5]),
        "[2,3] / [2,1]")
      // A rank-0 tensor broadcasts to anything.
      expectClose(
        matrix * Tensor(2), Tensor(shape: [2, 3], scalars: [2, 4, 6, 8, 10, 12]), "× []")
      // [2, 1, 3] · [4, 1] → [2, 4, 3]: out[i, j, k] = a[i, 0, k] · b[j, 0].
      let a = Tensor(shape: [2, 1, 3], scalars: [1, 2, 3, 4, 5, 6])
      let b = Tensor(shape: [4, 1], scalars: [1, 10, 100, -1])
      let product = a * b
      #expect(product.shape == [2, 4, 3])
      let expected: [Float] = [
        1, 2, 3, 10, 20, 30, 100, 200, 300, -1, -2, -3,
        4, 5, 6, 40, 50, 60, 400, 500, 600, -4, -5, -6,
      ]
      expectClose(product.scalars, expected, "[2,1,3] * [4,1]")
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func scalarOperands(_ backend: BackendKind) {
    let x = Tensor(shape: [2, 2], scalars: [1, 2, 4, -8])
    Compute.withBackend(backend) {
      expectClose((x + 1).scalars, [2, 3, 5, -7], "x + 1")
      expectClose((1 + x).scalars, [2, 3, 5, -7], "1 + x")
      expectClose((x - 1).scalars, [0, 1, 3, -9], "x - 1")
      expectClose((1 - x).scalars, [0, -1, -3, 9], "1 - x")
      expectClose((x * 3).scalars, [3, 6, 12, -24], "x * 3")
      expectClose((3 * x).scalars, [3, 6, 12, -24], "3 * x")
      expectClose((x / 4).scalars, [0.25, 0.5, 1, -2], "x / 4")
      expectClose((4 / x).scalars, [4, 2, 1, -0.5], "4 / x")
      var y = x
      y += 1
      y *= 2
      y -= Tensor(shape: [2], scalars: [1, 2])
      y /= Tensor(2)
      // ((x + 1)·2 − [1, 2]) / 2
      expectClose(y.scalars, [1.5, 2, 4.5, -8], "compound")
      #expect(x.scalars == [1, 2, 4, -8], "the compound operators must not write through to x")
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func oddShapes(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 11)
    let one = Tensor(shape: [1, 1], scalars: [3])
    let big = Tensor.randomNormal(shape: [7, 13, 5], generator: &generator)
    let middle = Tensor.randomNormal(shape: [13, 1], generator: &generator)
    let last = Tensor.randomNormal(shape: [5], generator: &generator)
    Compute.withBackend(backend) {
      expectClose((one * one).scalars, [9], "1×1")
      expectClose((big + one).scalars, big.scalars.map { $0 + 3 }, "[7,13,5] + [1,1]")
      let result = big * middle - last  // [7, 13, 5]
      #expect(result.shape == [7, 13, 5])
      var expected: [Float] = []
      for i in 0..<7 {
        for j in 0..<13 {
          for k in 0..<5 { expected.append(big[i, j, k] * middle[j, 0] - last[k]) }
        }
      }
      expectClose(result.scalars, expected, "[7,13,5] * [13,1] - [5]")
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func largeBroadcastSplitsAcrossThreads(_ backend: BackendKind) {
    // Big enough that the kernels take their multi-threaded paths.
    var generator = SeededGenerator(seed: 12)
    let x = Tensor.randomNormal(shape: [64, 600], generator: &generator)
    let bias = Tensor.randomNormal(shape: [600], generator: &generator)
    Compute.withBackend(backend) {
      let y = x + bias
      var expected = x.scalars
      for row in 0..<64 {
        for column in 0..<600 { expected[row * 600 + column] += bias[column] }
      }
      expectClose(y.scalars, expected, rtol: 0, atol: 0, "[64,600] + [600]")
      expectClose((x * 2).scalars, x.scalars.map { $0 * 2 }, rtol: 0, atol: 0, "x * 2")
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func unaryFunctions(_ backend: BackendKind) {
    let x = Tensor(shape: [4], scalars: [0.25, 1, 4, 9])
    Compute.withBackend(backend) {
      expectClose(sqrt(x).scalars, [0.5, 1, 2, 3], "sqrt")
      expectClose(x.squared().scalars, [0.0625, 1, 16, 81], "squared")
      expectClose(
        exp(x).scalars, [1.2840254, 2.7182818, 54.59815, 8103.0839], rtol: 1e-6, atol: 0, "exp")
      expectClose(
        log(x).scalars, [-1.3862944, 0, 1.3862944, 2.1972246], rtol: 1e-6, atol: 1e-7, "log")
      expectClose(x.clamped(min: 0.5, max: 5).scalars, [0.5, 1, 4, 5], "clamped")
      // The Float functions stay reachable next to the Tensor ones.
      #expect(abs(exp(Float(1)) - 2.7182818) < 1e-6)
    }
  }

  // MARK: Gradients

  @Test(arguments: BackendKind.allAvailable)
  func sameShapeGradients(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 13)
    let a = Tensor.randomNormal(shape: [3, 4], generator: &generator)
    let b = Tensor.randomUniform(shape: [3, 4], lower: 0.5, upper: 2, generator: &generator)
    Compute.withBackend(backend) {
      checkGradients([a, b]) { $0[0] + $0[1] }
      checkGradients([a, b]) { $0[0] - $0[1] }
      checkGradients([a, b]) { $0[0] * $0[1] }
      checkGradients([a, b]) { $0[0] / $0[1] }
      checkGradients([a]) { -$0[0] }
      checkGradients([a]) { $0[0] * $0[0] }  // one input used twice
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func broadcastGradients(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 14)
    let matrix = Tensor.randomNormal(shape: [2, 3], generator: &generator)
    let row = Tensor.randomUniform(shape: [3], lower: 0.5, upper: 2, generator: &generator)
    let a = Tensor.randomNormal(shape: [2, 1, 3], generator: &generator)
    let b = Tensor.randomUniform(shape: [4, 1], lower: 0.5, upper: 2, generator: &generator)
    let scalar = Tensor(1.5)
    let tokens = Tensor.randomNormal(shape: [2, 3, 4], generator: &generator)  // [B, T, H]
    let bias = Tensor.randomNormal(shape: [4], generator: &generator)  // [H]
    Compute.withBackend(backend) {
      checkGradients([matrix, row]) { $0[0] + $0[1] }
      checkGradients([matrix, row]) { $0[1] - $0[0] }
      checkGradients([matrix, row]) { $0[0] * $0[1] }
      checkGradients([matrix, row]) { $0[0] / $0[1] }
      checkGradients([a, b]) { $0[0] * $0[1] }
      checkGradients([a, b]) { $0[0] / $0[1] }
      checkGradients([a, b]) { $0[1] - $0[0] }
      checkGradients([matrix, scalar]) { $0[0] * $0[1] }
      checkGradients([matrix, scalar]) { $0[1] / ($0[0].squared() + 1) }
      checkGradients([tokens, bias]) { $0[0] * $0[1] + $0[1] }
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func scalarAndCompoundGradients(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 15)
    let x = Tensor.randomUniform(shape: [2, 3], lower: 0.5, upper: 2, generator: &generator)
    let row = Tensor.randomNormal(shape: [3], generator: &generator)
    Compute.withBackend(backend) {
      checkGradients([x]) { 2 - $0[0] * 3 + 1 }
      checkGradients([x]) { 1.5 / $0[0] }
      checkGradients([x]) { $0[0] / 4 - 0.5 }
      checkGradients([x]) { 0.5 + 2 * $0[0] }
      checkGradients([x, row]) { inputs in
        var y = inputs[0]
        y += inputs[1]
        y *= inputs[0]
        y -= 1
        y /= 2
        return y
      }
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func unaryGradients(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 16)
    let positive = Tensor.randomUniform(shape: [3, 5], lower: 0.5, upper: 2, generator: &generator)
    let any = Tensor.randomNormal(shape: [3, 5], generator: &generator)
    // Keep every value at least one finite-difference step from the clamp's ends.
    let clampInput = Tensor(
      shape: [2, 4], scalars: [-1.5, -0.7, -0.2, 0.1, 0.45, 0.8, 1.3, -0.95])
    Compute.withBackend(backend) {
      checkGradients([positive]) { sqrt($0[0]) }
      checkGradients([positive]) { log($0[0]) }
      checkGradients([any]) { exp($0[0]) }
      checkGradients([any]) { $0[0].squared() }
      checkGradients([clampInput]) { $0[0].clamped(min: -0.9, max: 0.6) }
    }
  }

  // MARK: Shape errors

  @Test func broadcastShapeRules() throws {
    #expect(try Tensor.broadcastShape([2, 3], [3], op: "+") == [2, 3])
    #expect(try Tensor.broadcastShape([2, 1, 3], [4, 1], op: "*") == [2, 4, 3])
    #expect(try Tensor.broadcastShape([], [5, 1], op: "*") == [5, 1])
    #expect(try Tensor.broadcastShape([1, 1], [7, 13, 5], op: "+") == [7, 13, 5])
    #expect(throws: ShapeError.notBroadcastable(op: "+", lhs: [2, 3], rhs: [4])) {
      try Tensor.broadcastShape([2, 3], [4], op: "+")
    }
    do {
      _ = try Tensor.broadcastShape([2, 3], [3, 2], op: "*")
      Issue.record("[2, 3] and [3, 2] should not broadcast")
    } catch {
      #expect(error.description == "*: shapes [2, 3] and [3, 2] do not broadcast together")
    }
  }

  @Test func shapeMismatchTrapsNamingBothShapes() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor(zeros: [2, 3]) + Tensor(zeros: [4])
    }
    if let result {
      let message = String(decoding: result.standardErrorContent, as: UTF8.self)
      #expect(message.contains("+: shapes [2, 3] and [4] do not broadcast together"), "\(message)")
    }
  }
}
