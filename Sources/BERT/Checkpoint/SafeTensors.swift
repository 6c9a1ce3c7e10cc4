// Reading safetensors files through a read-only memory mapping.
//
// Layout of a file (all integers little-endian):
//   [0, 8)          N, a UInt64: the header's size in bytes
//   [8, 8 + N)      the header: a UTF-8 JSON object, maybe padded with spaces
//                   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]},
//                    "__metadata__": {"key": "value"}, ...}
//   [8 + N, EOF)    the data buffer; each tensor's bytes are [b, e) of this buffer
//
// The header is validated as the reference implementation does (its README and
// `Metadata::validate`): a known dtype, a byte length equal to shape × dtype
// size, and tensors that, sorted by offset, cover the data buffer exactly with
// neither holes nor overlaps. A file that passes can be read without any
// out-of-bounds access.

import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The safetensors checkpoint format: its dtypes, tensor descriptions and writer.
/// Read files with ``SafeTensorsFile``.
public enum SafeTensors {
  /// The format's limit on the header size.
  static let maximumHeaderByteCount = 100_000_000

  /// Where one tensor is in a file and how to read it.
  public struct TensorInfo: Equatable, Sendable {
    /// The element type.
    public var dtype: DType
    /// The size of each dimension, outermost first; `[]` for a scalar.
    public var shape: [Int]
    /// The tensor's bytes, relative to the start of the data buffer (the byte after the header).
    public var dataOffsets: Range<Int>
    /// The number of elements: the product of `shape` (1 for a scalar).
    public var elementCount: Int
  }
}

/// A safetensors file opened for reading, memory-mapped.
///
/// Opening reads and validates the header only. Each ``tensor(named:)`` call
/// converts one tensor into a new `Tensor` and then gives the pages it read
/// back to the kernel, so reading every tensor of a file needs little resident
/// memory beyond the tensors themselves. The mapping is private and
/// read-only; it lasts as long as any copy of this value. As with any memory
/// mapping, truncating the file while it is open makes later reads fault.
public struct SafeTensorsFile: Sendable {
  /// The file.
  public let url: URL
  /// The tensor names, in the order of their data in the file.
  public let names: [String]
  /// The free-form `__metadata__` of the header; empty when it has none.
  public let metadata: [String: String]

  private let infos: [SafeTensors.TensorInfo]  // parallel to `names`
  private let index: [[UInt8]: Int]  // UTF-8 name → position in `names`
  private let mapping: MappedFile
  private let dataStart: Int  // 8 + N

  /// Maps the file and validates its header.
  /// - Throws: `SafeTensorsError` naming the file, the tensor if any, and the problem.
  public init(contentsOf url: URL) throws(SafeTensorsError) {
    let path = url.path
    let mapping = try MappedFile(path: path)
    let fileByteCount = mapping.byteCount
    guard fileByteCount >= 8, let base = mapping.base else {
      throw SafeTensorsError(path: path, reason: .fileTooShort(byteCount: fileByteCount))
    }
    let headerByteCount = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
    guard headerByteCount <= UInt64(SafeTensors.maximumHeaderByteCount) else {
      throw SafeTensorsError(path: path, reason: .headerTooLarge(byteCount: headerByteCount))
    }
    guard headerByteCount <= UInt64(fileByteCount - 8) else {
      throw SafeTensorsError(
        path: path,
        reason: .headerPastEnd(headerByteCount: headerByteCount, fileByteCount: fileByteCount))
    }
    let dataStart = 8 + Int(headerByteCount)
    let header = try Header(
      UnsafeRawBufferPointer(start: base + 8, count: Int(headerByteCount)),
      bufferByteCount: fileByteCount - dataStart, path: path)

    self.url = url
    self.mapping = mapping
    self.dataStart = dataStart
    self.names = header.names
    self.infos = header.infos
    self.metadata = header.metadata
    var index: [[UInt8]: Int] = [:]
    for (position, name) in header.names.enumerated() { index[Array(name.utf8)] = position }
    self.index = index
  }

  /// Where the tensor `name` is and how it is stored, or `nil` if the file has no such tensor.
  public func info(for name: String) -> SafeTensors.TensorInfo? {
    index[Array(name.utf8)].map { infos[$0] }
  }

  /// The tensor `name` as Float32, converted from F32, F16 or BF16.
  /// - Returns: a tensor of the stored shape.
  /// - Throws: `SafeTensorsError` if there is no such tensor or its dtype is another type.
  public func tensor(named name: String) throws(SafeTensorsError) -> Tensor {
    let info = try lookUp(name)
    guard [.f32, .f16, .bf16].contains(info.dtype) else {
      throw SafeTensorsError(
        path: url.path, tensor: name,
        reason: .unsupportedConversion(dtype: info.dtype, to: "Float32"))
    }
    let count = info.elementCount
    let source = mapping.base! + dataStart + info.dataOffsets.lowerBound
    let result = Tensor(uninitializedShape: info.shape)
    let target = result.storage.pointer
    switch info.dtype {
    case .f32:
      #if _endian(little)
        UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: count * 4)
      #else
        for i in 0..<count {
          target[i] = Float(
            bitPattern: UInt32(
              littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        }
      #endif
    case .f16:
      Parallel.forEachChunk(count, minimumChunk: 1 << 16) { range in
        for i in range {
          let bits = UInt16(
            littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
          target[i] = HalfConversion.float(fromHalfBits: bits)
        }
      }
    default:  // .bf16
      Parallel.forEachChunk(count, minimumChunk: 1 << 16) { range in
        for i in range {
          let bits = UInt16(
            littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
          target[i] = HalfConversion.float(fromBFloat16Bits: bits)
        }
      }
    }
    mapping.releasePages(
      dataStart + info.dataOffsets.lowerBound, dataStart + info.dataOffsets.upperBound)
    return result
  }

  /// The I8 tensor `name`'s values, in row-major order; its shape is
  /// `info(for: name)!.shape`. A quantized weight is read this way, without
  /// passing through Float32.
  /// - Throws: `SafeTensorsError` if there is no such tensor or its dtype is not I8.
  public func int8Values(named name: String) throws(SafeTensorsError) -> [Int8] {
    let info = try lookUp(name)
    guard info.dtype == .i8 else {
      throw SafeTensorsError(
        path: url.path, tensor: name, reason: .unsupportedConversion(dtype: info.dtype, to: "Int8"))
    }
    guard info.elementCount > 0 else { return [] }
    let source = mapping.base! + dataStart + info.dataOffsets.lowerBound
    let values = [Int8](unsafeUninitializedCapacity: info.elementCount) { buffer, count in
      UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(
        from: source, byteCount: info.elementCount)
      count = info.elementCount
    }
    mapping.releasePages(
      dataStart + info.dataOffsets.lowerBound, dataStart + info.dataOffsets.upperBound)
    return values
  }

  /// The integer tensor `name` (I8, I16, I32, I64, U8, U16, U32 or U64) as `Int`s,
  /// in row-major order; its shape is `info(for: name)!.shape`.
  /// - Throws: `SafeTensorsError` if there is no such tensor, its dtype is not an
  ///   integer type, or a U64 value does not fit in `Int`.
  public func integers(named name: String) throws(SafeTensorsError) -> [Int] {
    let info = try lookUp(name)
    let source = mapping.base! + dataStart + info.dataOffsets.lowerBound
    let count = info.elementCount
    func load<T: FixedWidthInteger>(_: T.Type) -> [Int] {
      let stride = MemoryLayout<T>.size
      return (0..<count).map { i in
        Int(
          truncatingIfNeeded: T(
            littleEndian: source.loadUnaligned(fromByteOffset: stride * i, as: T.self)))
      }
    }
    switch info.dtype {
    case .i8: return load(Int8.self)
    case .i16: return load(Int16.self)
    case .i32: return load(Int32.self)
    case .i64: return load(Int64.self)
    case .u8: return load(UInt8.self)
    case .u16: return load(UInt16.self)
    case .u32: return load(UInt32.self)
    case .u64:
      var values = [Int](repeating: 0, count: count)
      for i in 0..<count {
        let value = UInt64(
          littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
        guard let exact = Int(exactly: value) else {
          throw SafeTensorsError(
            path: url.path, tensor: name, reason: .integerOutOfRange("the U64 value \(value)"))
        }
        values[i] = exact
      }
      return values
    default:
      throw SafeTensorsError(
        path: url.path, tensor: name, reason: .unsupportedConversion(dtype: info.dtype, to: "Int"))
    }
  }

  /// The stored bytes of the tensor `name`, read in place from the mapping
  /// (little-endian, in its stored dtype), without a copy. The pointer stays
  /// valid as long as this value or a copy of it lives. Its pages are read on
  /// demand, so a dense index of any size opens at once.
  /// - Throws: `SafeTensorsError` if there is no such tensor.
  public func rawBytes(named name: String) throws(SafeTensorsError) -> UnsafeRawBufferPointer {
    let info = try lookUp(name)
    guard info.dataOffsets.count > 0, let base = mapping.base else {
      return UnsafeRawBufferPointer(start: nil, count: 0)
    }
    return UnsafeRawBufferPointer(
      start: base + dataStart + info.dataOffsets.lowerBound, count: info.dataOffsets.count)
  }

  private func lookUp(_ name: String) throws(SafeTensorsError) -> SafeTensors.TensorInfo {
    guard let info = info(for: name) else {
      throw SafeTensorsError(
        path: url.path, tensor: name, reason: .tensorNotFound(available: names))
    }
    return info
  }
}

// MARK: - The mapping

/// A whole file mapped read-only and private; unmapped when released.
private final class MappedFile: @unchecked Sendable {
  /// The first byte, or `nil` for an empty file (which cannot be mapped).
  let base: UnsafeRawPointer?
  /// The file's size in bytes.
  let byteCount: Int
  private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

  init(path: String) throws(SafeTensorsError) {
    func failure(_ call: String) -> SafeTensorsError {
      SafeTensorsError(
        path: path, reason: .systemCall(call, message: String(cString: strerror(errno))))
    }
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw failure("open") }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else { throw failure("fstat") }
    guard (status.st_mode & S_IFMT) == S_IFREG else {
      throw SafeTensorsError(path: path, reason: .notARegularFile)
    }
    byteCount = Int(status.st_size)
    guard byteCount > 0 else {
      base = nil
      return
    }
    guard let address = mmap(nil, byteCount, PROT_READ, MAP_PRIVATE, descriptor, 0),
      address != MAP_FAILED
    else { throw failure("mmap") }
    base = UnsafeRawPointer(address)
  }

  deinit {
    if let base { munmap(UnsafeMutableRawPointer(mutating: base), byteCount) }
  }

  /// Drops the pages covering bytes `[start, end)` from this process's resident
  /// set. The mapping is private, read-only and never written, so every page is
  /// a clean copy of the file: a later read faults it back in from the page cache.
  func releasePages(_ start: Int, _ end: Int) {
    guard let base, end > start else { return }
    let pageStart = start / MappedFile.pageSize * MappedFile.pageSize
    let pageEnd = min(byteCount, end)
    _ = madvise(
      UnsafeMutableRawPointer(mutating: base + pageStart), pageEnd - pageStart, MADV_DONTNEED)
  }
}

// MARK: - The header

/// A validated header: tensors in data order, and the metadata.
private struct Header {
  var names: [String] = []
  var infos: [SafeTensors.TensorInfo] = []
  var metadata: [String: String] = [:]

  /// Parses and validates `bytes`, the header of a file whose data buffer has
  /// `bufferByteCount` bytes.
  init(_ bytes: UnsafeRawBufferPointer, bufferByteCount: Int, path: String)
    throws(SafeTensorsError)
  {
    func fail(_ reason: SafeTensorsError.Reason, tensor: String? = nil) -> SafeTensorsError {
      SafeTensorsError(path: path, tensor: tensor, reason: reason)
    }

    // UTF-8, then JSON, then an object that starts at byte 0, padded only with spaces.
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    var offset = 0
    decoding: while true {
      switch decoder.decode(&iterator) {
      case .scalarValue(let scalar): offset += UTF8.width(scalar)
      case .emptyInput: break decoding
      case .error: throw fail(.headerNotUTF8(byteOffset: offset))
      }
    }
    var parser = JSONParser(bytes: bytes)
    let root: StrictJSON
    do {
      root = try parser.parseValue()
    } catch {
      switch error {
      case .syntax(let message): throw fail(.headerNotJSON(message))
      case .duplicateKey(let key): throw fail(.duplicateKey(key))
      }
    }
    for position in parser.position..<bytes.count where bytes[position] != 0x20 {
      throw fail(
        .headerNotJSON(
          "byte \(position) after the JSON object is not a space (0x20), the only padding allowed"))
    }
    guard bytes.first == UInt8(ascii: "{"), case .object(let members) = root else {
      throw fail(.headerNotObject)
    }

    // Each entry on its own: fields, dtype, shape, sizes, offsets within the buffer.
    var entries: [(name: String, info: SafeTensors.TensorInfo)] = []
    for (key, value) in members {
      if key.utf8.elementsEqual("__metadata__".utf8) {
        metadata = try Header.metadata(value, path: path)
        continue
      }
      let info = try Header.tensorInfo(value, bufferByteCount: bufferByteCount) {
        fail($0, tensor: key)
      }
      entries.append((key, info))
    }

    // Together: sorted by offsets, the tensors cover the buffer with no hole or overlap.
    let order = entries.indices.sorted {
      let (a, b) = (entries[$0].info.dataOffsets, entries[$1].info.dataOffsets)
      return (a.lowerBound, a.upperBound, $0) < (b.lowerBound, b.upperBound, $1)
    }
    var previousEnd = 0
    var previousName = ""
    for position in order {
      let (name, info) = entries[position]
      let begin = info.dataOffsets.lowerBound
      if begin < previousEnd {
        throw fail(
          .overlap(previous: previousName, previousEnd: previousEnd, begin: begin), tensor: name)
      }
      if begin > previousEnd {
        throw fail(.gap(previousEnd: previousEnd, begin: begin), tensor: name)
      }
      if !info.dataOffsets.isEmpty {
        previousEnd = info.dataOffsets.upperBound
        previousName = name
      }
      names.append(name)
      infos.append(info)
    }
    if previousEnd != bufferByteCount {
      throw fail(.trailingBytes(usedByteCount: previousEnd, bufferByteCount: bufferByteCount))
    }
  }

  /// `__metadata__`: an object of strings (or null, as serde reads an absent option).
  private static func metadata(_ value: StrictJSON, path: String) throws(SafeTensorsError)
    -> [String: String]
  {
    func fail(_ detail: String) -> SafeTensorsError {
      SafeTensorsError(path: path, reason: .invalidField(detail))
    }
    switch value {
    case .null:
      return [:]
    case .object(let members):
      var result: [String: String] = [:]
      for (key, value) in members {
        guard case .string(let text) = value else {
          throw fail("__metadata__ value of \"\(key)\" is \(value.typeName), not a string")
        }
        result[key] = text
      }
      return result
    default:
      throw fail("__metadata__ is \(value.typeName), not an object of strings")
    }
  }

  /// One tensor's entry: `{"dtype": String, "shape": [Int], "data_offsets": [Int, Int]}`.
  /// Other fields are ignored, as the reference implementation ignores them.
  private static func tensorInfo(
    _ value: StrictJSON, bufferByteCount: Int,
    fail: (SafeTensorsError.Reason) -> SafeTensorsError
  ) throws(SafeTensorsError) -> SafeTensors.TensorInfo {
    guard case .object(let fields) = value else {
      throw fail(.invalidField("the entry is \(value.typeName), not an object"))
    }
    var dtypeValue: StrictJSON?
    var shapeValue: StrictJSON?
    var offsetsValue: StrictJSON?
    for (field, value) in fields {
      switch field {
      case "dtype": dtypeValue = value
      case "shape": shapeValue = value
      case "data_offsets": offsetsValue = value
      default: continue
      }
    }

    guard let dtypeValue else { throw fail(.invalidField("the entry has no \"dtype\" field")) }
    guard case .string(let dtypeName) = dtypeValue else {
      throw fail(.invalidField("\"dtype\" is \(dtypeValue.typeName), not a string"))
    }
    guard let dtype = SafeTensors.DType(rawValue: dtypeName) else {
      throw fail(.unknownDType(dtypeName))
    }

    guard let shapeValue else { throw fail(.invalidField("the entry has no \"shape\" field")) }
    guard case .array(let dimensions) = shapeValue else {
      throw fail(.invalidShape("it is \(shapeValue.typeName), not an array"))
    }
    var shape: [Int] = []
    for (axis, dimension) in dimensions.enumerated() {
      guard let size = dimension.nonNegativeInteger else {
        let shown: String
        if case .number(let text) = dimension { shown = text } else { shown = dimension.typeName }
        throw fail(.invalidShape("dimension \(axis) is \(shown), not a non-negative integer"))
      }
      shape.append(size)
    }

    guard let offsetsValue else {
      throw fail(.invalidField("the entry has no \"data_offsets\" field"))
    }
    guard case .array(let offsets) = offsetsValue, offsets.count == 2,
      let begin = offsets[0].nonNegativeInteger, let end = offsets[1].nonNegativeInteger
    else {
      throw fail(.invalidField("\"data_offsets\" is not two non-negative integers [begin, end]"))
    }

    let byteCount: Int
    let elementCount: Int
    switch dtype.byteCount(shape: shape) {
    case .overflow: throw fail(.sizeOverflow(shape: shape))
    case .partialByte: throw fail(.partialByte(shape: shape, dtype: dtype))
    case .bytes(let bytes, let elements): (byteCount, elementCount) = (bytes, elements)
    }
    guard begin <= end else { throw fail(.offsetsReversed(begin: begin, end: end)) }
    guard end - begin == byteCount else {
      throw fail(.byteLengthMismatch(expected: byteCount, actual: end - begin))
    }
    guard end <= bufferByteCount else {
      throw fail(.offsetsOutOfRange(end: end, bufferByteCount: bufferByteCount))
    }
    return SafeTensors.TensorInfo(
      dtype: dtype, shape: shape, dataOffsets: begin..<end, elementCount: elementCount)
  }
}
