// SHA-256 (FIPS 180-4, section 6.2) in pure Swift, streaming, used to check the
// files the asset fetcher downloads. No dependency on a crypto library.
//
// The compression function works on 64-byte blocks read straight from the
// caller's buffer; only a trailing partial block is copied into `pending`.

import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A streaming SHA-256 hash (FIPS 180-4).
///
/// ```swift
/// var hash = SHA256()
/// hash.update(Array("abc".utf8))
/// SHA256.hex(hash.finalize())  // "ba7816bf…"
/// ```
public struct SHA256: Sendable {
  /// The digest length in bytes.
  public static let digestByteCount = 32
  /// The block length in bytes.
  public static let blockByteCount = 64

  /// H0…H7, the running hash value.
  private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
    0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a,
    0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19
  )
  /// Bytes of an incomplete block, waiting for more input (its first `pendingCount` bytes).
  private var pending = [UInt8](repeating: 0, count: 64)
  private var pendingCount = 0
  /// The message length so far, in bytes.
  private var length: UInt64 = 0

  public init() {}

  /// Adds bytes to the message.
  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    guard var base = bytes.baseAddress, bytes.count > 0 else { return }
    var remaining = bytes.count
    length &+= UInt64(remaining)

    // Complete a pending partial block first.
    if pendingCount > 0 {
      let take = min(64 - pendingCount, remaining)
      pending.withUnsafeMutableBytes { buffer in
        (buffer.baseAddress! + pendingCount).copyMemory(from: base, byteCount: take)
      }
      pendingCount += take
      base += take
      remaining -= take
      guard pendingCount == 64 else { return }
      pending.withUnsafeBytes { buffer in
        Self.compress(&state, blocks: buffer.baseAddress!, count: 1)
      }
      pendingCount = 0
    }

    // Whole blocks straight from the caller's memory.
    let blockCount = remaining / 64
    if blockCount > 0 {
      Self.compress(&state, blocks: base, count: blockCount)
      base += blockCount * 64
      remaining -= blockCount * 64
    }

    // Keep the tail for later.
    if remaining > 0 {
      pending.withUnsafeMutableBytes { buffer in
        buffer.baseAddress!.copyMemory(from: base, byteCount: remaining)
      }
      pendingCount = remaining
    }
  }

  /// Adds bytes to the message.
  public mutating func update(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { update($0) }
  }

  /// Adds bytes to the message.
  public mutating func update(_ data: Data) {
    data.withUnsafeBytes { update($0) }
  }

  /// Pads the message and returns the 32-byte digest. The hash is spent afterwards:
  /// start a new `SHA256` for another message.
  public mutating func finalize() -> [UInt8] {
    let bitLength = length &* 8
    // 0x80, zeros up to 56 mod 64, then the bit length as a big-endian UInt64.
    var tail = [UInt8](repeating: 0, count: pendingCount < 56 ? 64 : 128)
    for i in 0..<pendingCount { tail[i] = pending[i] }
    tail[pendingCount] = 0x80
    for i in 0..<8 { tail[tail.count - 1 - i] = UInt8(truncatingIfNeeded: bitLength &>> (8 * i)) }
    tail.withUnsafeBytes { Self.compress(&state, blocks: $0.baseAddress!, count: tail.count / 64) }
    pendingCount = 0

    let words = [state.0, state.1, state.2, state.3, state.4, state.5, state.6, state.7]
    var digest = [UInt8]()
    digest.reserveCapacity(32)
    for word in words {
      digest.append(UInt8(truncatingIfNeeded: word &>> 24))
      digest.append(UInt8(truncatingIfNeeded: word &>> 16))
      digest.append(UInt8(truncatingIfNeeded: word &>> 8))
      digest.append(UInt8(truncatingIfNeeded: word))
    }
    return digest
  }

  /// Lower-case hexadecimal, two digits a byte.
  public static func hex(_ digest: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text = [UInt8]()
    text.reserveCapacity(digest.count * 2)
    for byte in digest {
      text.append(digits[Int(byte &>> 4)])
      text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
  }

  /// The digest of `bytes`, as lower-case hexadecimal.
  public static func hexDigest(_ bytes: [UInt8]) -> String {
    var hash = SHA256()
    hash.update(bytes)
    return hex(hash.finalize())
  }

  /// The digest of a file, read in chunks of `chunkSize` bytes (1 MiB by default),
  /// as lower-case hexadecimal.
  ///
  /// - Throws: `CocoaError` or `POSIXError` when the file cannot be opened or read.
  public static func hexDigest(ofFile url: URL, chunkSize: Int = 1 << 20) throws -> String {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    let descriptor = handle.fileDescriptor
    let buffer = UnsafeMutableRawBufferPointer.allocate(
      byteCount: max(chunkSize, 64), alignment: 64)
    defer { buffer.deallocate() }
    var hash = SHA256()
    while true {
      let count = read(descriptor, buffer.baseAddress!, buffer.count)
      if count < 0 {
        if errno == EINTR { continue }
        throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
      }
      if count == 0 { break }
      hash.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
    }
    return hex(hash.finalize())
  }

  // MARK: - Compression (FIPS 180-4, 6.2.2)
  //
  // Rotations are written out, ROTR n (x) = x >> n | x << (32 - n), with the
  // masking shifts &>> and &<<: the plain shifts are generic and checked, which
  // makes a debug build ten times slower.

  /// Processes `count` consecutive 64-byte blocks starting at `blocks`.
  private static func compress(
    _ state: inout (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32),
    blocks: UnsafeRawPointer, count: Int
  ) {
    var (h0, h1, h2, h3, h4, h5, h6, h7) = state
    withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
      roundConstants.withUnsafeBufferPointer { k in
        for block in 0..<count {
          let bytes = blocks + block * 64
          // Message schedule.
          for t in 0..<16 {
            w[t] = bytes.loadUnaligned(fromByteOffset: t * 4, as: UInt32.self).bigEndian
          }
          for t in 16..<64 {
            let x = w[t - 15]
            let y = w[t - 2]
            let s0 = (x &>> 7 | x &<< 25) ^ (x &>> 18 | x &<< 14) ^ (x &>> 3)
            let s1 = (y &>> 17 | y &<< 15) ^ (y &>> 19 | y &<< 13) ^ (y &>> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
          }
          // 64 rounds.
          var a = h0
          var b = h1
          var c = h2
          var d = h3
          var e = h4
          var f = h5
          var g = h6
          var h = h7
          for t in 0..<64 {
            let s1 = (e &>> 6 | e &<< 26) ^ (e &>> 11 | e &<< 21) ^ (e &>> 25 | e &<< 7)
            let choice = (e & f) ^ (~e & g)
            let t1 = h &+ s1 &+ choice &+ k[t] &+ w[t]
            let s0 = (a &>> 2 | a &<< 30) ^ (a &>> 13 | a &<< 19) ^ (a &>> 22 | a &<< 10)
            let majority = (a & b) ^ (a & c) ^ (b & c)
            let t2 = s0 &+ majority
            h = g
            g = f
            f = e
            e = d &+ t1
            d = c
            c = b
            b = a
            a = t1 &+ t2
          }
          h0 &+= a
          h1 &+= b
          h2 &+= c
          h3 &+= d
          h4 &+= e
          h5 &+= f
          h6 &+= g
          h7 &+= h
        }
      }
    }
    state = (h0, h1, h2, h3, h4, h5, h6, h7)
  }
}

/// K0…K63: the first 32 bits of the fractional parts of the cube roots of the
/// first 64 primes.
private let roundConstants: [UInt32] = [
  0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4,
  0xab1c_5ed5, 0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe,
  0x9bdc_06a7, 0xc19b_f174, 0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f,
  0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da, 0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7,
  0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967, 0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc,
  0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85, 0xa2bf_e8a1, 0xa81a_664b,
  0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070, 0x19a4_c116,
  0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
  0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7,
  0xc671_78f2,
]
