import Testing

@testable import Tensors

/// The buffer pool's size classes: four per doubling, then whole 16 KiB pages.
@Suite struct BufferPoolTests {
  /// Worked by hand: n in (2^e, 2^(e+1)] rounds up to a multiple of 2^(e−2),
  /// then of 16 KiB.
  @Test func sizeClassesAreFourPerDoubling() {
    let cases: [(Int, Int)] = [
      (65_536, 65_536),  // 2^16 exactly
      (65_537, 81_920),  // 2^16 · 1.25
      (100_000, 114_688),  // 2^16 · 1.75
      (131_072, 131_072),  // 2^17
      (1_000_000, 1_048_576),  // 2^19 · 2
      (12_582_912, 12_582_912),  // 2^23 · 1.5: 32 × 256 × 384 floats
      (12_632_064, 14_680_064),  // a little more: 2^23 · 1.75
    ]
    for (request, expected) in cases {
      #expect(BufferPool.sizeClass(request) == expected, "\(request)")
    }
    // Never smaller than asked, and at most a fifth of the class wasted.
    for request in stride(from: 65_536, to: 50_000_000, by: 77_777) {
      let size = BufferPool.sizeClass(request)
      #expect(size >= request && (size - request) * 5 <= size + 5 * 16_384, "\(request) → \(size)")
    }
  }

  /// Two sizes of one class reuse one buffer.
  @Test func nearbySizesReuseABuffer() {
    let pool = BufferPool()
    let first = pool.take(byteCount: 100_000)
    pool.give(first, byteCount: 100_000)
    let second = pool.take(byteCount: 110_000)
    #expect(second == first)
    pool.give(second, byteCount: 110_000)
    pool.releaseIdle()
    #expect(pool.cachedBytes == 0)
  }

  /// A request whose class has no idle buffer takes one from a class above,
  /// up to twice its own, and the buffer goes back to its own class.
  @Test func aSmallerRequestBorrowsFromTheClassAbove() {
    let pool = BufferPool()
    let large = pool.take(byteCount: 200_000)  // class 229,376 (2^17 · 1.75)
    pool.give(large, byteCount: 200_000)
    #expect(pool.cachedBytes == 229_376)
    let borrowed = pool.take(byteCount: 120_000)  // class 131,072; 229,376 is under twice that
    #expect(borrowed == large)
    #expect(pool.cachedBytes == 0)
    pool.give(borrowed, byteCount: 120_000)
    #expect(pool.cachedBytes == 229_376, "the buffer went back to the wrong class")
    // 229,376 is over twice 81,920 (a request of 70,000): that one allocates.
    let small = pool.take(byteCount: 70_000)
    #expect(small != large)
    #expect(pool.cachedBytes == 229_376)
    pool.give(small, byteCount: 70_000)
    pool.releaseIdle()
    #expect(pool.cachedBytes == 0)
  }
}
