// The int8 matrix product: kernel choice, the exact int32 entry point, and the
// threaded driver behind Tensor.quantizedLinear.
//
// M, N, K   activations A [M, K] (u8, one zero point per row), weights W [N, K]
//           (s8, the layer's [out, in]), product C [M, N]
// MC × NC   the block of C one call of the C kernel fills; the fused GELU then
//           runs over that block while it is still in cache
//
// Threads take disjoint ranges of whole tiles, of C's columns when N ≥ M and of
// its rows otherwise, as SwiftGEMM splits the fp32 product.

import CInt8GEMM
import Dispatch
import Foundation

/// The int8 × int8 → int32 matrix product of the quantized linear layer.
///
/// C[i, j] = Σ_k (A[i, k] − z[i]) · W[j, k], exactly, in Int32: A holds
/// activations in 0…255 with a zero point z per row (see
/// ``QuantizedActivations``), W a ``QuantizedMatrix``. Every kernel is exact:
/// `vpdpbusd` sums u8 × s8 products straight into 32 bits, and the AVX2 kernel
/// multiplies a − 128 with the sign moved onto the weights, so that the 16-bit
/// pair sums of `vpmaddubsw` reach at most 2 · 128 · 127 = 32,512 ≤ 32,767,
/// and adds 128 · Σ_k W[j, k] back.
public enum Int8GEMM {
  /// A micro-kernel over the packed layout. Every kernel gives the same sums
  /// and the same float outputs, bit for bit.
  public enum Kernel: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Plain C, on every platform.
    case portable
    /// AVX2 `vpmaddubsw`/`vpmaddwd` on a 4 × 16 tile with the sign trick
    /// (x86_64 with AVX2 and FMA).
    case avx2
    /// AVX-VNNI `vpdpbusd` (VEX) on the same tile and the same data (x86_64
    /// with AVX2, FMA and AVX-VNNI).
    case avxvnni
    /// AVX-512-VNNI `vpdpbusd` on 512-bit registers: one load is a whole
    /// panel step, and two panels make a 4 × 32 tile (x86_64 with AVX2, FMA,
    /// AVX-512F, AVX-512VL and AVX-512-VNNI).
    case avx512vnni

    /// Whether this build and this CPU can run the kernel.
    public var isAvailable: Bool { cint8_kernel_is_available(code) != 0 }

    /// The kernels this process can run, the preferred first: AVX-512-VNNI
    /// (twice the width), then AVX-VNNI, then AVX2, then portable.
    public static var allAvailable: [Kernel] {
      [.avx512vnni, .avxvnni, .avx2, .portable].filter(\.isAvailable)
    }

    /// The default: `BERT_INT8_KERNEL=portable|avx2|avxvnni|avx512vnni` when set
    /// and available, else the first of ``allAvailable``.
    public static let best: Kernel = {
      if let name = ProcessInfo.processInfo.environment["BERT_INT8_KERNEL"]?.lowercased(),
        let kernel = Kernel(rawValue: name), kernel.isAvailable
      {
        return kernel
      }
      return allAvailable[0]
    }()

    public var description: String { rawValue }

    var code: Int32 {
      switch self {
      case .portable: CINT8_KERNEL_PORTABLE
      case .avx2: CINT8_KERNEL_AVX2
      case .avxvnni: CINT8_KERNEL_AVXVNNI
      case .avx512vnni: CINT8_KERNEL_AVX512VNNI
      }
    }
  }

  @TaskLocal private static var scopedKernel: Kernel?

  /// The kernel that ``Tensor/quantizedLinear(_:bias:activation:)`` uses in
  /// the current task: the one set by ``withKernel(_:_:)``, else ``Kernel/best``.
  public static var kernel: Kernel { scopedKernel ?? .best }

  /// Runs `body` with `kernel` as the current task's int8 kernel (tests use it
  /// to run the portable kernel on an AVX2 machine).
  public static func withKernel<R>(_ kernel: Kernel, _ body: () throws -> R) rethrows -> R {
    ensure(kernel.isAvailable, "Int8GEMM.withKernel: the \(kernel) kernel is not available here")
    return try $scopedKernel.withValue(kernel, operation: body)
  }

  /// The largest activation value, 255 (8 bits).
  public static let maximumActivation = Int(CINT8_ACTIVATION_MAX)
  /// The largest weight magnitude, 127 (weights are −127…127).
  public static let maximumWeight = Int(CINT8_WEIGHT_MAX)
  /// The largest K (inputs) for which the int32 sums cannot overflow.
  public static let maximumInputSize = Int(CINT8_DEPTH_MAX)

  /// Rows of C in one block of the driver (whole tiles).
  static let blockRows = 64
  /// Columns of C in one block of the driver (whole panels).
  static let blockColumns = 128

  /// Below this many multiply-adds per thread (about 20 µs of work), another
  /// thread costs more than it saves.
  public static let defaultMinimumWorkPerThread = 1 << 21

  /// C = (A − z)·Wᵀ in Int32, exactly.
  ///
  /// - Parameters:
  ///   - activations: A [rows, weights.inputSize] row-major, each value in 0…255.
  ///   - rows: M.
  ///   - zeroPoints: [rows] in 0…255, or nil for none.
  ///   - weights: W [N, K].
  ///   - kernel: the micro-kernel; the current ``kernel`` by default.
  ///   - threadCount: the most threads to use.
  ///   - minimumWorkPerThread: fewer threads when each would get fewer
  ///     multiply-adds (tests lower it to split small shapes).
  /// - Returns: C [rows, weights.outputSize] row-major.
  public static func multiply(
    activations: [UInt8], rows: Int, zeroPoints: [Int32]? = nil, weights: QuantizedMatrix,
    kernel: Kernel = Int8GEMM.kernel, threadCount: Int = Compute.threadCount,
    minimumWorkPerThread: Int = defaultMinimumWorkPerThread
  ) -> [Int32] {
    let (m, n, k) = (rows, weights.outputSize, weights.inputSize)
    ensure(kernel.isAvailable, "Int8GEMM.multiply: the \(kernel) kernel is not available here")
    ensure(
      m >= 0 && activations.count == m * k,
      "Int8GEMM.multiply: \(activations.count) activations for [\(m), \(k)]")
    if let zeroPoints {
      ensure(
        zeroPoints.count == m, "Int8GEMM.multiply: \(zeroPoints.count) zero points for \(m) rows")
      if let row = zeroPoints.firstIndex(where: { !(0...Int32(maximumActivation)).contains($0) }) {
        ensureFailure(
          "Int8GEMM.multiply: zero point \(zeroPoints[row]) of row \(row) is outside 0…\(maximumActivation)"
        )
      }
    }
    var result = [Int32](repeating: 0, count: m * n)  // [M, N]
    guard m > 0, n > 0 else { return result }
    let packed = PackedActivations(rows: m, depth: k)
    activations.withUnsafeBufferPointer { source in
      if let base = source.baseAddress { cint8_pack_activations(base, k, m, k, packed.values) }
    }
    if let zeroPoints { packed.zeroPoints.update(from: zeroPoints, count: m) }
    result.withUnsafeMutableBufferPointer { c in
      let product = Int8Product(
        activations: packed, weights: weights, kernel: kernel,
        output: .sums(c.baseAddress!, hasZeroPoints: zeroPoints != nil))
      product.run(threadCount: threadCount, minimumWorkPerThread: minimumWorkPerThread)
    }
    return result
  }
}

// MARK: - Driver

/// One product's operands and what to do with its sums.
struct Int8Product: @unchecked Sendable {
  enum Output {
    /// C in int32, with or without the activations' zero points.
    case sums(UnsafeMutablePointer<Int32>, hasZeroPoints: Bool)
    /// Y = C · sA · sW + bias, then the activation, in Float.
    case values(
      UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, activation: FusedActivation)
  }

  let activations: PackedActivations
  let weights: QuantizedMatrix
  let kernel: Kernel
  let output: Output

  typealias Kernel = Int8GEMM.Kernel

  /// Splits C into per-thread ranges of whole tiles and computes them.
  func run(threadCount: Int, minimumWorkPerThread: Int) {
    Parallel.forEachTileBlock(
      m: activations.rows, n: weights.outputSize, k: weights.inputSize,
      rowTile: Int(CINT8_TILE_ROWS), columnTile: Int(CINT8_TILE_COLUMNS),
      threadCount: threadCount, minimumWorkPerThread: minimumWorkPerThread
    ) { rows, columns in
      compute(rows: rows, columns: columns)
    }
  }

  /// The blocks of one rectangle of C (starting on tile boundaries), on the calling thread.
  func compute(rows: Range<Int>, columns: Range<Int>) {
    let (n, k) = (weights.outputSize, weights.inputSize)
    let tileRows = Int(CINT8_TILE_ROWS)
    let tileColumns = Int(CINT8_TILE_COLUMNS)
    let sliverBytes = cint8_packed_activations_size(tileRows, k)  // one sliver of 4 rows
    let panelBytes = cint8_packed_weights_size(tileColumns, k)  // one panel of 16 columns
    let storage = weights.storage
    storage.scales.withUnsafeBufferPointer { columnScales in
      storage.columnSums.withUnsafeBufferPointer { columnSums in
        for ic in stride(from: rows.lowerBound, to: rows.upperBound, by: Int8GEMM.blockRows) {
          let height = min(Int8GEMM.blockRows, rows.upperBound - ic)
          for jc in stride(
            from: columns.lowerBound, to: columns.upperBound, by: Int8GEMM.blockColumns)
          {
            let width = min(Int8GEMM.blockColumns, columns.upperBound - jc)
            var block = CInt8Output()
            block.stride = n
            block.column_sums = columnSums.baseAddress! + jc
            switch output {
            case .sums(let c, let hasZeroPoints):
              block.sums = c + ic * n + jc
              if hasZeroPoints { block.zero_points = UnsafePointer(activations.zeroPoints + ic) }
            case .values(let y, let bias, _):
              block.values = y + ic * n + jc
              block.zero_points = UnsafePointer(activations.zeroPoints + ic)
              block.row_scales = UnsafePointer(activations.scales + ic)
              block.column_scales = columnScales.baseAddress! + jc
              block.bias = bias.map { $0 + jc }
            }
            cint8_multiply(
              kernel.code, activations.values + (ic / tileRows) * sliverBytes, height,
              storage.packed + (jc / tileColumns) * panelBytes, width, k, &block)
            if case .values(let y, _, .gelu(let approximate)) = output {
              // The block is still in cache: GELU in place, row by row.
              for i in ic..<(ic + height) {
                let line = y + i * n + jc
                Tensor.geluRow(line, nil, line, width, approximate)
              }
            }
          }
        }
      }
    }
  }
}
