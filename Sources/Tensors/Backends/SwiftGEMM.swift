// The pure-Swift single-precision GEMM of the Swift backend.
//
// m, n, k   op(A) is [m, k], op(B) is [k, n], C is [m, n]; all row-major
// MR × NR   the micro-tile of C held in registers: 6 rows × 16 columns, twelve 8-wide vectors
// MC × KC   the block of op(A) packed at a time (kept in L2)
// KC × NC   the block of op(B) packed at a time (kept in L3; one KC × NR sliver stays in L1)
//
// The loops follow the Goto/BLIS structure:
//
//   for each NC-wide column block of C (jc)
//     for each KC-deep slice of the shared dimension (pc)
//       for each MC-tall row block of C (ic)
//         pack op(A)[ic.., pc..] into MR × KC slivers, zero-padded    -> packedA
//         for each NR sliver of op(B)[pc.., jc..] (jr)
//           (first row block only) pack it as KC × NR, zero-padded    -> packedB
//           for each MR sliver of packedA (ir)
//             micro-kernel: C[ir.., jr..] = alpha · Asliver · Bsliver + beta · C
//
// Packing a B sliver right before its first use keeps it in L1 for that use,
// which matters at BERT's 128-token shapes where there is only one row block.
//
// Packing reads A and B in any of the four transpose combinations, so the
// micro-kernel sees one layout only. Threads take disjoint column (or row)
// ranges of C, each with its own pack buffers.

import Dispatch
import Foundation

/// The blocked, packed, multithreaded SIMD GEMM behind ``SwiftBackend``.
///
/// The entry points take the thread count as a parameter so that tests and
/// benchmarks can choose it; ``SwiftBackend`` passes ``Compute/threadCount``.
public enum SwiftGEMM {
  /// Rows of the register tile.
  public static let mr = 6
  /// Columns of the register tile (two 8-wide vectors).
  public static let nr = 16
  /// Rows of op(A) packed per block: MC × KC floats = 144 KiB, well inside a 512 KiB L2.
  public static let mc = 144
  /// Depth of a packed block: a KC × NR sliver of B (16 KiB) and an MR × KC
  /// sliver of A (6 KiB) fit together in a 32 KiB L1.
  public static let kc = 256
  /// Columns of op(B) packed per block: KC × NC floats ≈ 4 MiB, inside the shared L3.
  public static let nc = 4080

  /// Below this many multiply-adds per thread (about 20 µs of work), waking
  /// another thread costs more than it saves.
  public static let defaultMinimumWorkPerThread = 1 << 20

  /// C = alpha · op(A) · op(B) + beta · C on up to `threadCount` threads.
  ///
  /// Same contract as
  /// ``Backend/sgemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``:
  /// op(A) is [m, k], op(B) is [k, n], C is [m, n], all row-major with the given
  /// row strides. With `beta == 0`, C is only written (NaN in C does not survive).
  ///
  /// - Parameters:
  ///   - threadCount: the most threads to use.
  ///   - minimumWorkPerThread: fewer threads are used when each would get fewer
  ///     multiply-adds than this (tests lower it to exercise the split on small shapes).
  public static func sgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
    threadCount: Int, minimumWorkPerThread: Int = defaultMinimumWorkPerThread
  ) {
    let problem = Problem(
      transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    problem.run(threadCount: threadCount, minimumWorkPerThread: minimumWorkPerThread)
  }

  /// `batchCount` independent products, the i-th at offsets i·strideA, i·strideB, i·strideC.
  ///
  /// Small products (attention's T×D by D×T) are spread across the threads one
  /// whole product at a time; large ones (or fewer products than threads) run
  /// one after another, each split across the threads. Never both, so the
  /// threads are not oversubscribed.
  public static func sgemmBatched(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, strideA: Int,
    b: UnsafePointer<Float>, ldb: Int, strideB: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
    batchCount: Int, threadCount: Int, minimumWorkPerThread: Int = defaultMinimumWorkPerThread
  ) {
    guard batchCount > 0, m > 0, n > 0 else { return }
    func problem(_ index: Int) -> Problem {
      Problem(
        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
        a: a + index * strideA, lda: lda, b: b + index * strideB, ldb: ldb,
        beta: beta, c: c + index * strideC, ldc: ldc)
    }
    let work = m * n * k
    let acrossBatch = threadCount > 1 && batchCount >= threadCount && work <= 1 << 24
    if !acrossBatch {
      for index in 0..<batchCount {
        problem(index).run(threadCount: threadCount, minimumWorkPerThread: minimumWorkPerThread)
      }
      return
    }
    let threads = min(threadCount, batchCount)
    let chunk = (batchCount + threads - 1) / threads
    DispatchQueue.concurrentPerform(iterations: threads) { thread in
      let range = (thread * chunk)..<min(batchCount, (thread + 1) * chunk)
      guard !range.isEmpty else { return }
      let workspace = WorkspacePool.shared.take(rows: m, columns: n, depth: k)
      defer { WorkspacePool.shared.give(workspace) }
      for index in range {
        let product = problem(index)
        if product.isDegenerate {
          product.scaleC()
        } else {
          product.compute(rows: 0..<m, columns: 0..<n, workspace: workspace)
        }
      }
    }
  }
}

// MARK: - Problem and threads

/// One GEMM call's operands.
private struct Problem: @unchecked Sendable {
  let transposeA: Bool
  let transposeB: Bool
  let m: Int
  let n: Int
  let k: Int
  let alpha: Float
  let a: UnsafePointer<Float>
  let lda: Int
  let b: UnsafePointer<Float>
  let ldb: Int
  let beta: Float
  let c: UnsafeMutablePointer<Float>
  let ldc: Int

  /// No product to add: C only needs scaling by beta.
  var isDegenerate: Bool { k == 0 || alpha == 0 }

  /// C = beta · C, writing zeros (not reading C) when beta is 0.
  func scaleC() {
    for i in 0..<m {
      let row = c + i * ldc
      if beta == 0 {
        row.update(repeating: 0, count: n)
      } else if beta != 1 {
        for j in 0..<n { row[j] *= beta }
      }
    }
  }

  /// Splits C into per-thread ranges of whole micro-tiles and computes them.
  func run(threadCount: Int, minimumWorkPerThread: Int) {
    guard m > 0, n > 0 else { return }
    if isDegenerate {
      scaleC()
      return
    }
    Parallel.forEachTileBlock(
      m: m, n: n, k: k, rowTile: SwiftGEMM.mr, columnTile: SwiftGEMM.nr,
      threadCount: threadCount, minimumWorkPerThread: minimumWorkPerThread
    ) { rows, columns in
      let workspace = WorkspacePool.shared.take(
        rows: rows.count, columns: columns.count, depth: k)
      defer { WorkspacePool.shared.give(workspace) }
      compute(rows: rows, columns: columns, workspace: workspace)
    }
  }

  /// The blocked loops over one rectangle of C, on the calling thread.
  func compute(rows: Range<Int>, columns: Range<Int>, workspace: Workspace) {
    let nc = SwiftGEMM.nc
    let kc = SwiftGEMM.kc
    let mc = SwiftGEMM.mc
    for jc in stride(from: columns.lowerBound, to: columns.upperBound, by: nc) {
      let ncCurrent = min(nc, columns.upperBound - jc)
      for pc in stride(from: 0, to: k, by: kc) {
        let kcCurrent = min(kc, k - pc)
        // Only the first slice of the shared dimension applies beta; the others add.
        let betaHere: Float = pc == 0 ? beta : 1
        for ic in stride(from: rows.lowerBound, to: rows.upperBound, by: mc) {
          let mcCurrent = min(mc, rows.upperBound - ic)
          packA(rows: ic, height: mcCurrent, columns: pc, depth: kcCurrent, into: workspace.packedA)
          // The first row block packs each B sliver just before using it, while
          // it is still in L1; later row blocks reuse the packed slivers.
          macroKernel(
            height: mcCurrent, width: ncCurrent, depth: kcCurrent, workspace: workspace,
            c: c + ic * ldc + jc, beta: betaHere,
            packingB: ic == rows.lowerBound ? (row: pc, column: jc) : nil)
        }
      }
    }
  }

  // MARK: - Packing

  /// Packs op(A)[row..<row+height, column..<column+depth] as MR-row slivers,
  /// each `depth` steps of MR values (rows past `height` are zeros).
  func packA(
    rows row: Int, height: Int, columns column: Int, depth: Int,
    into packed: UnsafeMutablePointer<Float>
  ) {
    let mr = SwiftGEMM.mr
    for ir in stride(from: 0, to: height, by: mr) {
      let count = min(mr, height - ir)
      let destination = packed + ir * depth  // [depth, MR]
      if transposeA {
        // op(A)[i, p] = a[p · lda + i]: each step's MR values are contiguous.
        var source = a + column * lda + row + ir
        var target = destination
        for _ in 0..<depth {
          for i in 0..<count { target[i] = source[i] }
          for i in count..<mr { target[i] = 0 }
          source += lda
          target += mr
        }
      } else {
        // op(A)[i, p] = a[i · lda + p]: MR rows read side by side.
        let source = a + (row + ir) * lda + column
        if count == mr {
          let row0 = source
          let row1 = source + lda
          let row2 = source + 2 * lda
          let row3 = source + 3 * lda
          let row4 = source + 4 * lda
          let row5 = source + 5 * lda
          var target = destination
          for p in 0..<depth {
            target[0] = row0[p]
            target[1] = row1[p]
            target[2] = row2[p]
            target[3] = row3[p]
            target[4] = row4[p]
            target[5] = row5[p]
            target += mr
          }
        } else {
          for p in 0..<depth {
            for i in 0..<count { destination[p * mr + i] = source[i * lda + p] }
            for i in count..<mr { destination[p * mr + i] = 0 }
          }
        }
      }
    }
  }

  /// Packs op(B)[row..<row+depth, column..<column+width] as NR-column slivers,
  /// each `depth` steps of NR values (columns past `width` are zeros).
  func packB(
    rows row: Int, depth: Int, columns column: Int, width: Int,
    into packed: UnsafeMutablePointer<Float>
  ) {
    let nr = SwiftGEMM.nr
    for jr in stride(from: 0, to: width, by: nr) {
      let count = min(nr, width - jr)
      let destination = packed + jr * depth  // [depth, NR]
      if transposeB {
        // op(B)[p, j] = b[j · ldb + p]: a transpose, read along B's rows.
        let source = b + (column + jr) * ldb + row
        if count == nr {
          transposeSliver(source, ldb: ldb, depth: depth, into: destination)
        } else {
          for j in 0..<count {
            let line = source + j * ldb
            for p in 0..<depth { destination[p * nr + j] = line[p] }
          }
          for j in count..<nr {
            for p in 0..<depth { destination[p * nr + j] = 0 }
          }
        }
      } else {
        // op(B)[p, j] = b[p · ldb + j]: each step's NR values are contiguous.
        var source = b + row * ldb + column + jr
        var target = destination
        if count == nr {
          for _ in 0..<depth {
            let low = UnsafeRawPointer(source).loadUnaligned(as: SIMD8<Float>.self)
            let high = UnsafeRawPointer(source + 8).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(target).storeBytes(of: low, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(target + 8).storeBytes(of: high, as: SIMD8<Float>.self)
            source += ldb
            target += nr
          }
        } else {
          for _ in 0..<depth {
            for j in 0..<count { target[j] = source[j] }
            for j in count..<nr { target[j] = 0 }
            source += ldb
            target += nr
          }
        }
      }
    }
  }

  /// Writes the transpose of 16 rows of B (each `depth` long, row stride `ldb`)
  /// as `depth` steps of 16 values. Each source row is read 16 floats (one cache
  /// line) at a time: with a power-of-two `ldb` the 16 rows share one L1 set,
  /// so short reads would fetch each line several times.
  private func transposeSliver(
    _ source: UnsafePointer<Float>, ldb: Int, depth: Int,
    into destination: UnsafeMutablePointer<Float>
  ) {
    let nr = SwiftGEMM.nr
    var p = 0
    while p + 16 <= depth {
      for j in 0..<nr {
        let line = UnsafeRawPointer(source + j * ldb + p).loadUnaligned(as: SIMD16<Float>.self)
        let target = destination + p * nr + j
        for q in 0..<16 { target[q * nr] = line[q] }
      }
      p += 16
    }
    while p < depth {
      for j in 0..<nr { destination[p * nr + j] = source[j * ldb + p] }
      p += 1
    }
  }

  // MARK: - Macro- and micro-kernel

  /// Runs the micro-kernel over every MR × NR tile of a packed MC × NC block.
  /// With `packingB`, each NR sliver of op(B) starting at that row and column
  /// is packed first.
  func macroKernel(
    height: Int, width: Int, depth: Int, workspace: Workspace,
    c: UnsafeMutablePointer<Float>, beta: Float, packingB: (row: Int, column: Int)?
  ) {
    let mr = SwiftGEMM.mr
    let nr = SwiftGEMM.nr
    let tile = workspace.tile
    for jr in stride(from: 0, to: width, by: nr) {
      let columns = min(nr, width - jr)
      if let origin = packingB {
        packB(
          rows: origin.row, depth: depth, columns: origin.column + jr, width: columns,
          into: workspace.packedB + jr * depth)
      }
      let bSliver = UnsafePointer(workspace.packedB + jr * depth)
      for ir in stride(from: 0, to: height, by: mr) {
        let rows = min(mr, height - ir)
        let aSliver = UnsafePointer(workspace.packedA + ir * depth)
        let cTile = c + ir * ldc + jr
        if rows == mr && columns == nr {
          microKernel6x16(
            depth: depth, a: aSliver, b: bSliver, c: cTile, ldc: ldc, alpha: alpha, beta: beta)
        } else {
          // An edge tile: compute the whole 6×16 tile aside, then copy its valid part.
          microKernel6x16(
            depth: depth, a: aSliver, b: bSliver, c: tile, ldc: nr, alpha: alpha, beta: 0)
          for i in 0..<rows {
            let target = cTile + i * ldc
            let computed = tile + i * nr
            if beta == 0 {
              for j in 0..<columns { target[j] = computed[j] }
            } else {
              for j in 0..<columns { target[j] = computed[j] + beta * target[j] }
            }
          }
        }
      }
    }
  }
}

/// C[6, 16] = alpha · A[6, depth] · B[depth, 16] + beta · C, from a packed A
/// sliver ([depth, 6]) and a packed B sliver ([depth, 16]). The twelve
/// accumulators, two B vectors and one broadcast fill 15 of the 16 ymm registers.
@inline(__always)
private func microKernel6x16(
  depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
  c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float
) {
  var c00 = SIMD8<Float>()
  var c01 = SIMD8<Float>()
  var c10 = SIMD8<Float>()
  var c11 = SIMD8<Float>()
  var c20 = SIMD8<Float>()
  var c21 = SIMD8<Float>()
  var c30 = SIMD8<Float>()
  var c31 = SIMD8<Float>()
  var c40 = SIMD8<Float>()
  var c41 = SIMD8<Float>()
  var c50 = SIMD8<Float>()
  var c51 = SIMD8<Float>()
  var a = a
  var b = b
  for _ in 0..<depth {
    let b0 = UnsafeRawPointer(b).loadUnaligned(as: SIMD8<Float>.self)
    let b1 = UnsafeRawPointer(b + 8).loadUnaligned(as: SIMD8<Float>.self)
    var x = SIMD8<Float>(repeating: a[0])
    c00 = c00.addingProduct(x, b0)
    c01 = c01.addingProduct(x, b1)
    x = SIMD8<Float>(repeating: a[1])
    c10 = c10.addingProduct(x, b0)
    c11 = c11.addingProduct(x, b1)
    x = SIMD8<Float>(repeating: a[2])
    c20 = c20.addingProduct(x, b0)
    c21 = c21.addingProduct(x, b1)
    x = SIMD8<Float>(repeating: a[3])
    c30 = c30.addingProduct(x, b0)
    c31 = c31.addingProduct(x, b1)
    x = SIMD8<Float>(repeating: a[4])
    c40 = c40.addingProduct(x, b0)
    c41 = c41.addingProduct(x, b1)
    x = SIMD8<Float>(repeating: a[5])
    c50 = c50.addingProduct(x, b0)
    c51 = c51.addingProduct(x, b1)
    a += 6
    b += 16
  }
  storeRow(c, c00, c01, alpha: alpha, beta: beta)
  storeRow(c + ldc, c10, c11, alpha: alpha, beta: beta)
  storeRow(c + 2 * ldc, c20, c21, alpha: alpha, beta: beta)
  storeRow(c + 3 * ldc, c30, c31, alpha: alpha, beta: beta)
  storeRow(c + 4 * ldc, c40, c41, alpha: alpha, beta: beta)
  storeRow(c + 5 * ldc, c50, c51, alpha: alpha, beta: beta)
}

/// C[0..<16] = alpha · (low, high) + beta · C[0..<16]; C is not read when beta is 0.
@inline(__always)
private func storeRow(
  _ c: UnsafeMutablePointer<Float>, _ low: SIMD8<Float>, _ high: SIMD8<Float>,
  alpha: Float, beta: Float
) {
  let raw = UnsafeMutableRawPointer(c)
  let scale = SIMD8<Float>(repeating: alpha)
  var resultLow = low * scale
  var resultHigh = high * scale
  if beta != 0 {
    let keep = SIMD8<Float>(repeating: beta)
    resultLow = resultLow.addingProduct(keep, raw.loadUnaligned(as: SIMD8<Float>.self))
    resultHigh = resultHigh.addingProduct(
      keep, raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
  }
  raw.storeBytes(of: resultLow, as: SIMD8<Float>.self)
  raw.storeBytes(of: resultHigh, toByteOffset: 32, as: SIMD8<Float>.self)
}

// MARK: - Scratch

/// One thread's pack buffers, sized for its share of C and reused across all
/// blocks (and across the products of a batch).
private struct Workspace: @unchecked Sendable {
  /// [MC, KC] rounded up to whole MR slivers.
  let packedA: UnsafeMutablePointer<Float>
  /// [KC, NC] rounded up to whole NR slivers.
  let packedB: UnsafeMutablePointer<Float>
  /// [MR, NR]: an edge tile before it is copied into C.
  let tile: UnsafeMutablePointer<Float>
  /// How many floats `packedA` and `packedB` hold.
  let capacity: (a: Int, b: Int)
  private let base: UnsafeMutableRawPointer

  /// The pack-buffer sizes a rectangle of C [rows, columns] with shared dimension `depth` needs.
  static func capacity(rows: Int, columns: Int, depth: Int) -> (a: Int, b: Int) {
    let mr = SwiftGEMM.mr
    let nr = SwiftGEMM.nr
    let depth = max(1, min(depth, SwiftGEMM.kc))
    let rows = (min(rows, SwiftGEMM.mc) + mr - 1) / mr * mr
    let columns = (min(columns, SwiftGEMM.nc) + nr - 1) / nr * nr
    // Rounded to 16 floats, so that each part starts on a 64-byte boundary.
    return ((rows * depth + 15) / 16 * 16, (columns * depth + 15) / 16 * 16)
  }

  init(capacity: (a: Int, b: Int)) {
    let tileCount = SwiftGEMM.mr * SwiftGEMM.nr
    let total = capacity.a + capacity.b + tileCount
    base = UnsafeMutableRawPointer.allocate(
      byteCount: total * MemoryLayout<Float>.stride, alignment: 64)
    let floats = base.bindMemory(to: Float.self, capacity: total)
    packedA = floats
    packedB = floats + capacity.a
    tile = floats + capacity.a + capacity.b
    self.capacity = capacity
  }

  func deallocate() { base.deallocate() }
}

/// Pack buffers kept between calls, so that a GEMM allocates nothing once warm.
/// Holds at most a few buffers (each at most KC × (MC + NC) floats, about 4 MiB).
private final class WorkspacePool: @unchecked Sendable {
  static let shared = WorkspacePool()
  private let lock = NSLock()
  private var idle: [Workspace] = []
  private let maximumIdle = 8

  /// A workspace with room for a rectangle of C [rows, columns] and shared dimension `depth`.
  func take(rows: Int, columns: Int, depth: Int) -> Workspace {
    let needed = Workspace.capacity(rows: rows, columns: columns, depth: depth)
    // A buffer that fits, or else one too small to free (so the pool grows to
    // the sizes in use instead of filling up with small buffers).
    let (fitting, tooSmall): (Workspace?, Workspace?) = lock.withLock {
      if let index = idle.firstIndex(where: {
        $0.capacity.a >= needed.a && $0.capacity.b >= needed.b
      }) {
        return (idle.remove(at: index), nil)
      }
      return (nil, idle.popLast())
    }
    if let fitting { return fitting }
    guard let tooSmall else { return Workspace(capacity: needed) }
    tooSmall.deallocate()
    return Workspace(
      capacity: (max(needed.a, tooSmall.capacity.a), max(needed.b, tooSmall.capacity.b)))
  }

  /// Returns a workspace for reuse (or frees it when enough are idle).
  func give(_ workspace: Workspace) {
    let kept = lock.withLock {
      guard idle.count < maximumIdle else { return false }
      idle.append(workspace)
      return true
    }
    if !kept { workspace.deallocate() }
  }
}
