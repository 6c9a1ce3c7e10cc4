import Foundation

/// A cache of large, 64-byte-aligned buffers, reused across tensors.
///
/// Freeing a multi-megabyte buffer returns it to the kernel and allocating the
/// next one faults its pages in again, zero-filled; in an encoder forward pass
/// that costs more than the elementwise work itself. The pool keeps freed
/// buffers of at least ``minimumPooledBytes`` by size class and hands them
/// out again, up to ``limitBytes`` of idle memory.
///
/// The classes are geometric, four per doubling (a request is rounded up to
/// 2^e · {1, 1.25, 1.5, 1.75}, then to 16 KiB): batches of varying length
/// (length-sorted batching, a server's traffic) ask for sizes that differ a
/// little from batch to batch, and with exact-size classes each new size
/// would fault in fresh pages and park another idle buffer. A request wastes
/// at most a fifth of its class, in address space: pages never written are
/// never resident. When its own class has no idle buffer, a request takes the
/// smallest idle one of the classes above it, up to twice its class, before it
/// allocates: so traffic whose sizes wander (a server's batches) settles on
/// the buffers it already has instead of adding a buffer for every new size,
/// and resident memory stops growing once the largest batch has run.
public final class BufferPool: @unchecked Sendable {
  /// The pool every ``TensorStorage`` uses.
  public static let shared = BufferPool()

  /// Buffers smaller than this go straight to the system allocator.
  public let minimumPooledBytes = 64 * 1024
  /// The most idle memory the pool keeps; beyond it, freed buffers are released.
  public var limitBytes: Int {
    get { lock.withLock { limit } }
    set { lock.withLock { limit = max(0, newValue) } }
  }

  private let lock = NSLock()
  private var idle: [Int: [UnsafeMutableRawPointer]] = [:]
  private var idleBytes = 0
  /// The class of each buffer lent out from a class above its request's.
  private var lentAbove: [UnsafeMutableRawPointer: Int] = [:]
  private var limit = BufferPool.initialLimit()

  /// The idle memory held now, in bytes.
  public var cachedBytes: Int { lock.withLock { idleBytes } }

  func take(byteCount: Int) -> UnsafeMutableRawPointer {
    guard byteCount >= minimumPooledBytes else {
      return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    }
    let size = sizeClass(byteCount)
    let reused: UnsafeMutableRawPointer? = lock.withLock {
      var candidate = size
      while candidate <= 2 * size {
        if let buffer = idle[candidate]?.popLast() {
          idleBytes -= candidate
          if candidate != size { lentAbove[buffer] = candidate }
          return buffer
        }
        candidate = sizeClass(candidate + 1)
      }
      return nil
    }
    return reused ?? UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
  }

  func give(_ buffer: UnsafeMutableRawPointer, byteCount: Int) {
    guard byteCount >= minimumPooledBytes else {
      buffer.deallocate()
      return
    }
    let kept: Bool = lock.withLock {
      let size = lentAbove.removeValue(forKey: buffer) ?? sizeClass(byteCount)
      guard idleBytes + size <= limit else { return false }
      idle[size, default: []].append(buffer)
      idleBytes += size
      return true
    }
    if !kept { buffer.deallocate() }
  }

  /// Releases every idle buffer to the system.
  public func releaseIdle() {
    let buffers: [UnsafeMutableRawPointer] = lock.withLock {
      defer {
        idle = [:]
        idleBytes = 0
      }
      return idle.values.flatMap { $0 }
    }
    for buffer in buffers { buffer.deallocate() }
  }

  /// The smallest class ≥ `byteCount`: 2^e · (4 + k) / 4 for k in 0..<4,
  /// rounded up to 16 KiB.
  static func sizeClass(_ byteCount: Int) -> Int {
    let octave = Int.bitWidth - 1 - max(byteCount - 1, 1).leadingZeroBitCount  // 2^octave ≤ n − 1
    let step = max(1 << max(octave - 2, 0), 1)
    let rounded = ((byteCount + step - 1) / step) * step
    return (rounded + 16_383) & ~16_383
  }

  private func sizeClass(_ byteCount: Int) -> Int { BufferPool.sizeClass(byteCount) }

  /// `BERT_BUFFER_POOL_MB` if set, else 1 GiB.
  private static func initialLimit() -> Int {
    if let text = ProcessInfo.processInfo.environment["BERT_BUFFER_POOL_MB"],
      let megabytes = Int(text), megabytes >= 0
    {
      return megabytes << 20
    }
    return 1 << 30
  }
}
