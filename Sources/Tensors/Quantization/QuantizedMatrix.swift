// A weight matrix quantized to symmetric int8, one scale per output row, packed once.
//
// out, in   the weight is [out, in], the checkpoint's layout (y = x·Wᵀ)
// q, s      W[j, k] ≈ s[j] · q[j, k], q in −127…127
//
// The packed panels are the layout the int8 micro-kernel reads (see
// CInt8GEMM.h): 16 output rows per panel, 4 consecutive inputs together.

import CInt8GEMM

/// A weight [out, in] quantized to symmetric int8 with one Float scale per
/// output row (output channel), packed once for ``Int8GEMM``.
///
/// Quantization: for row j, s[j] = max_k |W[j, k]| / 127 and
/// q[j, k] = round(W[j, k] / s[j]), rounded to nearest with ties to even and
/// clamped to −127…127 (never −128, so the range is symmetric). A row of zeros
/// gets s[j] = 0 and q = 0. The column sums Σ_k q[j, k] that the activations'
/// zero points need are computed here, once.
public struct QuantizedMatrix: Sendable {
  /// Rows of the weight: the layer's output features, N.
  public let outputSize: Int
  /// Columns of the weight: the layer's input features, K.
  public let inputSize: Int
  let storage: Storage

  /// Quantizes a weight [out, in].
  ///
  /// - Parameter weight: [out, in] with finite values and at most
  ///   ``Int8GEMM/maximumInputSize`` columns; refused otherwise, naming the row.
  public init(quantizing weight: Tensor) {
    let (values, scales) = QuantizedMatrix.quantizingRows(of: weight)
    self.init(
      outputSize: weight.shape[0], inputSize: weight.shape[1], values: values, scales: scales)
  }

  /// The symmetric int8 values and per-row scales of a matrix [rows, columns],
  /// by the rule above: what ``init(quantizing:)`` packs, and what an int8
  /// embedding table (one scale per token row) stores.
  ///
  /// - Parameter weight: [rows, columns] with finite values; refused otherwise,
  ///   naming the row.
  /// - Returns: values [rows, columns] row-major in −127…127, scales [rows].
  public static func quantizingRows(of weight: Tensor) -> (values: [Int8], scales: [Float]) {
    ensure(
      weight.rank == 2,
      "QuantizedMatrix: the weight must be [out, in], got shape \(weight.shape)")
    let (rows, columns) = (weight.shape[0], weight.shape[1])
    var values = [Int8](repeating: 0, count: rows * columns)  // [out, in]
    var scales = [Float](repeating: 0, count: rows)  // [out]
    let w = weight.storage.pointer
    let limit = Float(Int8GEMM.maximumWeight)
    for j in 0..<rows {
      let row = w + j * columns
      var largest: Float = 0
      for k in 0..<columns {
        ensure(
          row[k].isFinite,
          "QuantizedMatrix: weight row \(j) holds a non-finite value (\(row[k])) at column \(k)")
        largest = max(largest, abs(row[k]))
      }
      guard largest > 0 else { continue }
      let scale = largest / limit
      scales[j] = scale
      for k in 0..<columns {
        let q = (row[k] / scale).rounded(.toNearestOrEven)
        values[j * columns + k] = Int8(max(-limit, min(limit, q)))
      }
    }
    return (values, scales)
  }

  /// A matrix from int8 values that were quantized already (an int8 checkpoint).
  ///
  /// - Parameters:
  ///   - outputSize: N, the rows.
  ///   - inputSize: K, the columns (at most ``Int8GEMM/maximumInputSize``).
  ///   - values: [out, in] row-major, each in −127…127.
  ///   - scales: [out], finite and not negative.
  public init(outputSize: Int, inputSize: Int, values: [Int8], scales: [Float]) {
    ensure(
      outputSize >= 0 && inputSize >= 0,
      "QuantizedMatrix: negative size [\(outputSize), \(inputSize)]")
    ensure(
      inputSize <= Int8GEMM.maximumInputSize,
      "QuantizedMatrix: \(inputSize) inputs is more than the \(Int8GEMM.maximumInputSize) "
        + "for which int32 sums cannot overflow")
    ensure(
      values.count == outputSize * inputSize,
      "QuantizedMatrix: \(values.count) values for a [\(outputSize), \(inputSize)] matrix")
    ensure(
      scales.count == outputSize,
      "QuantizedMatrix: \(scales.count) scales for \(outputSize) output rows")
    if let index = values.firstIndex(where: { Int($0) < -Int8GEMM.maximumWeight }) {
      ensureFailure(
        "QuantizedMatrix: value \(values[index]) at row \(index / max(inputSize, 1)), column "
          + "\(index % max(inputSize, 1)) is outside −\(Int8GEMM.maximumWeight)…\(Int8GEMM.maximumWeight)"
      )
    }
    if let row = scales.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
      ensureFailure("QuantizedMatrix: scale \(scales[row]) of row \(row) is not finite and ≥ 0")
    }
    self.outputSize = outputSize
    self.inputSize = inputSize
    storage = Storage(rows: outputSize, columns: inputSize, values: values, scales: scales)
  }

  /// The scale of each output row, s: W[j, k] ≈ s[j] · q[j, k]. [out]
  public var scales: [Float] { storage.scales }

  /// The int8 values q, [out, in] row-major, unpacked from the panels.
  public var values: [Int8] {
    var result = [Int8](repeating: 0, count: outputSize * inputSize)  // [out, in]
    result.withUnsafeMutableBufferPointer { target in
      guard let base = target.baseAddress else { return }
      cint8_unpack_weights(storage.packed, outputSize, inputSize, base, inputSize)
    }
    return result
  }

  /// s[j] · q[j, k] as a Float tensor [out, in]: the weight this matrix stands for.
  public func dequantized() -> Tensor {
    let q = values  // [out, in]
    let s = scales  // [out]
    var result = Tensor(uninitializedShape: [outputSize, inputSize])  // [out, in]
    result.withUnsafeMutableBufferPointer { target in
      for j in 0..<outputSize {
        for k in 0..<inputSize { target[j * inputSize + k] = s[j] * Float(q[j * inputSize + k]) }
      }
    }
    return result
  }

  /// The memory the packed values, scales and column sums take, in bytes.
  public var byteCount: Int { storage.packedByteCount + 8 * outputSize }
}

extension QuantizedMatrix {
  /// The packed panels, the scales and the column sums. Immutable once built.
  final class Storage: @unchecked Sendable {
    /// 64-byte aligned panels of CInt8GEMM's weight layout.
    let packed: UnsafeMutablePointer<Int8>
    let packedByteCount: Int
    /// [out]
    let scales: [Float]
    /// Σ_k q[j, k] for each output row j. [out]
    let columnSums: [Int32]

    init(rows: Int, columns: Int, values: [Int8], scales: [Float]) {
      let byteCount = cint8_packed_weights_size(rows, columns)
      let packed = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        .bindMemory(to: Int8.self, capacity: max(byteCount, 1))
      values.withUnsafeBufferPointer { source in
        if let base = source.baseAddress {
          cint8_pack_weights(base, columns, rows, columns, packed)
        }
      }
      self.packed = packed
      packedByteCount = byteCount
      var sums = [Int32](repeating: 0, count: rows)  // [out]
      for j in 0..<rows {
        var sum: Int32 = 0
        for k in 0..<columns { sum += Int32(values[j * columns + k]) }
        sums[j] = sum
      }
      self.scales = scales
      columnSums = sums
    }

    deinit { packed.deallocate() }
  }
}
