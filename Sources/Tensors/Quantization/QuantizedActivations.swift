// Dynamic quantization of activations: 8 bits per value, one scale and zero point per row.
//
// R rows (every leading dimension flattened, one row per token), K the row width
// q, s, z   x ≈ s · (q − z), q in 0…255, z in 0…255
//
// The rule is in QuantizedActivations' documentation; CInt8GEMM implements it,
// once per kernel family, bit for bit the same, straight into the packed layout.

import CInt8GEMM

/// Activations quantized per row to 8 bits with a scale and a zero point:
/// x[i, k] ≈ scales[i] · (values[i, k] − zeroPoints[i]).
///
/// The rule, with round-to-nearest, ties to even:
/// lo = min(0, min x), hi = max(0, max x), scale = (hi − lo)/255,
/// inverse = 255/(hi − lo), z = clamp(round(−lo · inverse), 0, 255),
/// q = clamp(round(x · inverse) + z, 0, 255). An all-zero row (range below
/// 10⁻³⁰) gets scale 0 and zero point 0; a row holding NaN or ±infinity gets
/// scale NaN. Every kernel multiplies these 8-bit values exactly (see
/// ``Int8GEMM``).
///
/// ``Tensor/quantizedLinear(_:bias:activation:)`` quantizes straight into the
/// kernel's packed layout; this type shows the same numbers unpacked.
public struct QuantizedActivations: Sendable {
  /// R, the rows (tokens).
  public let rows: Int
  /// K, the values per row.
  public let columns: Int
  /// q, [rows, columns] row-major, each in 0…255.
  public let values: [UInt8]
  /// s per row. [rows]
  public let scales: [Float]
  /// z per row, in 0…255. [rows]
  public let zeroPoints: [Int32]

  /// Quantizes every row of x [R…, K] (leading dimensions flattened).
  ///
  /// - Parameters:
  ///   - x: [R…, K], rank ≥ 1.
  ///   - kernel: the kernel whose quantizer runs (all give the same result).
  public init(quantizing x: Tensor, kernel: Int8GEMM.Kernel = Int8GEMM.kernel) {
    ensure(x.rank >= 1, "QuantizedActivations: x must have rank ≥ 1, got shape \(x.shape)")
    ensure(kernel.isAvailable, "QuantizedActivations: the \(kernel) kernel is not available here")
    let k = x.shape[x.rank - 1]
    let r = Tensor.elementCount(Array(x.shape.dropLast()))
    let packed = PackedActivations(quantizing: x, rows: r, depth: k, kernel: kernel)
    var values = [UInt8](repeating: 0, count: r * k)  // [R, K]
    values.withUnsafeMutableBufferPointer { target in
      if let base = target.baseAddress { cint8_unpack_activations(packed.values, r, k, base, k) }
    }
    rows = r
    columns = k
    self.values = values
    scales = Array(UnsafeBufferPointer(start: packed.scales, count: r))
    zeroPoints = Array(UnsafeBufferPointer(start: packed.zeroPoints, count: r))
  }

  /// scales[i] · (values[i, k] − zeroPoints[i]) as a Float tensor [rows, columns].
  public func dequantized() -> Tensor {
    var result = Tensor(uninitializedShape: [rows, columns])  // [R, K]
    result.withUnsafeMutableBufferPointer { target in
      for i in 0..<rows {
        for k in 0..<columns {
          target[i * columns + k] =
            scales[i] * Float(Int32(values[i * columns + k]) - zeroPoints[i])
        }
      }
    }
    return result
  }
}

/// Activations in the kernel's packed sliver layout, with their scales and
/// zero points, in one buffer from ``BufferPool``. Lives for one product.
final class PackedActivations: @unchecked Sendable {
  /// R.
  let rows: Int
  /// K.
  let depth: Int
  /// Slivers of 4 rows × K (padded), 64-byte aligned.
  let values: UnsafeMutablePointer<UInt8>
  /// [R]
  let scales: UnsafeMutablePointer<Float>
  /// [R]
  let zeroPoints: UnsafeMutablePointer<Int32>
  private let buffer: UnsafeMutableRawPointer
  private let byteCount: Int

  /// Room for R × K packed values; zero points start at 0 (scales uninitialised).
  init(rows: Int, depth: Int) {
    self.rows = rows
    self.depth = depth
    let valueBytes = (cint8_packed_activations_size(rows, depth) + 63) / 64 * 64
    byteCount = max(valueBytes + 8 * rows, 64)
    buffer = BufferPool.shared.take(byteCount: byteCount)
    values = buffer.bindMemory(to: UInt8.self, capacity: valueBytes)
    scales = (buffer + valueBytes).bindMemory(to: Float.self, capacity: rows)
    zeroPoints = (buffer + valueBytes + 4 * rows).bindMemory(to: Int32.self, capacity: rows)
    zeroPoints.initialize(repeating: 0, count: rows)
  }

  /// Quantizes x, viewed as [rows, depth], on the compute threads (whole slivers each).
  convenience init(quantizing x: Tensor, rows: Int, depth: Int, kernel: Int8GEMM.Kernel) {
    self.init(rows: rows, depth: depth)
    let tileRows = Int(CINT8_TILE_ROWS)
    let slivers = (rows + tileRows - 1) / tileRows
    let sliverBytes = cint8_packed_activations_size(tileRows, depth)
    let source = x.storage.pointer
    let (values, scales, zeroPoints) = (self.values, self.scales, self.zeroPoints)
    let code = kernel.code
    // At least 32 Ki values per thread.
    let minimumSlivers = max(1, 32_768 / max(1, tileRows * depth))
    Parallel.forEachChunk(slivers, minimumChunk: minimumSlivers) { range in
      let first = range.lowerBound * tileRows
      let count = min(rows, range.upperBound * tileRows) - first
      cint8_quantize_rows(
        code, source + first * depth, depth, count, depth,
        values + range.lowerBound * sliverBytes, scales + first, zeroPoints + first)
    }
  }

  deinit { BufferPool.shared.give(buffer, byteCount: byteCount) }
}
