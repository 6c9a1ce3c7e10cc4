// Inverted dropout: kept values are scaled by 1/(1 − p) so that the expected
// value is unchanged, and evaluation needs no rescaling.
//
// Shapes: E elements in any shape.
//
// The random bits are counter-based: element e draws 32 bits from the
// SplitMix64 output number ⌊e/2⌋ of a stream whose key is one value taken from
// the caller's generator. So a mask depends only on the seed and the element
// index, never on how the work was split across threads, and building it is
// fully parallel. The mask is kept for backward as one bit per element.

/// A dropout mask: bit e of `words` is set when element e is kept.
final class DropoutMask: @unchecked Sendable {
  /// ⌈E/64⌉ + 1 words (the last is padding, so an 8-bit read never runs past the end).
  let words: UnsafeMutablePointer<UInt64>
  let wordCount: Int
  /// 1/(1 − p) for kept elements (0 when p = 1).
  let scale: Float

  init(elementCount: Int, probability: Float) {
    wordCount = (elementCount + 63) / 64 + 1
    words = .allocate(capacity: wordCount)
    words.initialize(repeating: 0, count: wordCount)
    scale = probability < 1 ? 1 / (1 - probability) : 0
  }

  deinit { words.deallocate() }
}

/// The counter-based random bits behind every dropout mask.
enum DropoutBits {
  /// The 32-bit threshold below which an element is dropped, as a UInt64 so that
  /// p = 1 (2³²) drops everything.
  static func threshold(probability: Float) -> UInt64 {
    UInt64((Double(probability) * 4_294_967_296).rounded())
  }

  /// The SplitMix64 output number `index` of the stream keyed by `key`.
  @inline(__always)
  static func mix(_ key: UInt64, _ index: UInt64) -> UInt64 {
    var z = key &+ (index &+ 1) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Sets the keep bits of elements `first ..< first + count` of stream `key`,
  /// element `first + i` going to bit i of `words` (which must start zeroed).
  static func fill(
    key: UInt64, threshold: UInt64, first: Int, count: Int, into words: UnsafeMutablePointer<UInt64>
  ) {
    var i = 0
    if first & 1 == 1, count > 0 {
      // An odd first element takes the high half of its pair's number.
      if mix(key, UInt64(first >> 1)) >> 32 >= threshold { words[0] |= 1 }
      i = 1
    }
    // Whole pairs, branch-free: one 64-bit number gives two elements. After an
    // odd first element, a pair starts at an odd bit, and at bit 63 its second
    // element belongs to the next word: each element is written to its own word.
    while i + 2 <= count {
      let random = mix(key, UInt64((first + i) >> 1))
      let low: UInt64 = random & 0xFFFF_FFFF >= threshold ? 1 : 0
      let high: UInt64 = random >> 32 >= threshold ? 1 : 0
      words[i >> 6] |= low << UInt64(i & 63)
      words[(i + 1) >> 6] |= high << UInt64((i + 1) & 63)
      i += 2
    }
    if i < count, mix(key, UInt64((first + i) >> 1)) & 0xFFFF_FFFF >= threshold {
      words[i >> 6] |= 1 << UInt64(i & 63)
    }
  }

  /// The eight keep bits starting at bit `offset`.
  @inline(__always)
  static func byte(_ words: UnsafePointer<UInt64>, at offset: Int) -> UInt32 {
    let word = offset >> 6
    let shift = offset & 63
    var value = words[word] >> UInt64(shift)
    if shift > 56 { value |= words[word + 1] << UInt64(64 - shift) }
    return UInt32(truncatingIfNeeded: value) & 0xFF
  }

  /// out[j] = x[j]·scale where bit (offset + j) is set, else 0. `out` may be `x`.
  @inline(__always)
  static func apply(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int,
    words: UnsafePointer<UInt64>, offset: Int, scale: Float
  ) {
    // Lane k moves bit k to the sign bit; an arithmetic shift spreads it over the lane.
    let shifts = SIMD8<Int32>(31, 30, 29, 28, 27, 26, 25, 24)
    let keep = unsafeBitCast(Vector(repeating: scale), to: SIMD8<Int32>.self)
    var j = 0
    while j + 8 <= n {
      let bits = SIMD8<Int32>(repeating: Int32(byte(words, at: offset + j)))
      let factor = unsafeBitCast(((bits &<< shifts) &>> 31) & keep, to: Vector.self)
      VectorMath.store(VectorMath.load(x + j) * factor, out + j)
      j += 8
    }
    while j < n {
      let bit = offset + j
      let kept = (words[bit >> 6] >> UInt64(bit & 63)) & 1 != 0
      out[j] = kept ? x[j] * scale : 0
      j += 1
    }
  }
}

extension Tensor {
  /// Inverted dropout: each element is zeroed with probability `probability`,
  /// and the kept ones are scaled by 1/(1 − probability).
  ///
  /// - Parameters:
  ///   - probability: in [0, 1]. At 0 the result is self, unchanged, and the
  ///     generator is not advanced; otherwise exactly one value is drawn from it.
  ///   - generator: the source of the mask; the same state gives the same mask.
  /// - Returns: the shape of self.
  public func dropout(probability: Float, generator: inout SeededGenerator) -> Tensor {
    ensure(
      probability >= 0 && probability <= 1,
      "dropout: probability \(probability) is outside [0, 1]")
    if probability == 0 { return self }
    let count = self.count
    let mask = DropoutMask(elementCount: count, probability: probability)
    let key = generator.next()
    let threshold = DropoutBits.threshold(probability: probability)
    let words = mask.words
    // 64-element words, split across threads.
    let fullWords = (count + 63) / 64
    Parallel.forEachChunk(fullWords, minimumChunk: 256) { range in
      for word in range {
        let first = word * 64
        DropoutBits.fill(
          key: key, threshold: threshold, first: first, count: Swift.min(64, count - first),
          into: words + word)
      }
    }
    var result = Tensor(uninitializedShape: shape)
    let x = storage.pointer
    let y = result.storage.pointer
    let scale = mask.scale
    Parallel.forEachChunk(fullWords, minimumChunk: 256) { range in
      let first = range.lowerBound * 64
      let end = Swift.min(count, range.upperBound * 64)
      DropoutBits.apply(
        x + first, y + first, end - first, words: words, offset: first, scale: scale)
    }
    result = result.detached()
    return Tensor.record(result, inputs: [self]) { grad in
      let gradInput = Tensor(uninitializedShape: grad.shape)
      let g = grad.storage.pointer
      let dx = gradInput.storage.pointer
      let words = mask.words
      Parallel.forEachChunk(fullWords, minimumChunk: 256) { range in
        let first = range.lowerBound * 64
        let end = Swift.min(count, range.upperBound * 64)
        DropoutBits.apply(
          g + first, dx + first, end - first, words: words, offset: first, scale: mask.scale)
      }
      return [gradInput.detached()]
    }
  }
}
