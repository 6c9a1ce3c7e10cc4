import Foundation
import Testing

@testable import BERT

/// A fresh directory for one test, removed when the test ends.
private final class ScratchDirectory {
  let url: URL

  init() throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "safetensors-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  func file(_ name: String) -> URL { url.appendingPathComponent(name) }

  /// Every entry of the directory, hidden ones included.
  func contents() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
  }

  /// Writes a crafted safetensors file: the header size (by default the
  /// header's length), the header, then `data`.
  @discardableResult
  func craft(
    _ name: String = "crafted.safetensors", header: String, data: [UInt8] = [],
    headerSize: UInt64? = nil
  ) throws -> URL {
    let headerBytes = Array(header.utf8)
    return try craft(name, headerBytes: headerBytes, data: data, headerSize: headerSize)
  }

  @discardableResult
  func craft(
    _ name: String = "crafted.safetensors", headerBytes: [UInt8], data: [UInt8] = [],
    headerSize: UInt64? = nil
  ) throws -> URL {
    let size = headerSize ?? UInt64(headerBytes.count)
    let bytes = withUnsafeBytes(of: size.littleEndian) { Array($0) } + headerBytes + data
    let url = file(name)
    try Data(bytes).write(to: url)
    return url
  }
}

/// The little-endian bytes of some Float32 values.
private func bytes(_ values: [Float]) -> [UInt8] {
  values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

/// The little-endian bytes of some 16-bit patterns.
private func bytes(_ patterns: [UInt16]) -> [UInt8] {
  patterns.flatMap { pattern in withUnsafeBytes(of: pattern.littleEndian) { Array($0) } }
}

@Suite struct SafeTensorsTests {
  // MARK: - Round trips

  @Test func roundTripKeepsShapesValuesAndMetadata() throws {
    let scratch = try ScratchDirectory()
    let url = scratch.file("model.safetensors")
    let matrix = Tensor(shape: [2, 3], scalars: [1, -2, 3.5, 0, .infinity, -0.0])
    let scalar = Tensor(7.25)
    let empty = Tensor(zeros: [0, 4])
    var generator = SeededGenerator(seed: 11)
    let cube = Tensor.randomNormal(shape: [3, 4, 5], generator: &generator)
    let vector = Tensor(shape: [5], scalars: [.nan, 0x1p-133, .greatestFiniteMagnitude, -1, 0])
    try SafeTensors.write(
      entries: [
        ("encoder.weight", .float32(matrix)),
        ("scalar", .float32(scalar)),
        ("empty", .float32(empty)),
        ("cube", .float32(cube)),
        ("vector", .float32(vector)),
        ("position_ids", .int64([0, 1, 2, -3, Int(Int64.max)], shape: [1, 5])),
      ],
      metadata: ["format": "pt", "note": "a \"quoted\"\nline é"], to: url)

    let file = try SafeTensorsFile(contentsOf: url)
    // The reference writer's order: I64 before F32, then names by byte.
    #expect(file.names == ["position_ids", "cube", "empty", "encoder.weight", "scalar", "vector"])
    #expect(file.metadata == ["format": "pt", "note": "a \"quoted\"\nline é"])
    for (name, expected) in [
      ("encoder.weight", matrix), ("scalar", scalar), ("empty", empty), ("cube", cube),
      ("vector", vector),
    ] {
      let actual = try file.tensor(named: name)
      #expect(actual.shape == expected.shape, "\(name)")
      #expect(
        actual.scalars.map(\.bitPattern) == expected.scalars.map(\.bitPattern),
        "\(name): values differ bit for bit")
      #expect(file.info(for: name)?.dtype == .f32)
    }
    #expect(file.info(for: "empty")?.dataOffsets.count == 0)
    #expect(file.info(for: "scalar")?.shape == [])
    #expect(file.info(for: "position_ids")?.shape == [1, 5])
    #expect(try file.integers(named: "position_ids") == [0, 1, 2, -3, Int(Int64.max)])
    // Every tensor starts 8-byte aligned in the file (8 + N is a multiple of 8).
    let data = try Data(contentsOf: url)
    let headerSize = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    #expect(headerSize % 8 == 0)
    for name in file.names {
      #expect(file.info(for: name)!.dataOffsets.lowerBound % 4 == 0)
    }
  }

  /// The bytes the reference writer produced for the same tensors, made with
  /// safetensors 0.8.0 and torch 2.15:
  ///
  ///     save_file({"b": torch.tensor([1.5, -2.0]), "pos": torch.arange(3),
  ///                "e": torch.zeros(0, 4), "s": torch.tensor(3.0),
  ///                "z": torch.tensor([0.25]), "ü/\"x\n": torch.tensor([1.0])},
  ///               path, metadata={"format": "pt"})
  static let referenceFile =
    "eAEAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmb3JtYXQiOiJwdCJ9LCJwb3MiOnsiZHR5cGUiOiJJNjQiLCJzaGFwZSI6"
    + "WzNdLCJkYXRhX29mZnNldHMiOlswLDI0XX0sImIiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzJdLCJkYXRhX29mZnN"
    + "ldHMiOlsyNCwzMl19LCJlIjp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlswLDRdLCJkYXRhX29mZnNldHMiOlszMiwzMl"
    + "19LCJzIjp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOltdLCJkYXRhX29mZnNldHMiOlszMiwzNl19LCJ6Ijp7ImR0eXBlI"
    + "joiRjMyIiwic2hhcGUiOlsxXSwiZGF0YV9vZmZzZXRzIjpbMzYsNDBdfSwiw7wvXCJ4XG4iOnsiZHR5cGUiOiJGMzIi"
    + "LCJzaGFwZSI6WzFdLCJkYXRhX29mZnNldHMiOls0MCw0NF19fSAgICAgAAAAAAAAAAABAAAAAAAAAAIAAAAAAAAAAAD"
    + "APwAAAMAAAEBAAACAPgAAgD8="

  @Test func writerMatchesTheReferenceWriterByteForByte() throws {
    let scratch = try ScratchDirectory()
    let url = scratch.file("same.safetensors")
    try SafeTensors.write(
      entries: [
        ("b", .float32(Tensor(shape: [2], scalars: [1.5, -2.0]))),
        ("pos", .int64([0, 1, 2], shape: [3])),
        ("e", .float32(Tensor(zeros: [0, 4]))),
        ("s", .float32(Tensor(3.0))),
        ("z", .float32(Tensor(shape: [1], scalars: [0.25]))),
        ("ü/\"x\n", .float32(Tensor(shape: [1], scalars: [1.0]))),
      ],
      metadata: ["format": "pt"], to: url)
    let written = try Data(contentsOf: url)
    let reference = try #require(Data(base64Encoded: SafeTensorsTests.referenceFile))
    #expect(written == reference)

    // And the reference file reads back as written.
    let referenceURL = scratch.file("reference.safetensors")
    try reference.write(to: referenceURL)
    let file = try SafeTensorsFile(contentsOf: referenceURL)
    #expect(file.names == ["pos", "b", "e", "s", "z", "ü/\"x\n"])
    #expect(try file.tensor(named: "b").scalars == [1.5, -2.0])
    #expect(try file.tensor(named: "ü/\"x\n").scalars == [1.0])
    #expect(try file.integers(named: "pos") == [0, 1, 2])
  }

  // MARK: - 16-bit floats

  /// Binary16 patterns and their values, worked out by hand from
  /// (-1)^s · 2^(e-15) · 1.m, or 2^-14 · 0.m for subnormals.
  static let halfCases: [(bits: UInt16, value: Float)] = [
    (0x3C00, 1.0),
    (0xC000, -2.0),
    (0x7BFF, 65504.0),  // largest finite: 2^15 · (2 - 2^-10)
    (0x0001, 0x1p-24),  // smallest subnormal: 2^-14 · 2^-10
    (0x03FF, 1023 * 0x1p-24),  // largest subnormal
    (0x0400, 0x1p-14),  // smallest normal
    (0x3555, 0x1.554p-2),  // 1/3 rounded: 2^-2 · (1 + 0x155/1024)
    (0x8000, -0.0),
    (0x7C00, .infinity),
    (0xFC00, -.infinity),
  ]

  @Test func halfBitPatternsConvertExactly() {
    for (bits, value) in SafeTensorsTests.halfCases {
      let byBits = HalfConversion.floatByBits(fromHalfBits: bits)
      let native = HalfConversion.float(fromHalfBits: bits)
      #expect(byBits.bitPattern == value.bitPattern, "0x\(String(bits, radix: 16)) by bits")
      #expect(native.bitPattern == value.bitPattern, "0x\(String(bits, radix: 16))")
    }
    let nan = HalfConversion.floatByBits(fromHalfBits: 0x7E01)
    #expect(nan.isNaN && nan.bitPattern == 0x7FC0_2000, "the NaN payload is kept")
  }

  @Test func bitManipulationAgreesWithFloat16OnEveryPattern() {
    #if os(macOS) && arch(x86_64)
      // Float16 is unavailable here; the hand-worked cases above cover the conversion.
    #else
      for bits in UInt16.min...UInt16.max {
        let expected = Float(Float16(bitPattern: bits))
        let actual = HalfConversion.floatByBits(fromHalfBits: bits)
        if expected.isNaN {
          #expect(actual.isNaN, "0x\(String(bits, radix: 16))")
        } else if actual.bitPattern != expected.bitPattern {
          Issue.record("0x\(String(bits, radix: 16)): \(actual) ≠ \(expected)")
          return
        }
      }
    #endif
  }

  @Test func bfloat16BitPatternsConvertExactly() {
    let cases: [(UInt16, Float)] = [
      (0x3F80, 1.0), (0xC000, -2.0), (0x4049, 3.140625), (0x7F7F, 0x1.FEp127),
      (0x0001, 0x1p-133), (0x8000, -0.0), (0xFF80, -.infinity),
    ]
    for (bits, value) in cases {
      #expect(
        HalfConversion.float(fromBFloat16Bits: bits).bitPattern == value.bitPattern,
        "0x\(String(bits, radix: 16))")
    }
  }

  @Test func halfAndBFloat16TensorsReadAsFloat32() throws {
    let scratch = try ScratchDirectory()
    let halves = SafeTensorsTests.halfCases.map(\.bits)  // 10 values
    let brains: [UInt16] = [0x3F80, 0xC000, 0x4049]
    // Odd header length on purpose: the data are not aligned in memory.
    let header =
      #"{"h":{"dtype":"F16","shape":[2,5],"data_offsets":[0,20]},"#
      + #""g":{"dtype":"BF16","shape":[3],"data_offsets":[20,26]}}"#
    #expect(header.utf8.count % 2 == 1)
    let url = try scratch.craft(header: header, data: bytes(halves) + bytes(brains))
    let file = try SafeTensorsFile(contentsOf: url)
    let h = try file.tensor(named: "h")
    #expect(h.shape == [2, 5])
    #expect(h.scalars.map(\.bitPattern) == SafeTensorsTests.halfCases.map(\.value.bitPattern))
    let g = try file.tensor(named: "g")
    #expect(g.scalars == [1.0, -2.0, 3.140625])
  }

  @Test func largeHalfTensorConvertsOnEveryThread() throws {
    // Big enough to be split across threads.
    let scratch = try ScratchDirectory()
    let count = 300_000
    let patterns = (0..<count).map { UInt16(truncatingIfNeeded: $0 &* 7) & 0x7BFF }
    let header = #"{"x":{"dtype":"F16","shape":[\#(count)],"data_offsets":[0,\#(2 * count)]}}"#
    let url = try scratch.craft(header: header, data: bytes(patterns))
    let x = try SafeTensorsFile(contentsOf: url).tensor(named: "x")
    let expected = patterns.map { HalfConversion.floatByBits(fromHalfBits: $0).bitPattern }
    #expect(x.scalars.map(\.bitPattern) == expected)
  }

  // MARK: - Integers and dtype errors

  @Test func integerTensorsReadAsInt() throws {
    let scratch = try ScratchDirectory()
    let i64 = [Int64(0), 511, -5].flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    let i32 = [Int32(-1), 70_000].flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    let u8: [UInt8] = [255, 0, 7, 0]
    let header =
      #"{"position_ids":{"dtype":"I64","shape":[1,3],"data_offsets":[0,24]},"#
      + #""i":{"dtype":"I32","shape":[2],"data_offsets":[24,32]},"#
      + #""u":{"dtype":"U8","shape":[4],"data_offsets":[32,36]},"#
      + #""w":{"dtype":"F64","shape":[],"data_offsets":[36,44]}}"#
    let url = try scratch.craft(
      header: header, data: i64 + i32 + u8 + withUnsafeBytes(of: 2.5) { Array($0) })
    let file = try SafeTensorsFile(contentsOf: url)
    #expect(try file.integers(named: "position_ids") == [0, 511, -5])
    #expect(try file.integers(named: "i") == [-1, 70_000])
    #expect(try file.integers(named: "u") == [255, 0, 7, 0])

    let asFloat = #expect(throws: SafeTensorsError.self) {
      try file.tensor(named: "position_ids")
    }
    #expect(asFloat?.reason == .unsupportedConversion(dtype: .i64, to: "Float32"))
    #expect(asFloat?.description.contains("\"position_ids\"") == true)
    #expect(asFloat?.description.contains("I64") == true)
    let f64 = #expect(throws: SafeTensorsError.self) { try file.tensor(named: "w") }
    #expect(f64?.reason == .unsupportedConversion(dtype: .f64, to: "Float32"))
    let asInt = #expect(throws: SafeTensorsError.self) { try file.integers(named: "w") }
    #expect(asInt?.reason == .unsupportedConversion(dtype: .f64, to: "Int"))
  }

  @Test func missingTensorListsAvailableNames() throws {
    let scratch = try ScratchDirectory()
    var tensors: [(name: String, tensor: Tensor)] = []
    for i in 0..<7 { tensors.append(("layer.\(i)", Tensor(shape: [1], scalars: [Float(i)]))) }
    let url = scratch.file("seven.safetensors")
    try SafeTensors.write(tensors, to: url)
    let file = try SafeTensorsFile(contentsOf: url)
    #expect(file.info(for: "layer.9") == nil)
    let error = #expect(throws: SafeTensorsError.self) { try file.tensor(named: "layer.9") }
    #expect(error?.reason == .tensorNotFound(available: file.names))
    let message = error?.description ?? ""
    #expect(message.contains(url.path) && message.contains("\"layer.9\""))
    #expect(message.contains("\"layer.0\"") && message.contains("7 in all"))
  }

  // MARK: - Accepted edge cases

  @Test func acceptsWhatTheFormatAllows() throws {
    let scratch = try ScratchDirectory()
    // Entries out of offset order, an unknown extra field, escapes in names,
    // null metadata, space padding, a 4-bit dtype filling whole bytes.
    let header =
      #"{"__metadata__":null,"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8],"extra":[1]},"#
      + #""caf\u00e9\ud83d\ude00":{"shape":[1],"dtype":"F32","data_offsets":[0,4]},"#
      + #""q":{"dtype":"F4","shape":[2,3],"data_offsets":[8,11]},"#
      + #""f8":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[11,12]}}      "#
    let url = try scratch.craft(
      header: header, data: bytes([Float(3), Float(4)]) + [0x12, 0x34, 0x56, 0x78])
    let file = try SafeTensorsFile(contentsOf: url)
    #expect(file.names == ["café😀", "b", "q", "f8"])
    #expect(file.metadata.isEmpty)
    #expect(try file.tensor(named: "café😀").scalars == [3])
    #expect(try file.tensor(named: "b").scalars == [4])
    #expect(file.info(for: "q")?.dtype == .f4)
    #expect(file.info(for: "f8")?.dataOffsets == 11..<12)

    // No tensors at all.
    let emptyURL = try scratch.craft("empty.safetensors", header: "{}      ")
    let empty = try SafeTensorsFile(contentsOf: emptyURL)
    #expect(empty.names.isEmpty)
  }

  @Test func namesDifferingOnlyInNormalisationAreDistinct() throws {
    let scratch = try ScratchDirectory()
    // "é" precomposed and decomposed: equal as Swift strings, distinct keys in the format.
    let header =
      #"{"\u00e9":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
      + #""e\u0301":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
    let url = try scratch.craft(header: header, data: bytes([Float(1), Float(2)]))
    let file = try SafeTensorsFile(contentsOf: url)
    #expect(try file.tensor(named: "\u{E9}").scalars == [1])
    #expect(try file.tensor(named: "e\u{301}").scalars == [2])
  }

  // MARK: - Validation

  /// Opens a crafted file and checks the error's reason and that its message
  /// names the file and the tensor.
  private func expectRejected(
    _ url: URL, _ reason: SafeTensorsError.Reason, tensor: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let error = #expect(
      throws: SafeTensorsError.self, sourceLocation: sourceLocation
    ) { try SafeTensorsFile(contentsOf: url) }
    guard let error else { return }
    #expect(error.reason == reason, sourceLocation: sourceLocation)
    #expect(error.tensor == tensor, sourceLocation: sourceLocation)
    #expect(error.path == url.path, sourceLocation: sourceLocation)
    #expect(error.description.contains(url.path), sourceLocation: sourceLocation)
    if let tensor {
      #expect(error.description.contains("\"\(tensor)\""), sourceLocation: sourceLocation)
    }
  }

  private func expectNotJSON(
    _ url: URL, mentioning fragment: String, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let error = #expect(throws: SafeTensorsError.self, sourceLocation: sourceLocation) {
      try SafeTensorsFile(contentsOf: url)
    }
    guard case .headerNotJSON(let detail) = error?.reason else {
      Issue.record("expected headerNotJSON, got \(String(describing: error))")
      return
    }
    #expect(detail.contains(fragment), "\(detail)", sourceLocation: sourceLocation)
    #expect(error!.description.contains(url.path), sourceLocation: sourceLocation)
  }

  @Test func rejectsBadFileAndHeaderSizes() throws {
    let scratch = try ScratchDirectory()
    let short = scratch.file("short.safetensors")
    try Data([1, 2, 3, 4, 5]).write(to: short)
    expectRejected(short, .fileTooShort(byteCount: 5))
    let zero = scratch.file("zero.safetensors")
    try Data().write(to: zero)
    expectRejected(zero, .fileTooShort(byteCount: 0))

    expectRejected(
      try scratch.craft("huge.safetensors", header: "{}", headerSize: 100_000_001),
      .headerTooLarge(byteCount: 100_000_001))
    expectRejected(
      try scratch.craft("huge2.safetensors", header: "{}", headerSize: UInt64.max),
      .headerTooLarge(byteCount: UInt64.max))
    expectRejected(
      try scratch.craft("past.safetensors", header: "{}", headerSize: 100),
      .headerPastEnd(headerByteCount: 100, fileByteCount: 10))

    let missing = scratch.file("missing.safetensors")
    let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(contentsOf: missing) }
    #expect(error?.reason == .systemCall("open", message: String(cString: strerror(ENOENT))))
    expectRejected(scratch.url, .notARegularFile)
  }

  @Test func rejectsHeadersThatAreNotJSONObjects() throws {
    let scratch = try ScratchDirectory()
    expectRejected(
      try scratch.craft(headerBytes: Array(#"{"a"#.utf8) + [0xFF] + Array(#"":1}"#.utf8)),
      .headerNotUTF8(byteOffset: 3))
    expectRejected(
      try scratch.craft(headerBytes: Array("{\"\u{E9}\"".utf8) + [0xC3]),
      .headerNotUTF8(byteOffset: 5))
    expectNotJSON(try scratch.craft(header: #"{"a":"#), mentioning: "ends")
    expectNotJSON(try scratch.craft(header: #"{"a":{},}"#), mentioning: "expected a string key")
    expectNotJSON(try scratch.craft(header: #"{"a":tru}"#), mentioning: "expected a value")
    expectNotJSON(try scratch.craft(header: #"{"a":01}"#), mentioning: "expected ',' or '}'")
    expectNotJSON(try scratch.craft(header: "{\"a\tb\":1}"), mentioning: "control character")
    expectNotJSON(try scratch.craft(header: #"{"\ud800":1}"#), mentioning: "surrogate")
    expectNotJSON(try scratch.craft(header: "{}\n"), mentioning: "not a space")
    expectNotJSON(try scratch.craft(header: "{}  x"), mentioning: "not a space")
    let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
    expectNotJSON(
      try scratch.craft(header: #"{"__metadata__":\#(deep)}"#), mentioning: "nesting")
    expectRejected(try scratch.craft(header: "[]"), .headerNotObject)
    expectRejected(try scratch.craft(header: #""{}""#), .headerNotObject)
    expectRejected(try scratch.craft(header: " {}"), .headerNotObject)
  }

  @Test func rejectsFieldsOfTheWrongType() throws {
    let scratch = try ScratchDirectory()
    let four = bytes([Float(1)])
    func entry(_ fields: String) -> String { #"{"w":{\#(fields)}}"# }
    expectRejected(
      try scratch.craft(header: #"{"w":[1]}"#, data: four),
      .invalidField("the entry is an array, not an object"), tensor: "w")
    expectRejected(
      try scratch.craft(header: entry(#""dtype":1,"shape":[1],"data_offsets":[0,4]"#), data: four),
      .invalidField("\"dtype\" is a number, not a string"), tensor: "w")
    expectRejected(
      try scratch.craft(header: entry(#""shape":[1],"data_offsets":[0,4]"#), data: four),
      .invalidField("the entry has no \"dtype\" field"), tensor: "w")
    expectRejected(
      try scratch.craft(header: entry(#""dtype":"F32","data_offsets":[0,4]"#), data: four),
      .invalidField("the entry has no \"shape\" field"), tensor: "w")
    expectRejected(
      try scratch.craft(header: entry(#""dtype":"F32","shape":[1]"#), data: four),
      .invalidField("the entry has no \"data_offsets\" field"), tensor: "w")
    for offsets in ["[0,4,8]", "[0]", "[-1,4]", "[0,4.0]", "\"0,4\"", "[0,99999999999999999999]"] {
      expectRejected(
        try scratch.craft(
          header: entry(#""dtype":"F32","shape":[1],"data_offsets":\#(offsets)"#), data: four),
        .invalidField("\"data_offsets\" is not two non-negative integers [begin, end]"),
        tensor: "w")
    }
    expectRejected(
      try scratch.craft(header: #"{"__metadata__":{"a":1}}"#),
      .invalidField("__metadata__ value of \"a\" is a number, not a string"))
    expectRejected(
      try scratch.craft(header: #"{"__metadata__":["a"]}"#),
      .invalidField("__metadata__ is an array, not an object of strings"))
  }

  @Test func rejectsUnknownDTypesAndBadShapes() throws {
    let scratch = try ScratchDirectory()
    let four = bytes([Float(1)])
    func entry(_ dtype: String, _ shape: String, _ offsets: String = "[0,4]") -> String {
      #"{"w":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}}"#
    }
    expectRejected(
      try scratch.craft(header: entry("F33", "[1]"), data: four), .unknownDType("F33"),
      tensor: "w")
    expectRejected(
      try scratch.craft(header: entry("f32", "[1]"), data: four), .unknownDType("f32"),
      tensor: "w")
    for (shape, shown) in [("[-1]", "-1"), ("[2.0]", "2.0"), ("[1e3]", "1e3")] {
      expectRejected(
        try scratch.craft(header: entry("F32", shape), data: four),
        .invalidShape("dimension 0 is \(shown), not a non-negative integer"), tensor: "w")
    }
    expectRejected(
      try scratch.craft(header: entry("F32", #"[1,"2"]"#), data: four),
      .invalidShape("dimension 1 is a string, not a non-negative integer"), tensor: "w")
    expectRejected(
      try scratch.craft(header: entry("F32", "4"), data: four),
      .invalidShape("it is a number, not an array"), tensor: "w")
    let big = "[4611686018427387904,8]"  // 2^62 · 8 elements overflows
    expectRejected(
      try scratch.craft(header: entry("F32", big), data: four),
      .sizeOverflow(shape: [1 << 62, 8]), tensor: "w")
    expectRejected(
      try scratch.craft(header: entry("F32", "[2305843009213693952]"), data: four),
      .sizeOverflow(shape: [1 << 61]), tensor: "w")
    expectRejected(
      try scratch.craft(header: entry("F4", "[3]", "[0,2]"), data: [0, 0]),
      .partialByte(shape: [3], dtype: .f4), tensor: "w")
  }

  @Test func rejectsBadOffsets() throws {
    let scratch = try ScratchDirectory()
    func tensor(_ name: String, _ shape: Int, _ begin: Int, _ end: Int) -> String {
      #""\#(name)":{"dtype":"F32","shape":[\#(shape)],"data_offsets":[\#(begin),\#(end)]}"#
    }
    let twelve = [UInt8](repeating: 0, count: 12)
    expectRejected(
      try scratch.craft(header: "{\(tensor("w", 2, 0, 4))}", data: twelve),
      .byteLengthMismatch(expected: 8, actual: 4), tensor: "w")
    expectRejected(
      try scratch.craft(header: "{\(tensor("w", 1, 8, 4))}", data: twelve),
      .offsetsReversed(begin: 8, end: 4), tensor: "w")
    expectRejected(
      try scratch.craft(header: "{\(tensor("w", 4, 0, 16))}", data: twelve),
      .offsetsOutOfRange(end: 16, bufferByteCount: 12), tensor: "w")
    expectRejected(
      try scratch.craft(header: "{\(tensor("a", 2, 0, 8)),\(tensor("b", 2, 4, 12))}", data: twelve),
      .overlap(previous: "a", previousEnd: 8, begin: 4), tensor: "b")
    expectRejected(
      try scratch.craft(header: "{\(tensor("a", 1, 0, 4)),\(tensor("b", 1, 8, 12))}", data: twelve),
      .gap(previousEnd: 4, begin: 8), tensor: "b")
    expectRejected(
      try scratch.craft(header: "{\(tensor("a", 2, 4, 12))}", data: twelve),
      .gap(previousEnd: 0, begin: 4), tensor: "a")
    expectRejected(
      try scratch.craft(header: "{\(tensor("a", 2, 0, 8))}", data: twelve),
      .trailingBytes(usedByteCount: 8, bufferByteCount: 12))
    expectRejected(
      try scratch.craft(header: "{}", data: [0]),
      .trailingBytes(usedByteCount: 0, bufferByteCount: 1))
  }

  @Test func rejectsDuplicateKeys() throws {
    let scratch = try ScratchDirectory()
    let entry = #"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
    expectRejected(
      try scratch.craft(header: #"{"w":\#(entry),"w":\#(entry)}"#, data: bytes([Float(1)])),
      .duplicateKey("w"))
    // The same key written with an escape is still the same key.
    expectRejected(
      try scratch.craft(header: #"{"w":\#(entry),"\u0077":\#(entry)}"#, data: bytes([Float(1)])),
      .duplicateKey("w"))
    expectRejected(
      try scratch.craft(
        header: #"{"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}"#,
        data: bytes([Float(1)])),
      .duplicateKey("dtype"))
    expectRejected(
      try scratch.craft(header: #"{"__metadata__":{"k":"1","k":"2"}}"#), .duplicateKey("k"))
  }

  // MARK: - Writer

  @Test func writerRejectsBadEntriesWithoutTouchingTheDestination() throws {
    let scratch = try ScratchDirectory()
    let url = scratch.file("model.safetensors")
    let one = Tensor(shape: [1], scalars: [1])
    try SafeTensors.write([("old", one)], to: url)
    let before = try Data(contentsOf: url)

    let reserved = #expect(throws: SafeTensorsError.self) {
      try SafeTensors.write([("__metadata__", one)], to: url)
    }
    #expect(reserved?.reason == .reservedTensorName)
    let duplicate = #expect(throws: SafeTensorsError.self) {
      try SafeTensors.write([("a", one), ("a", one)], to: url)
    }
    #expect(duplicate?.reason == .duplicateTensorName)
    #expect(duplicate?.description.contains(url.path) == true)
    let mismatch = #expect(throws: SafeTensorsError.self) {
      try SafeTensors.write(entries: [("ids", .int64([1, 2, 3], shape: [2, 2]))], to: url)
    }
    #expect(mismatch?.reason == .shapeMismatch(shape: [2, 2], valueCount: 3))
    #expect(try Data(contentsOf: url) == before)
    #expect(try scratch.contents() == ["model.safetensors"])
  }

  @Test func writeIntoMissingDirectoryFailsAndLeavesNothing() throws {
    let scratch = try ScratchDirectory()
    let directory = scratch.file("absent")
    let url = directory.appendingPathComponent("model.safetensors")
    let error = #expect(throws: SafeTensorsError.self) {
      try SafeTensors.write([("w", Tensor(zeros: [2]))], to: url)
    }
    guard case .writeFailed(let detail) = error?.reason else {
      Issue.record("expected writeFailed, got \(String(describing: error))")
      return
    }
    #expect(detail.contains(String(cString: strerror(ENOENT))))
    #expect(error!.description.contains(url.path))
    #expect(!FileManager.default.fileExists(atPath: directory.path))
    #expect(try scratch.contents().isEmpty)
  }

  @Test(arguments: [
    SafeTensors.WriteStep.createdTemporaryFile, .wroteHeader, .wroteTensor(0), .wroteTensor(1),
    .synced,
  ])
  func failedWriteKeepsTheOldFile(_ failingStep: SafeTensors.WriteStep) throws {
    let scratch = try ScratchDirectory()
    let url = scratch.file("model.safetensors")
    try SafeTensors.write([("old", Tensor(shape: [2], scalars: [1, 2]))], to: url)
    let before = try Data(contentsOf: url)

    let injected = SafeTensorsError(path: url.path, reason: .writeFailed("injected failure"))
    let entries: [(name: String, entry: SafeTensors.Entry)] = [
      ("new", .float32(Tensor(zeros: [1000]))), ("ids", .int64([1, 2], shape: [2])),
    ]
    let error = #expect(throws: SafeTensorsError.self) {
      try SafeTensors.write(entries: entries, metadata: nil, to: url) {
        (step) throws(SafeTensorsError) in
        if step == failingStep { throw injected }
      }
    }
    #expect(error == injected)
    #expect(try Data(contentsOf: url) == before)
    #expect(try scratch.contents() == ["model.safetensors"], "the temporary file is removed")

    // Without the failure the same write replaces the file.
    try SafeTensors.write(entries: entries, to: url)
    let file = try SafeTensorsFile(contentsOf: url)
    #expect(file.names == ["ids", "new"])
    #expect(try scratch.contents() == ["model.safetensors"])
  }

  @Test func renameOverADirectoryFailsAndCleansUp() throws {
    let scratch = try ScratchDirectory()
    let url = scratch.file("taken")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
    let error = #expect(throws: SafeTensorsError.self) {
      try SafeTensors.write([("w", Tensor(zeros: [2]))], to: url)
    }
    guard case .writeFailed(let detail) = error?.reason else {
      Issue.record("expected writeFailed, got \(String(describing: error))")
      return
    }
    #expect(detail.contains("renaming"))
    #expect(try scratch.contents() == ["taken"])
  }

  // MARK: - Fixture written by Python

  /// `Fixtures/safetensors/mixed-dtypes.safetensors`, when the fixtures are present.
  static let mixedDTypesFixture: (file: URL, expected: URL)? = {
    guard let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
      return nil
    }
    let directory = root.appendingPathComponent("safetensors")
    let file = directory.appendingPathComponent("mixed-dtypes.safetensors")
    let expected = directory.appendingPathComponent("mixed-dtypes.json")
    let manager = FileManager.default
    guard manager.fileExists(atPath: file.path), manager.fileExists(atPath: expected.path) else {
      return nil
    }
    return (file, expected)
  }()

  /// Reads the Python-written file and compares every tensor with the values
  /// Python recorded. The JSON maps each tensor name (optionally under a
  /// top-level "tensors" key) to {"dtype", "shape", "values"}, values flat or
  /// nested in row-major order. Float dtypes are compared exactly: F16 and BF16
  /// widen to Float32 without rounding.
  @Test(
    .enabled(
      if: mixedDTypesFixture != nil,
      "Fixtures/safetensors/mixed-dtypes.safetensors is not in the test bundle"))
  func readsTheMixedDTypeFixtureWrittenByPython() throws {
    let (fileURL, expectedURL) = try #require(SafeTensorsTests.mixedDTypesFixture)
    let file = try SafeTensorsFile(contentsOf: fileURL)
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: expectedURL))
    var table = try #require(json as? [String: Any], "the expected values are not a JSON object")
    if let nested = table["tensors"] as? [String: Any] { table = nested }
    table.removeValue(forKey: "__metadata__")
    #expect(Set(file.names) == Set(table.keys))

    func flatten(_ value: Any) -> [Double] {
      if let array = value as? [Any] { return array.flatMap(flatten) }
      if let number = value as? NSNumber { return [number.doubleValue] }
      if let text = value as? String {  // "nan", "inf", "-inf" as Python may print them
        return [Double(text) ?? .nan]
      }
      return [.nan]
    }
    for (name, value) in table {
      let entry = try #require(value as? [String: Any], "\(name): not an object")
      let raw: Any? = entry["values"] ?? entry["data"]
      let values = flatten(try #require(raw, "\(name): no \"values\""))
      let info = try #require(file.info(for: name), "\(name) is missing from the file")
      if let shape = entry["shape"] as? [Int] { #expect(info.shape == shape, "\(name)") }
      if let dtype = entry["dtype"] as? String {
        #expect(
          info.dtype.rawValue == dtype.uppercased() || "\(info.dtype)" == dtype, "\(name) dtype")
      }
      switch info.dtype {
      case .f32, .f16, .bf16:
        let actual = try file.tensor(named: name).scalars
        #expect(actual.count == values.count, "\(name)")
        // Every expected value is a Float (the fixture stores float32 data), so
        // compare as Float: Foundation's JSON number parsing on Linux can be one
        // Double ulp off (3.4028234663852886e38 reads as …289e38), which
        // rounding to Float absorbs.
        for (a, e) in zip(actual, values) where !(a.isNaN && e.isNaN) {
          #expect(a == Float(e), "\(name): \(a) ≠ \(e)")
        }
      case .i8, .i16, .i32, .i64, .u8, .u16, .u32, .u64:
        #expect(try file.integers(named: name).map(Double.init) == values, "\(name)")
      default:
        let error = #expect(throws: SafeTensorsError.self) { try file.tensor(named: name) }
        #expect(error?.reason == .unsupportedConversion(dtype: info.dtype, to: "Float32"))
      }
    }
  }
}

// MARK: - 8-bit integers (quantized weights)

extension SafeTensorsTests {
  /// An I8 entry is written as the format lays it out, worked out by hand: the
  /// header `{"q":{"dtype":"I8","shape":[2,2],"data_offsets":[0,4]}}` (55
  /// bytes) padded with spaces to 56, then the four bytes in two's complement.
  @Test func int8EntriesAreWrittenAndReadBackExactly() throws {
    let scratch = try ScratchDirectory()
    let url = scratch.file("q.safetensors")
    try SafeTensors.write(entries: [("q", .int8([1, -1, 127, -128], shape: [2, 2]))], to: url)
    let bytes = [UInt8](try Data(contentsOf: url))
    let header = #"{"q":{"dtype":"I8","shape":[2,2],"data_offsets":[0,4]}}"#
    let padded = Array(header.utf8) + Array(repeating: UInt8(ascii: " "), count: 56 - 55)
    #expect(Array(bytes[0..<8]) == [56, 0, 0, 0, 0, 0, 0, 0])
    #expect(Array(bytes[8..<64]) == padded)
    #expect(Array(bytes[64...]) == [0x01, 0xFF, 0x7F, 0x80])

    let file = try SafeTensorsFile(contentsOf: url)
    #expect(try file.int8Values(named: "q") == [1, -1, 127, -128])
    #expect(try file.integers(named: "q") == [1, -1, 127, -128])
    let notFloat = #expect(throws: SafeTensorsError.self) { try file.tensor(named: "q") }
    #expect(notFloat?.reason == .unsupportedConversion(dtype: .i8, to: "Float32"))

    // Beside F32 tensors (written first, as the reference writer orders by
    // alignment), an empty I8 tensor included.
    let mixed = scratch.file("mixed.safetensors")
    try SafeTensors.write(
      entries: [
        ("w", .int8([-3, 0, 5], shape: [3, 1])),
        ("scale", .float32(Tensor(shape: [3], scalars: [0.5, 0.25, 2]))),
        ("none", .int8([], shape: [0, 4])),
      ], to: mixed)
    let reread = try SafeTensorsFile(contentsOf: mixed)
    #expect(try reread.int8Values(named: "w") == [-3, 0, 5])
    #expect(try reread.int8Values(named: "none") == [])
    #expect(try reread.tensor(named: "scale").scalars == [0.5, 0.25, 2])
    let wrongType = #expect(throws: SafeTensorsError.self) {
      try reread.int8Values(named: "scale")
    }
    #expect(wrongType?.reason == .unsupportedConversion(dtype: .f32, to: "Int8"))
    let mismatch = #expect(throws: SafeTensorsError.self) {
      try SafeTensors.write(entries: [("w", .int8([1, 2, 3], shape: [2, 2]))], to: mixed)
    }
    #expect(mismatch?.reason == .shapeMismatch(shape: [2, 2], valueCount: 3))
  }
}
