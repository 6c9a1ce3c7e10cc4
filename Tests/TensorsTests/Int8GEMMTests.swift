import TestSupport
import Testing

@testable import Tensors

/// One int8 product: A [m, k] in 0…127, W [n, k] in −127…127, optional zero points.
struct Int8Case: CustomStringConvertible, Sendable {
  var m: Int
  var n: Int
  var k: Int
  var zeroPoints = true

  var description: String { "\(m)×\(n)×\(k)\(zeroPoints ? " with zero points" : "")" }

  /// Random operands from `seed`.
  func operands(seed: UInt64) -> (a: [UInt8], z: [Int32]?, w: [Int8]) {
    var generator = SeededGenerator(seed: seed)
    let a = (0..<(m * k)).map { _ in UInt8.random(in: 0...127, using: &generator) }
    let w = (0..<(n * k)).map { _ in Int8.random(in: -127...127, using: &generator) }
    let z = zeroPoints ? (0..<m).map { _ in Int32.random(in: 0...127, using: &generator) } : nil
    return (a, z, w)
  }
}

/// Expects two int32 arrays to be equal, naming the first difference and the count.
private func expectEqualSums(
  _ actual: [Int32], _ expected: [Int32], _ comment: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  guard actual.count == expected.count else {
    Issue.record(
      "\(comment): \(actual.count) sums, expected \(expected.count)",
      sourceLocation: sourceLocation)
    return
  }
  let differing = actual.indices.filter { actual[$0] != expected[$0] }
  if let first = differing.first {
    let difference = Int64(actual[first]) - Int64(expected[first])
    let message =
      "\(comment): \(differing.count) sums differ; first at \(first): \(actual[first]), "
      + "expected \(expected[first]) (difference \(difference))"
    Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
  }
}

@Suite struct Int8GEMMTests {
  /// Shapes with every size of the list in each dimension: K never or rarely a
  /// multiple of the kernel's step of 4, N rarely a multiple of the 16-wide
  /// tile, M across the 4-row tile, with m > n and m < n (both thread splits).
  static let shapes: [Int8Case] = [
    Int8Case(m: 1, n: 1, k: 1), Int8Case(m: 3, n: 17, k: 7), Int8Case(m: 7, n: 15, k: 9),
    Int8Case(m: 8, n: 16, k: 8, zeroPoints: false), Int8Case(m: 9, n: 33, k: 15),
    Int8Case(m: 15, n: 31, k: 17), Int8Case(m: 17, n: 65, k: 31),
    Int8Case(m: 31, n: 9, k: 33), Int8Case(m: 33, n: 3, k: 63, zeroPoints: false),
    Int8Case(m: 63, n: 129, k: 65), Int8Case(m: 65, n: 63, k: 129),
    Int8Case(m: 129, n: 7, k: 3), Int8Case(m: 1, n: 129, k: 257),
    Int8Case(m: 130, n: 1, k: 5), Int8Case(m: 66, n: 130, k: 766),
  ]

  /// Every kernel gives exactly the reference's Int64 sums (which fit in Int32).
  @Test(arguments: Int8GEMM.Kernel.allAvailable, shapes)
  func sumsAreExact(_ kernel: Int8GEMM.Kernel, _ shape: Int8Case) {
    let (a, z, w) = shape.operands(seed: UInt64(shape.m * 10_000 + shape.n * 100 + shape.k))
    let weights = QuantizedMatrix(
      outputSize: shape.n, inputSize: shape.k, values: w,
      scales: [Float](repeating: 1, count: shape.n))
    let expected = ReferenceInt8GEMM.multiply(
      activations: a, zeroPoints: z, weights: w, m: shape.m, n: shape.n, k: shape.k)
    let actual = Int8GEMM.multiply(
      activations: a, rows: shape.m, zeroPoints: z, weights: weights, kernel: kernel,
      threadCount: 1)
    expectEqualSums(actual, expected, "\(kernel) \(shape)")
  }

  /// Split across 1, 2, 3 and 5 threads (the work threshold lowered so that
  /// small shapes split), by columns (n ≥ m) and by rows (m > n): the same sums.
  @Test(arguments: Int8GEMM.Kernel.allAvailable)
  func threadsGiveTheSameSums(_ kernel: Int8GEMM.Kernel) {
    for shape in [Int8Case(m: 9, n: 83, k: 21), Int8Case(m: 77, n: 18, k: 35)] {
      let (a, z, w) = shape.operands(seed: 99)
      let weights = QuantizedMatrix(
        outputSize: shape.n, inputSize: shape.k, values: w,
        scales: [Float](repeating: 1, count: shape.n))
      let expected = ReferenceInt8GEMM.multiply(
        activations: a, zeroPoints: z, weights: w, m: shape.m, n: shape.n, k: shape.k)
      for threads in [1, 2, 3, 5] {
        let actual = Int8GEMM.multiply(
          activations: a, rows: shape.m, zeroPoints: z, weights: weights, kernel: kernel,
          threadCount: threads, minimumWorkPerThread: 1)
        expectEqualSums(actual, expected, "\(kernel) \(shape) on \(threads) threads")
      }
    }
  }

  /// The extremes over a long K: every activation 127 against every weight
  /// +127 or −127 puts 127·127·2 = 32,258 in each 16-bit pair sum of
  /// `vpmaddubsw`, its largest value; a saturating kernel would cap it at
  /// 32,767 only above that, so exact sums here show that no pair saturates.
  /// Expected values are derived by hand: ±127·127·K, and with zero point 127
  /// on activations 0, (0 − 127)·(−127)·K.
  @Test(arguments: Int8GEMM.Kernel.allAvailable)
  func extremeValuesDoNotSaturate(_ kernel: Int8GEMM.Kernel) {
    let k = 4_099  // not a multiple of 4 or 8
    let m = 5
    let n = 18
    // Rows of W alternate +127 and −127; the last two alternate along k.
    var w = [Int8](repeating: 0, count: n * k)
    for j in 0..<n {
      for p in 0..<k {
        w[j * k + p] = j < n - 2 ? (j % 2 == 0 ? 127 : -127) : (p % 2 == j % 2 ? 127 : -127)
      }
    }
    let weights = QuantizedMatrix(
      outputSize: n, inputSize: k, values: w, scales: [Float](repeating: 1, count: n))
    let full = Int64(127 * 127 * k)  // 66,111,571
    // The alternating rows: (k + 1)/2 terms of one sign and (k − 1)/2 of the other.
    let alternatingEven = Int64(127 * 127)  // row n − 2: +127 at even p (2050 of 4099)
    func expected(activation: Int64) -> [Int32] {
      var rows: [Int32] = []
      for j in 0..<n {
        let sum =
          j < n - 2
          ? (j % 2 == 0 ? full : -full) : (j % 2 == 0 ? alternatingEven : -alternatingEven)
        rows.append(Int32(activation * sum / 127))
      }
      return Array((0..<m).map { _ in rows }.joined())
    }
    let high = Int8GEMM.multiply(
      activations: [UInt8](repeating: 127, count: m * k), rows: m, weights: weights,
      kernel: kernel)
    expectEqualSums(high, expected(activation: 127), "\(kernel) all 127")
    // Activations 0 with zero point 127: every term is (0 − 127)·w.
    let low = Int8GEMM.multiply(
      activations: [UInt8](repeating: 0, count: m * k), rows: m,
      zeroPoints: [Int32](repeating: 127, count: m), weights: weights, kernel: kernel)
    expectEqualSums(low, expected(activation: -127), "\(kernel) all 0 with zero point 127")
    let zero = Int8GEMM.multiply(
      activations: [UInt8](repeating: 0, count: m * k), rows: m, weights: weights,
      kernel: kernel)
    expectEqualSums(zero, [Int32](repeating: 0, count: m * n), "\(kernel) all 0")
  }

  /// At the largest K, 65,536, the largest sum 127·127·65,536 = 1,057,030,144
  /// still fits in Int32, with or without a zero point.
  @Test(arguments: Int8GEMM.Kernel.allAvailable)
  func largestInputSizeFits(_ kernel: Int8GEMM.Kernel) {
    let k = Int8GEMM.maximumInputSize
    let weights = QuantizedMatrix(
      outputSize: 2, inputSize: k,
      values: [Int8](repeating: 127, count: k) + [Int8](repeating: -127, count: k),
      scales: [1, 1])
    let sums = Int8GEMM.multiply(
      activations: [UInt8](repeating: 127, count: k), rows: 1, weights: weights, kernel: kernel)
    #expect(sums == [1_057_030_144, -1_057_030_144], "\(kernel)")
    let shifted = Int8GEMM.multiply(
      activations: [UInt8](repeating: 0, count: k), rows: 1, zeroPoints: [127],
      weights: weights, kernel: kernel)
    #expect(shifted == [-1_057_030_144, 1_057_030_144], "\(kernel)")
  }

  /// No rows, no columns or no depth: an empty product, or all zeros.
  @Test func emptyShapes() {
    let weights = QuantizedMatrix(outputSize: 3, inputSize: 0, values: [], scales: [1, 1, 1])
    #expect(Int8GEMM.multiply(activations: [], rows: 2, weights: weights) == [0, 0, 0, 0, 0, 0])
    let none = QuantizedMatrix(outputSize: 0, inputSize: 4, values: [], scales: [])
    #expect(Int8GEMM.multiply(activations: [1, 2, 3, 4], rows: 1, weights: none) == [])
  }

  /// An activation above 127 would let `vpmaddubsw` saturate: refused, naming where.
  @Test func activationAbove127IsRefused() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let weights = QuantizedMatrix(outputSize: 1, inputSize: 2, values: [1, 1], scales: [1])
      _ = Int8GEMM.multiply(activations: [3, 4, 200, 5], rows: 2, weights: weights)
    }
    if let result {
      let message = String(decoding: result.standardErrorContent, as: UTF8.self)
      #expect(message.contains("activation 200 at row 1, column 0 is above 127"), "\(message)")
    }
  }
}
