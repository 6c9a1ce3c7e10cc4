// TopK: the k best (score, index) pairs of a stream, in a bounded heap.
//
// The heap is a min-heap on "goodness": its root is the worst entry kept, so a
// new entry is compared with the root alone and most entries of a long stream
// are rejected by one comparison. The order is total: a higher score is better,
// and of equal scores the lower index is better, so results never depend on
// block or thread boundaries. NaN scores are never kept.

/// The `capacity` best entries of a stream of (score, index) pairs.
public struct TopK: Sendable {
  /// The most entries kept.
  public let capacity: Int
  private(set) var scores: [Float] = []  // [≤ capacity], heap order
  private(set) var indices: [Int] = []  // [≤ capacity], parallel to scores

  /// An empty heap keeping at most `capacity` (≥ 1) entries.
  public init(capacity: Int) {
    precondition(capacity >= 1, "TopK needs a capacity of at least 1")
    self.capacity = capacity
    scores.reserveCapacity(capacity)
    indices.reserveCapacity(capacity)
  }

  /// Whether (a, i) ranks before (b, j).
  @inline(__always)
  static func isBetter(_ a: Float, _ i: Int, than b: Float, _ j: Int) -> Bool {
    a > b || (a == b && i < j)
  }

  /// Offers one entry; keeps it if it is among the best `capacity` so far.
  @inline(__always)
  public mutating func offer(_ score: Float, _ index: Int) {
    guard !score.isNaN else { return }
    if scores.count < capacity {
      scores.append(score)
      indices.append(index)
      siftUp(scores.count - 1)
    } else if Self.isBetter(score, index, than: scores[0], indices[0]) {
      scores[0] = score
      indices[0] = index
      siftDown(0)
    }
  }

  /// Offers `row[j]` with index `offset + j` for every j.
  public mutating func offer(_ row: UnsafeBufferPointer<Float>, offset: Int) {
    var j = 0
    // Fill, then reject by one comparison with the root (the common case).
    while j < row.count && scores.count < capacity {
      offer(row[j], offset + j)
      j += 1
    }
    guard j < row.count, let base = row.baseAddress else { return }
    // Eight scores at a time against the root: a block with none as good as
    // the worst kept one (most blocks of a long row) costs one vector compare.
    let raw = UnsafeRawPointer(base)
    var root = SIMD8<Float>(repeating: scores[0])
    while j + 8 <= row.count {
      let block = raw.loadUnaligned(
        fromByteOffset: j * MemoryLayout<Float>.stride, as: SIMD8<Float>.self)
      if any(block .>= root) {
        for t in j..<(j + 8) where row[t] >= scores[0] { offer(row[t], offset + t) }
        root = SIMD8(repeating: scores[0])
      }
      j += 8
    }
    while j < row.count {
      let score = row[j]
      if score >= scores[0] { offer(score, offset + j) }
      j += 1
    }
  }

  /// Offers every entry of `other`.
  public mutating func merge(_ other: TopK) {
    for (score, index) in zip(other.scores, other.indices) { offer(score, index) }
  }

  /// The entries kept, best first.
  public func sorted() -> [(score: Float, index: Int)] {
    zip(scores, indices).map { (score: $0, index: $1) }.sorted {
      Self.isBetter($0.score, $0.index, than: $1.score, $1.index)
    }
  }

  private mutating func siftUp(_ start: Int) {
    var child = start
    while child > 0 {
      let parent = (child - 1) / 2
      // The root holds the worst: move up while the child is worse than its parent.
      guard Self.isBetter(scores[parent], indices[parent], than: scores[child], indices[child])
      else { return }
      scores.swapAt(parent, child)
      indices.swapAt(parent, child)
      child = parent
    }
  }

  private mutating func siftDown(_ start: Int) {
    var parent = start
    let count = scores.count
    while true {
      var worst = parent
      let left = 2 * parent + 1
      let right = left + 1
      if left < count,
        Self.isBetter(scores[worst], indices[worst], than: scores[left], indices[left])
      {
        worst = left
      }
      if right < count,
        Self.isBetter(scores[worst], indices[worst], than: scores[right], indices[right])
      {
        worst = right
      }
      guard worst != parent else { return }
      scores.swapAt(parent, worst)
      indices.swapAt(parent, worst)
      parent = worst
    }
  }
}
