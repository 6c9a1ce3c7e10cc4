// Writing safetensors files, atomically.
//
// The layout follows the reference writer (`prepare` in the Rust crate, used
// by `safetensors.torch.save_file`), so that the same tensors give the same
// bytes:
//   - tensors are ordered by dtype, widest alignment first (I64 before F32),
//     then by name, comparing UTF-8 bytes; the header lists them in that order;
//   - the header is compact JSON, `__metadata__` first when given (its keys
//     sorted here; the reference writer's order is a hash map's), strings
//     escaped as serde_json escapes them;
//   - the header is padded with spaces to a multiple of 8 bytes, so the data
//     buffer, and every tensor in it, is 8-byte aligned.
// The file is written to `.<name>.tmp-<random>` in the destination's
// directory, flushed with fsync and renamed over the destination; on failure
// the temporary file is removed and an existing destination is untouched.

import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

extension SafeTensors {
  /// A tensor to write: Float32 values, 64-bit integers such as
  /// `embeddings.position_ids`, or the 8-bit integers of a quantized weight.
  public enum Entry: Sendable {
    /// Written as F32 with the tensor's shape.
    case float32(Tensor)
    /// Written as I64; `values` in row-major order must fill `shape`.
    case int64([Int], shape: [Int])
    /// Written as I8; `values` in row-major order must fill `shape`.
    case int8([Int8], shape: [Int])

    var dtype: DType {
      switch self {
      case .float32: return .f32
      case .int64: return .i64
      case .int8: return .i8
      }
    }

    var shape: [Int] {
      switch self {
      case .float32(let tensor): return tensor.shape
      case .int64(_, let shape), .int8(_, let shape): return shape
      }
    }

    /// The number of values an integer entry holds; nil for a tensor, whose
    /// shape always fits.
    var integerCount: Int? {
      switch self {
      case .float32: return nil
      case .int64(let values, _): return values.count
      case .int8(let values, _): return values.count
      }
    }
  }

  /// Writes Float32 tensors to a safetensors file, atomically.
  /// - Parameters:
  ///   - tensors: names and tensors; names must be distinct and not `__metadata__`.
  ///   - metadata: the header's free-form `__metadata__`, if any (transformers writes
  ///     `["format": "pt"]`).
  ///   - url: the destination, replaced only when the whole file has been written.
  /// - Throws: `SafeTensorsError` naming the destination and the failed step.
  public static func write(
    _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String]? = nil, to url: URL
  ) throws(SafeTensorsError) {
    try write(
      entries: tensors.map { ($0.name, Entry.float32($0.tensor)) }, metadata: metadata, to: url)
  }

  /// Writes Float32 and Int64 tensors to a safetensors file, atomically.
  /// - Parameters:
  ///   - entries: names and tensors; names must be distinct and not `__metadata__`.
  ///   - metadata: the header's free-form `__metadata__`, if any.
  ///   - url: the destination, replaced only when the whole file has been written.
  /// - Throws: `SafeTensorsError` naming the destination and the failed step.
  public static func write(
    entries: [(name: String, entry: Entry)], metadata: [String: String]? = nil, to url: URL
  ) throws(SafeTensorsError) {
    try write(entries: entries, metadata: metadata, to: url) { _ throws(SafeTensorsError) in }
  }

  /// The points of a write at which a test can make it fail.
  enum WriteStep: Equatable {
    case createdTemporaryFile
    case wroteHeader
    case wroteTensor(Int)
    case synced
  }

  /// The writer, with `checkpoint` called after each step; an error it throws
  /// makes the write fail there, as a failing system call would.
  static func write(
    entries: [(name: String, entry: Entry)], metadata: [String: String]?, to url: URL,
    checkpoint: (WriteStep) throws(SafeTensorsError) -> Void
  ) throws(SafeTensorsError) {
    let path = url.path
    func fail(_ reason: SafeTensorsError.Reason, tensor: String? = nil) -> SafeTensorsError {
      SafeTensorsError(path: path, tensor: tensor, reason: reason)
    }

    // Check the entries before touching the file system.
    var seen = Set<[UInt8]>()
    for (name, entry) in entries {
      guard !name.utf8.elementsEqual("__metadata__".utf8) else {
        throw fail(.reservedTensorName, tensor: name)
      }
      guard seen.insert(Array(name.utf8)).inserted else {
        throw fail(.duplicateTensorName, tensor: name)
      }
      if let valueCount = entry.integerCount {
        let shape = entry.shape
        guard shape.allSatisfy({ $0 >= 0 }),
          case .bytes(_, let count) = entry.dtype.byteCount(shape: shape), count == valueCount
        else { throw fail(.shapeMismatch(shape: shape, valueCount: valueCount), tensor: name) }
      }
    }

    // Order as the reference writer does, and build the header.
    let order = entries.indices.sorted { a, b in
      let (left, right) = (entries[a], entries[b])
      if left.entry.dtype != right.entry.dtype {
        return left.entry.dtype.layoutRank > right.entry.dtype.layoutRank
      }
      return left.name.utf8.lexicographicallyPrecedes(right.name.utf8)
    }
    var header: [UInt8] = [UInt8(ascii: "{")]
    if let metadata {
      appendJSONString("__metadata__", to: &header)
      header.append(contentsOf: ":{".utf8)
      let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
      for (position, key) in keys.enumerated() {
        if position > 0 { header.append(UInt8(ascii: ",")) }
        appendJSONString(key, to: &header)
        header.append(UInt8(ascii: ":"))
        appendJSONString(metadata[key]!, to: &header)
      }
      header.append(UInt8(ascii: "}"))
    }
    var offset = 0
    for position in order {
      let (name, entry) = entries[position]
      let shape = entry.shape
      guard case .bytes(let byteCount, _) = entry.dtype.byteCount(shape: shape) else {
        throw fail(.sizeOverflow(shape: shape), tensor: name)
      }
      if header.count > 1 { header.append(UInt8(ascii: ",")) }
      appendJSONString(name, to: &header)
      let dimensions = shape.map(String.init).joined(separator: ",")
      header.append(
        contentsOf:
          ":{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(dimensions)],\"data_offsets\":[\(offset),\(offset + byteCount)]}"
          .utf8)
      offset += byteCount
    }
    header.append(UInt8(ascii: "}"))
    while header.count % 8 != 0 { header.append(0x20) }
    guard header.count <= maximumHeaderByteCount else {
      throw fail(.headerTooLarge(byteCount: UInt64(header.count)))
    }
    let prefix = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header

    // Write a temporary file beside the destination, then rename it over.
    let directory = url.deletingLastPathComponent().path
    let temporaryPath =
      (directory as NSString).appendingPathComponent(
        ".\(url.lastPathComponent).tmp-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))")
    func systemFailure(_ step: String, code: Int32 = errno) -> SafeTensorsError {
      fail(.writeFailed("\(step) failed: \(String(cString: strerror(code)))"))
    }

    var descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
    guard descriptor >= 0 else {
      throw systemFailure("creating the temporary file \(temporaryPath)")
    }
    do throws(SafeTensorsError) {
      try checkpoint(.createdTemporaryFile)
      let code = prefix.withUnsafeBytes { writeAll($0, to: descriptor) }
      guard code == 0 else {
        throw systemFailure("writing the header to \(temporaryPath)", code: code)
      }
      try checkpoint(.wroteHeader)
      for (step, position) in order.enumerated() {
        let (name, entry) = entries[position]
        let code: Int32
        switch entry {
        case .float32(let tensor):
          #if _endian(little)
            code = tensor.withUnsafeBufferPointer {
              writeAll(UnsafeRawBufferPointer($0), to: descriptor)
            }
          #else
            let words = tensor.scalars.map { $0.bitPattern.littleEndian }
            code = words.withUnsafeBytes { writeAll($0, to: descriptor) }
          #endif
        case .int64(let values, _):
          let words = values.map { Int64($0).littleEndian }
          code = words.withUnsafeBytes { writeAll($0, to: descriptor) }
        case .int8(let values, _):
          code = values.withUnsafeBytes { writeAll($0, to: descriptor) }
        }
        guard code == 0 else {
          throw systemFailure("writing tensor \"\(name)\" to \(temporaryPath)", code: code)
        }
        try checkpoint(.wroteTensor(step))
      }
      guard fsync(descriptor) == 0 else { throw systemFailure("fsync of \(temporaryPath)") }
      try checkpoint(.synced)
      let closed = close(descriptor)
      descriptor = -1
      guard closed == 0 else { throw systemFailure("closing \(temporaryPath)") }
      guard rename(temporaryPath, path) == 0 else {
        throw systemFailure("renaming \(temporaryPath) to the destination")
      }
    } catch {
      if descriptor >= 0 { close(descriptor) }
      unlink(temporaryPath)
      throw error
    }

    // Make the rename itself durable. The file is complete and in place, so a
    // failure here is not reported.
    let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if directoryDescriptor >= 0 {
      _ = fsync(directoryDescriptor)
      close(directoryDescriptor)
    }
  }

  /// Writes all of `bytes`, retrying short writes and interruptions.
  /// - Returns: 0, or the `errno` of the failed `write`.
  private static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) -> Int32 {
    guard var next = bytes.baseAddress else { return 0 }
    var remaining = bytes.count
    while remaining > 0 {
      let written = systemWrite(descriptor, next, min(remaining, 1 << 30))
      if written < 0 && errno == EINTR { continue }
      guard written > 0 else { return written == 0 ? EIO : errno }
      next += written
      remaining -= written
    }
    return 0
  }

  /// Appends `string` as a JSON string literal, escaped as serde_json escapes:
  /// `"` and `\` with a backslash, control characters as `\b \t \n \f \r` or
  /// `\u00XX`, everything else (including non-ASCII) as raw UTF-8.
  static func appendJSONString(_ string: String, to output: inout [UInt8]) {
    output.append(UInt8(ascii: "\""))
    for byte in string.utf8 {
      switch byte {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"): output.append(contentsOf: [0x5C, byte])
      case 0x08: output.append(contentsOf: [0x5C, UInt8(ascii: "b")])
      case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
      case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
      case 0x0C: output.append(contentsOf: [0x5C, UInt8(ascii: "f")])
      case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
      case 0x00..<0x20:
        let digits = Array("0123456789abcdef".utf8)
        output.append(contentsOf: "\\u00".utf8)
        output.append(contentsOf: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
      default: output.append(byte)
      }
    }
    output.append(UInt8(ascii: "\""))
  }
}

/// The C library's `write`, which the static `SafeTensors.write` hides inside the extension.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
  write(descriptor, bytes, count)
}
