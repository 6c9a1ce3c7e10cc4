import Foundation

/// A cache of large, 64-byte-aligned buffers, reused across tensors.
///
/// Freeing a multi-megabyte buffer returns it to the kernel and allocating the
/// next one faults its pages in again, zero-filled; in an encoder forward pass
/// that costs more than the elementwise work itself. The pool keeps freed
/// buffers of at least ``minimumPooledBytes`` by size class (rounded up to
/// 16 KiB) and hands them out again, up to ``limitBytes`` of idle memory.
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
  private var limit = BufferPool.initialLimit()

  /// The idle memory held now, in bytes.
  public var cachedBytes: Int { lock.withLock { idleBytes } }

  func take(byteCount: Int) -> UnsafeMutableRawPointer {
    guard byteCount >= minimumPooledBytes else {
      return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    }
    let size = sizeClass(byteCount)
    let reused: UnsafeMutableRawPointer? = lock.withLock {
      guard let buffer = idle[size]?.popLast() else { return nil }
      idleBytes -= size
      return buffer
    }
    return reused ?? UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
  }

  func give(_ buffer: UnsafeMutableRawPointer, byteCount: Int) {
    guard byteCount >= minimumPooledBytes else {
      buffer.deallocate()
      return
    }
    let size = sizeClass(byteCount)
    let kept: Bool = lock.withLock {
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

  private func sizeClass(_ byteCount: Int) -> Int { (byteCount + 16_383) & ~16_383 }

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
