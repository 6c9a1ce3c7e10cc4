// The element types of the safetensors format, and conversion of the 16-bit
// float types (F16, BF16) to Float32.

extension SafeTensors {
  /// An element type of the safetensors format, spelled as in the header.
  ///
  /// The cases are declared in the order of the reference implementation's
  /// `Dtype` enum, which is increasing alignment: its writer lays tensors out by
  /// this order, largest first.
  public enum DType: String, CaseIterable, Sendable {
    case bool = "BOOL"
    case f4 = "F4"
    case f6E2M3 = "F6_E2M3"
    case f6E3M2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    case f8E8M0 = "F8_E8M0"
    case f8E4M3FNUZ = "F8_E4M3FNUZ"
    case f8E5M2FNUZ = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// The size of one element in bits (4 and 6 for the sub-byte float types).
    public var bitSize: Int {
      switch self {
      case .f4: return 4
      case .f6E2M3, .f6E3M2: return 6
      case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: return 8
      case .i16, .u16, .f16, .bf16: return 16
      case .i32, .u32, .f32: return 32
      case .c64, .f64, .i64, .u64: return 64
      }
    }

    /// The position in the reference implementation's order; the writer puts
    /// higher ranks first.
    var layoutRank: Int { DType.allCases.firstIndex(of: self)! }

    /// The number of bytes that `shape` occupies, or `nil` if the element count
    /// or the bit count overflows. Throws nothing: callers report the failure.
    func byteCount(shape: [Int]) -> ByteCount {
      var elements = 1
      for dimension in shape {
        let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
        if overflow { return .overflow }
        elements = product
      }
      let (bits, overflow) = elements.multipliedReportingOverflow(by: bitSize)
      if overflow { return .overflow }
      if bits % 8 != 0 { return .partialByte }
      return .bytes(bits / 8, elements: elements)
    }

    /// The outcome of ``byteCount(shape:)``.
    enum ByteCount: Equatable {
      case bytes(Int, elements: Int)
      case overflow
      case partialByte
    }
  }
}

// MARK: - 16-bit float conversion

enum HalfConversion {
  /// The Float32 value of an IEEE 754 binary16 bit pattern, through the
  /// standard library's `Float16` where the platform has it.
  @inline(__always)
  static func float(fromHalfBits bits: UInt16) -> Float {
    #if os(macOS) && arch(x86_64)
      return floatByBits(fromHalfBits: bits)
    #else
      return Float(Float16(bitPattern: bits))
    #endif
  }

  /// The Float32 value of an IEEE 754 binary16 bit pattern, by bit
  /// manipulation: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Exact for
  /// every input, including subnormals, infinities and NaN payloads.
  static func floatByBits(fromHalfBits bits: UInt16) -> Float {
    let sign = UInt32(bits & 0x8000) << 16
    let exponent = UInt32(bits >> 10) & 0x1F
    let mantissa = UInt32(bits & 0x03FF)
    switch exponent {
    case 0x1F:  // infinity or NaN: keep the payload
      return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    case 0:  // zero or subnormal: mantissa × 2⁻²⁴, exact in Float32
      let magnitude = Float(mantissa) * 0x1p-24
      return sign == 0 ? magnitude : -magnitude
    default:  // normal: rebias the exponent from 15 to 127
      return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }
  }

  /// The Float32 value of a bfloat16 bit pattern: the upper half of a Float32.
  @inline(__always)
  static func float(fromBFloat16Bits bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
  }
}
