import Foundation
import TestSupport
import Testing

@testable import Tensors

/// One int8 product: A [m, k] in 0…255, W [n, k] in −127…127, optional zero points.
struct Int8Case: CustomStringConvertible, Sendable {
  var m: Int
  var n: Int
  var k: Int
  var zeroPoints = true

  var description: String { "\(m)×\(n)×\(k)\(zeroPoints ? " with zero points" : "")" }

  /// Random operands from `seed`.
  func operands(seed: UInt64) -> (a: [UInt8], z: [Int32]?, w: [Int8]) {
    var generator = SeededGenerator(seed: seed)
    let a = (0..<(m * k)).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let w = (0..<(n * k)).map { _ in Int8.random(in: -127...127, using: &generator) }
    let z = zeroPoints ? (0..<m).map { _ in Int32.random(in: 0...255, using: &generator) } : nil
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

  /// The extremes over a long K, derived by hand. Each weight row is one of
  /// four patterns of ±127 (one sign throughout, or alternating along k), each
  /// activation row one of five (all 255, all 0, 255 and 0 alternating either
  /// way, all 255 again in the second sliver), so with E = 2,050 even and
  /// O = 2,049 odd k of K = 4,099, C = (a_even − z)·w_even·E + (a_odd − z)·w_odd·O.
  ///
  /// What this reaches: all 255 against all +127 would put 255·127·2 = 64,770
  /// into each 16-bit pair of a plain u8 `vpmaddubsw` (it clips at 32,767).
  /// AVX2's sign trick multiplies s = a − 128: all 0 gives |s| = 128 and pair
  /// sums of 2·128·127 = 32,512, its largest; 255 and 0 alternating against
  /// alternating weights give 127·127 + 128·127 = 32,385. A saturated pair
  /// would be clipped to ±32,767 and change the sum, so exact sums show none.
  @Test(arguments: Int8GEMM.Kernel.allAvailable)
  func extremeValuesDoNotSaturate(_ kernel: Int8GEMM.Kernel) {
    let k = 4_099  // not a multiple of 4 or 8
    let (even, odd) = (Int64(2_050), Int64(2_049))
    let weightPatterns: [(even: Int64, odd: Int64)] = [
      (127, 127), (-127, -127), (127, -127), (-127, 127),
    ]
    let activationPatterns: [(even: Int64, odd: Int64)] = [
      (255, 255), (0, 0), (255, 0), (0, 255), (255, 255),
    ]
    let (m, n) = (activationPatterns.count, 18)  // a full 4 × 16 tile and its edges
    var w = [Int8](repeating: 0, count: n * k)  // [n, k]
    for j in 0..<n {
      let pattern = weightPatterns[j % 4]
      for p in 0..<k { w[j * k + p] = Int8(p % 2 == 0 ? pattern.even : pattern.odd) }
    }
    var a = [UInt8](repeating: 0, count: m * k)  // [m, k]
    for i in 0..<m {
      let pattern = activationPatterns[i]
      for p in 0..<k { a[i * k + p] = UInt8(p % 2 == 0 ? pattern.even : pattern.odd) }
    }
    let weights = QuantizedMatrix(
      outputSize: n, inputSize: k, values: w, scales: [Float](repeating: 1, count: n))
    func expected(zeroPoints z: [Int64]) -> [Int32] {
      var sums: [Int32] = []  // [m, n]
      for i in 0..<m {
        let x = activationPatterns[i]
        for j in 0..<n {
          let y = weightPatterns[j % 4]
          sums.append(Int32((x.even - z[i]) * y.even * even + (x.odd - z[i]) * y.odd * odd))
        }
      }
      return sums
    }
    // For example C[0, 0] = 255·127·4,099 = 132,746,115 and C[2, 2] = 255·127·2,050.
    #expect(expected(zeroPoints: [0, 0, 0, 0, 0])[0] == 132_746_115)
    #expect(expected(zeroPoints: [0, 0, 0, 0, 0])[2 * n + 2] == 66_389_250)
    let plain = Int8GEMM.multiply(
      activations: a, rows: m, weights: weights, kernel: kernel, threadCount: 1)
    expectEqualSums(plain, expected(zeroPoints: [0, 0, 0, 0, 0]), "\(kernel) no zero points")
    let zeroPoints: [Int32] = [255, 255, 0, 128, 1]
    let shifted = Int8GEMM.multiply(
      activations: a, rows: m, zeroPoints: zeroPoints, weights: weights, kernel: kernel,
      threadCount: 1)
    expectEqualSums(
      shifted, expected(zeroPoints: zeroPoints.map(Int64.init)),
      "\(kernel) zero points \(zeroPoints)")
  }

  /// At the largest K, 65,536, the largest sum 255·127·65,536 = 2,122,383,360
  /// still fits in Int32 (below 2³¹ − 1 = 2,147,483,647), with or without a
  /// zero point: all 255 against ±127, and all 0 with zero point 255.
  @Test(arguments: Int8GEMM.Kernel.allAvailable)
  func largestInputSizeFits(_ kernel: Int8GEMM.Kernel) {
    let k = Int8GEMM.maximumInputSize
    let weights = QuantizedMatrix(
      outputSize: 2, inputSize: k,
      values: [Int8](repeating: 127, count: k) + [Int8](repeating: -127, count: k),
      scales: [1, 1])
    let sums = Int8GEMM.multiply(
      activations: [UInt8](repeating: 255, count: k), rows: 1, weights: weights, kernel: kernel)
    #expect(sums == [2_122_383_360, -2_122_383_360], "\(kernel)")
    let shifted = Int8GEMM.multiply(
      activations: [UInt8](repeating: 0, count: k), rows: 1, zeroPoints: [255],
      weights: weights, kernel: kernel)
    #expect(shifted == [-2_122_383_360, 2_122_383_360], "\(kernel)")
  }

  #if os(Linux) && arch(x86_64)
    /// The kernels offered are the ones the CPU's flags in /proc/cpuinfo allow
    /// (the kernel's own names: avx_vnni, avx512_vnni), so that no kernel
    /// the CPU runs goes untested and none it cannot run is offered.
    @Test func availableKernelsMatchTheCPUFlags() throws {
      let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
      let line = try #require(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") })
      let flags = Set(line.split(separator: " ").map(String.init))
      let avx2 = flags.contains("avx2") && flags.contains("fma")
      let expected: [Int8GEMM.Kernel: Bool] = [
        .portable: true,
        .avx2: avx2,
        .avxvnni: avx2 && flags.contains("avx_vnni"),
        .avx512vnni: avx2 && flags.isSuperset(of: ["avx512f", "avx512vl", "avx512_vnni"]),
      ]
      for kernel in Int8GEMM.Kernel.allCases {
        #expect(kernel.isAvailable == expected[kernel], "\(kernel): flags say \(expected[kernel]!)")
      }
      #expect(Int8GEMM.Kernel.allAvailable.last == .portable)
    }
  #endif

  /// No rows, no columns or no depth: an empty product, or all zeros.
  @Test func emptyShapes() {
    let weights = QuantizedMatrix(outputSize: 3, inputSize: 0, values: [], scales: [1, 1, 1])
    #expect(Int8GEMM.multiply(activations: [], rows: 2, weights: weights) == [0, 0, 0, 0, 0, 0])
    let none = QuantizedMatrix(outputSize: 0, inputSize: 4, values: [], scales: [])
    #expect(Int8GEMM.multiply(activations: [1, 2, 3, 4], rows: 1, weights: none) == [])
  }

  /// A zero point outside 0…255 is refused, naming the row.
  @Test func zeroPointOutsideTheRangeIsRefused() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let weights = QuantizedMatrix(outputSize: 1, inputSize: 2, values: [1, 1], scales: [1])
      _ = Int8GEMM.multiply(
        activations: [3, 4, 200, 5], rows: 2, zeroPoints: [0, 256], weights: weights)
    }
    if let result {
      let message = String(decoding: result.standardErrorContent, as: UTF8.self)
      #expect(message.contains("zero point 256 of row 1 is outside 0…255"), "\(message)")
    }
  }
}
