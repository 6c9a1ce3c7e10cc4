// SafeTensorsError: every way reading or writing a safetensors file can fail.

/// An error reading or writing a safetensors file. It names the file, the tensor
/// when one is involved, and the problem.
public struct SafeTensorsError: Error, Equatable, Sendable {
  /// The path of the file being read or written.
  public var path: String
  /// The tensor involved, if any.
  public var tensor: String?
  /// What went wrong.
  public var reason: Reason

  /// Makes an error about `path` and, optionally, one of its tensors.
  public init(path: String, tensor: String? = nil, reason: Reason) {
    self.path = path
    self.tensor = tensor
    self.reason = reason
  }

  /// The problems a safetensors file or a write can have.
  public enum Reason: Equatable, Sendable {
    // MARK: Opening the file

    /// A system call failed (`open`, `fstat`, `mmap`...), with `strerror`'s message.
    case systemCall(String, message: String)
    /// The path names a directory or another file that is not a regular file.
    case notARegularFile

    // MARK: The header

    /// The file is shorter than the 8-byte header size.
    case fileTooShort(byteCount: Int)
    /// The header size is over the 100,000,000-byte limit of the format.
    case headerTooLarge(byteCount: UInt64)
    /// The header size points past the end of the file.
    case headerPastEnd(headerByteCount: UInt64, fileByteCount: Int)
    /// The header is not valid UTF-8.
    case headerNotUTF8(byteOffset: Int)
    /// The header is not valid JSON; the text says where and why.
    case headerNotJSON(String)
    /// The header is JSON but not an object starting at its first byte.
    case headerNotObject
    /// A key appears twice in one JSON object.
    case duplicateKey(String)
    /// A field is missing or has the wrong JSON type; the text says which.
    case invalidField(String)
    /// The `dtype` string is not one the format defines.
    case unknownDType(String)
    /// A shape entry is not a non-negative integer.
    case invalidShape(String)
    /// The element count or byte size of the shape overflows.
    case sizeOverflow(shape: [Int])
    /// The shape describes a number of bits that is not whole bytes (4- and 6-bit dtypes).
    case partialByte(shape: [Int], dtype: SafeTensors.DType)
    /// `data_offsets` give a byte length that is not shape × dtype size.
    case byteLengthMismatch(expected: Int, actual: Int)
    /// `data_offsets` have `begin > end`.
    case offsetsReversed(begin: Int, end: Int)
    /// `data_offsets` reach past the end of the data buffer.
    case offsetsOutOfRange(end: Int, bufferByteCount: Int)
    /// A tensor starts before the previous one (in offset order) ends.
    case overlap(previous: String, previousEnd: Int, begin: Int)
    /// Bytes between the previous tensor's end (or the buffer's start) and this tensor.
    case gap(previousEnd: Int, begin: Int)
    /// The data buffer has bytes after the last tensor.
    case trailingBytes(usedByteCount: Int, bufferByteCount: Int)

    // MARK: Reading tensors

    /// No tensor has this name; a few names that exist.
    case tensorNotFound(available: [String])
    /// The tensor's dtype cannot be converted to what was asked for (`Float32`, `Int`).
    case unsupportedConversion(dtype: SafeTensors.DType, to: String)
    /// An integer does not fit in `Int`.
    case integerOutOfRange(String)

    // MARK: Writing

    /// A tensor name the format cannot hold (`__metadata__`).
    case reservedTensorName
    /// Two tensors with the same name.
    case duplicateTensorName
    /// An integer entry whose value count does not match its shape.
    case shapeMismatch(shape: [Int], valueCount: Int)
    /// Writing failed at a step; the text says which step and why.
    case writeFailed(String)
  }
}

extension SafeTensorsError: CustomStringConvertible {
  public var description: String {
    var subject = "safetensors file \(path)"
    if let tensor { subject += ", tensor \"\(tensor)\"" }
    return "\(subject): \(reason.sentence)"
  }
}

extension SafeTensorsError.Reason {
  /// The problem as a sentence.
  var sentence: String {
    switch self {
    case .systemCall(let call, let message):
      return "\(call) failed: \(message)."
    case .notARegularFile:
      return "the path is not a regular file."
    case .fileTooShort(let byteCount):
      return "the file has \(byteCount) bytes, fewer than the 8-byte header size."
    case .headerTooLarge(let byteCount):
      return "the header size \(byteCount) is over the format's limit of 100,000,000 bytes."
    case .headerPastEnd(let headerByteCount, let fileByteCount):
      return
        "the header size \(headerByteCount) reaches past the end of the file "
        + "(\(fileByteCount) bytes)."
    case .headerNotUTF8(let byteOffset):
      return "the header is not valid UTF-8 (at header byte \(byteOffset))."
    case .headerNotJSON(let detail):
      return "the header is not valid JSON: \(detail)."
    case .headerNotObject:
      return "the header is not a JSON object beginning with '{' at its first byte."
    case .duplicateKey(let key):
      return "the header has the key \"\(key)\" more than once in the same object."
    case .invalidField(let detail):
      return "\(detail)."
    case .unknownDType(let name):
      return "the dtype \"\(name)\" is not a safetensors dtype."
    case .invalidShape(let detail):
      return "the shape is invalid: \(detail)."
    case .sizeOverflow(let shape):
      return "the size of shape \(shape) overflows."
    case .partialByte(let shape, let dtype):
      return "shape \(shape) of \(dtype.rawValue) does not fill a whole number of bytes."
    case .byteLengthMismatch(let expected, let actual):
      return
        "data_offsets span \(actual) bytes, but shape × dtype size is \(expected) bytes."
    case .offsetsReversed(let begin, let end):
      return "data_offsets [\(begin), \(end)] begin after they end."
    case .offsetsOutOfRange(let end, let bufferByteCount):
      return
        "data_offsets end at \(end), past the end of the data buffer "
        + "(\(bufferByteCount) bytes)."
    case .overlap(let previous, let previousEnd, let begin):
      return
        "data begins at \(begin), inside tensor \"\(previous)\", which ends at \(previousEnd)."
    case .gap(let previousEnd, let begin):
      return
        "data begins at \(begin), leaving unused bytes after offset \(previousEnd); "
        + "tensors must cover the data buffer without holes."
    case .trailingBytes(let usedByteCount, let bufferByteCount):
      return
        "the tensors cover \(usedByteCount) bytes of a \(bufferByteCount)-byte data buffer; "
        + "the rest is unused."
    case .tensorNotFound(let available):
      let shown = available.prefix(5).map { "\"\($0)\"" }.joined(separator: ", ")
      let more = available.count > 5 ? ", … (\(available.count) in all)" : ""
      return available.isEmpty
        ? "no such tensor; the file holds no tensors."
        : "no such tensor; the file holds \(shown)\(more)."
    case .unsupportedConversion(let dtype, let target):
      return "the tensor's dtype is \(dtype.rawValue), which cannot be read as \(target)."
    case .integerOutOfRange(let detail):
      return "\(detail) does not fit in Int."
    case .reservedTensorName:
      return "\"__metadata__\" is reserved for the metadata and cannot name a tensor."
    case .duplicateTensorName:
      return "two tensors have this name."
    case .shapeMismatch(let shape, let valueCount):
      return "shape \(shape) does not hold \(valueCount) values."
    case .writeFailed(let detail):
      return "\(detail)."
    }
  }
}
