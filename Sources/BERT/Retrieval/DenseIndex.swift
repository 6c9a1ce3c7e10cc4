// DenseIndex: embedding vectors with their ids and the model that made them,
// searched exactly by inner product.
//
// N documents, D dimensions, Q queries; Qb and Nb a block of queries and of documents.
//
// The file is safetensors:
//   "vectors"  F32 [N, D] (precision fp32), or I8 [N, D] (precision int8)
//   "scales"   F32 [N], int8 only: document i is scales[i] · vectors[i]
//   __metadata__:
//     "format"    "bert-swift-dense-index", "version" "1"
//     "precision" "fp32" or "int8"
//     "ids"       a JSON array of N strings
//     "model"     the ModelIdentity as JSON
// It is written to a temporary name and renamed (the safetensors writer), and
// opened through a memory mapping: the vectors are read in place, page by page,
// as a search needs them.
//
// int8: each vector is quantized symmetrically, scale = max|x| / 127 and
// q = round(x / scale). A search quantizes each query the same way, so a score
// is scale_q · scale_d · Σ q_i d_i with an exact integer sum: the int8 values
// are converted to Float32 and multiplied by the same GEMM as fp32, whose sums
// of integer products stay exact while D · 127² < 2²⁴ (D ≤ 1040).

import Foundation

/// Vectors with ids, searched exactly by inner product (cosine for unit vectors).
public struct DenseIndex: @unchecked Sendable {
  /// The documents' ids, in vector order.
  public let ids: [String]
  /// The model that embedded the documents.
  public let model: ModelIdentity
  /// How the vectors are stored: fp32, or int8 with one scale per vector.
  public let precision: Precision
  /// The file this index was read from, if any; named in errors.
  public let path: String
  private let storage: Storage

  /// N, the number of documents.
  public var count: Int { ids.count }
  /// D, the vectors' dimension.
  public var dimension: Int { model.dimension }

  // MARK: - Building

  /// An index of `vectors` [N][D] with `ids` [N], embedded by `model`.
  /// - Throws: `RetrievalError` when counts or dimensions disagree or an id repeats.
  public init(
    vectors: [[Float]], ids: [String], model: ModelIdentity, precision: Precision = .fp32,
    path: String = "(in memory)"
  ) throws(RetrievalError) {
    guard vectors.count == ids.count else {
      throw .countMismatch(vectors: vectors.count, ids: ids.count)
    }
    var seen = Set<String>()
    for id in ids where !seen.insert(id).inserted { throw .duplicateID(id: id, path: path) }
    for vector in vectors where vector.count != model.dimension {
      throw .dimensionMismatch(path: path, expected: model.dimension, actual: vector.count)
    }
    self.ids = ids
    self.model = model
    self.precision = precision
    self.path = path
    storage = Storage(quantizing: vectors, dimension: model.dimension, precision: precision)
  }

  /// An index of the rows of `vectors` [N, D] with `ids` [N], embedded by `model`.
  /// - Throws: `RetrievalError` when counts or dimensions disagree or an id repeats.
  public init(
    vectors: Tensor, ids: [String], model: ModelIdentity, precision: Precision = .fp32,
    path: String = "(in memory)"
  ) throws(RetrievalError) {
    let shape = vectors.shape
    guard shape.count == 2, shape[1] == model.dimension else {
      throw .dimensionMismatch(path: path, expected: model.dimension, actual: shape.last ?? 0)
    }
    guard shape[0] == ids.count else { throw .countMismatch(vectors: shape[0], ids: ids.count) }
    var seen = Set<String>()
    for id in ids where !seen.insert(id).inserted { throw .duplicateID(id: id, path: path) }
    self.ids = ids
    self.model = model
    self.precision = precision
    self.path = path
    storage = vectors.withUnsafeBufferPointer { values in
      Storage(rows: values, count: shape[0], dimension: shape[1], precision: precision)
    }
  }

  private init(
    ids: [String], model: ModelIdentity, precision: Precision, path: String, storage: Storage
  ) {
    self.ids = ids
    self.model = model
    self.precision = precision
    self.path = path
    self.storage = storage
  }

  /// This index with `vectors` [M][D] and their `ids` [M] added after its own.
  /// - Throws: `RetrievalError.modelMismatch` for vectors of another model,
  ///   `.duplicateID` naming an id the index (or the new ids) already holds.
  public func appending(vectors: [[Float]], ids newIDs: [String], model other: ModelIdentity)
    throws(RetrievalError) -> DenseIndex
  {
    guard model.isCompatible(with: other) else {
      throw .modelMismatch(path: path, index: model.description, model: other.description)
    }
    guard vectors.count == newIDs.count else {
      throw .countMismatch(vectors: vectors.count, ids: newIDs.count)
    }
    var seen = Set(ids)
    for id in newIDs where !seen.insert(id).inserted { throw .duplicateID(id: id, path: path) }
    for vector in vectors where vector.count != dimension {
      throw .dimensionMismatch(path: path, expected: dimension, actual: vector.count)
    }
    let added = Storage(quantizing: vectors, dimension: dimension, precision: precision)
    return DenseIndex(
      ids: ids + newIDs, model: model, precision: precision, path: path,
      storage: Storage(concatenating: storage, count, added, vectors.count, dimension: dimension))
  }

  // MARK: - Reading and writing

  static let format = "bert-swift-dense-index"

  /// Opens the index file at `url`, memory-mapped.
  /// - Throws: `RetrievalError` naming the file: unreadable (missing, truncated,
  ///   corrupt), not an index, or ids that do not match the vectors.
  public init(contentsOf url: URL) throws(RetrievalError) {
    let path = url.path
    let file: SafeTensorsFile
    do { file = try SafeTensorsFile(contentsOf: url) } catch {
      throw .unreadableIndex(path: path, reason: error.reason.sentence)
    }
    let metadata = file.metadata
    guard metadata["format"] == Self.format else {
      throw .notAnIndex(path: path, reason: "its metadata has no \"format\": \"\(Self.format)\"")
    }
    guard let precisionName = metadata["precision"],
      let precision = Precision(rawValue: precisionName)
    else { throw .notAnIndex(path: path, reason: "its metadata has no valid \"precision\"") }
    guard let modelText = metadata["model"],
      let model = try? JSONDecoder().decode(ModelIdentity.self, from: Data(modelText.utf8))
    else { throw .notAnIndex(path: path, reason: "its metadata has no valid \"model\"") }
    guard let idsText = metadata["ids"],
      let ids = try? JSONDecoder().decode([String].self, from: Data(idsText.utf8))
    else { throw .notAnIndex(path: path, reason: "its metadata has no valid \"ids\" array") }
    guard let info = file.info(for: "vectors"), info.shape.count == 2 else {
      throw .notAnIndex(path: path, reason: "it has no 2-dimensional tensor \"vectors\"")
    }
    let (rows, columns) = (info.shape[0], info.shape[1])
    guard info.dtype == (precision == .fp32 ? .f32 : .i8) else {
      throw .notAnIndex(
        path: path, reason: "\"vectors\" is \(info.dtype.rawValue) in a \(precision) index")
    }
    guard columns == model.dimension else {
      throw .dimensionMismatch(path: path, expected: model.dimension, actual: columns)
    }
    guard ids.count == rows else {
      throw .idCountMismatch(path: path, idCount: ids.count, vectorCount: rows)
    }
    var scales: UnsafeRawBufferPointer?
    if precision == .int8 {
      guard let scaleInfo = file.info(for: "scales"), scaleInfo.dtype == .f32,
        scaleInfo.shape == [rows]
      else {
        throw .notAnIndex(path: path, reason: "an int8 index needs \"scales\", F32 [\(rows)]")
      }
      scales = try? file.rawBytes(named: "scales")
    }
    guard let vectors = try? file.rawBytes(named: "vectors") else {
      throw .notAnIndex(path: path, reason: "\"vectors\" cannot be read")
    }
    self.init(
      ids: ids, model: model, precision: precision, path: path,
      storage: Storage(mapped: file, vectors: vectors, scales: scales, count: rows))
  }

  /// Writes the index to `url`, atomically (a temporary name, then a rename).
  public func write(to url: URL) throws(RetrievalError) {
    let n = count
    let d = dimension
    var entries: [(name: String, entry: SafeTensors.Entry)] = []
    switch precision {
    case .fp32:
      let values = Array(UnsafeBufferPointer(start: storage.floats, count: n * d))  // [N·D]
      let tensor = Tensor(shape: [n, d], scalars: values)  // [N, D]
      entries.append(("vectors", .float32(tensor)))
    case .int8:
      let values = Array(UnsafeBufferPointer(start: storage.int8s, count: n * d))  // [N·D]
      let scales = Array(UnsafeBufferPointer(start: storage.scales, count: n))  // [N]
      entries.append(("vectors", .int8(values, shape: [n, d])))
      entries.append(("scales", .float32(Tensor(shape: [n], scalars: scales))))
    }
    let modelJSON = (try? JSONEncoder.sorted.encode(model)).map {
      String(decoding: $0, as: UTF8.self)
    }
    let idsJSON = (try? JSONEncoder.sorted.encode(ids)).map { String(decoding: $0, as: UTF8.self) }
    let metadata = [
      "format": Self.format, "version": "1", "precision": precision.rawValue,
      "model": modelJSON ?? "{}", "ids": idsJSON ?? "[]",
    ]
    do { try SafeTensors.write(entries: entries, metadata: metadata, to: url) } catch {
      throw .unreadableIndex(path: url.path, reason: error.reason.sentence)
    }
  }

  /// Document `i`'s vector [D], dequantized for int8.
  public func vector(at i: Int) -> [Float] {
    let d = dimension
    switch precision {
    case .fp32: return Array(UnsafeBufferPointer(start: storage.floats! + i * d, count: d))
    case .int8:
      let scale = storage.scales![i]
      return (0..<d).map { Float(storage.int8s![i * d + $0]) * scale }
    }
  }

  // MARK: - Search

  /// Documents per GEMM block (Nb).
  public static let documentBlock = 8192
  /// Queries per GEMM block (Qb).
  public static let queryBlock = 256

  /// The `topK` documents of highest inner product with each query.
  ///
  /// Exact search: one GEMM per block of Qb queries × Nb documents through the
  /// current backend (scores [Qb, Nb] = queries · documentsᵀ; for at most
  /// four queries, threaded dot products that read each document once), each block's
  /// scores offered to one bounded heap per query and thread (``TopK``), the
  /// heaps merged at the end; the corpus is never sorted. Ties rank the
  /// earlier document first.
  /// - Parameters:
  ///   - queries: Q vectors of D values.
  ///   - topK: K ≥ 1; fewer come back when the index holds fewer documents.
  /// - Returns: Q lists of at most K (id, score), best first.
  /// - Throws: `RetrievalError.invalidTopK` for K ≤ 0, `.dimensionMismatch` for a query of another D.
  public func search(queries: [[Float]], topK: Int) throws(RetrievalError) -> [[SearchHit]] {
    try searchIndices(queries: queries, topK: topK).map { hits in
      hits.map { SearchHit(id: ids[$0.index], score: $0.score) }
    }
  }

  /// ``search(queries:topK:)`` with document positions instead of ids.
  public func searchIndices(queries: [[Float]], topK: Int) throws(RetrievalError)
    -> [[(index: Int, score: Float)]]
  {
    guard topK >= 1 else { throw .invalidTopK(topK) }
    let d = dimension
    for query in queries where query.count != d {
      throw .dimensionMismatch(path: path, expected: d, actual: query.count)
    }
    guard count > 0 else { return queries.map { _ in [] } }
    var results: [[(index: Int, score: Float)]] = []
    results.reserveCapacity(queries.count)
    for start in stride(from: 0, to: queries.count, by: Self.queryBlock) {
      let block = Array(queries[start..<min(queries.count, start + Self.queryBlock)])
      results += searchBlock(block, topK: topK)
    }
    return results
  }

  /// One block of queries against every document.
  private func searchBlock(_ queries: [[Float]], topK: Int) -> [[(index: Int, score: Float)]] {
    let (q, d, n) = (queries.count, dimension, count)
    // Queries as the GEMM's A [Qb, D]; for int8, the integers of their quantization.
    var a = [Float](repeating: 0, count: q * d)  // [Qb, D]
    var queryScales = [Float](repeating: 1, count: q)  // [Qb]
    for (row, query) in queries.enumerated() {
      if precision == .int8 {
        let (values, scale) = Self.quantize(query)
        queryScales[row] = scale
        for j in 0..<d { a[row * d + j] = Float(values[j]) }
      } else {
        for j in 0..<d { a[row * d + j] = query[j] }
      }
    }
    let slots = max(1, Compute.threadCount)
    var heaps = [TopK](repeating: TopK(capacity: topK), count: q * slots)  // [Qb, slots]
    let nb = min(Self.documentBlock, n)
    var scores = [Float](repeating: 0, count: q * nb)  // [Qb, Nb]
    let converted = UnsafeMutablePointer<Float>.allocate(
      capacity: precision == .int8 ? nb * d : 1)  // [Nb, D], int8 only
    defer { converted.deallocate() }
    let backend = Compute.backend
    for blockStart in stride(from: 0, to: n, by: nb) {
      let rows = min(nb, n - blockStart)
      let documents: UnsafePointer<Float>
      if precision == .int8 {
        let source = storage.int8s! + blockStart * d
        Parallel.forEachChunk(rows * d, minimumChunk: 1 << 16) { range in
          for i in range { converted[i] = Float(source[i]) }
        }
        documents = UnsafePointer(converted)
      } else {
        documents = storage.floats! + blockStart * d
      }
      let direct = q <= Self.directQueryLimit
      if !direct {
        // scores [Qb, rows] = A [Qb, D] · documents [rows, D]ᵀ
        a.withUnsafeBufferPointer { a in
          scores.withUnsafeMutableBufferPointer { c in
            backend.sgemm(
              transposeA: false, transposeB: true, m: q, n: rows, k: d, alpha: 1,
              a: a.baseAddress!, lda: d, b: documents, ldb: d, beta: 0, c: c.baseAddress!,
              ldc: rows)
          }
        }
      }
      let documentScales = precision == .int8 ? storage.scales! + blockStart : nil
      scores.withUnsafeMutableBufferPointer { c in
        heaps.withUnsafeMutableBufferPointer { heaps in
          let chunk = (rows + slots - 1) / slots
          Parallel.forEach(slots) { slot in
            let lower = min(rows, slot * chunk)
            let upper = min(rows, lower + chunk)
            guard lower < upper else { return }
            if direct {
              // A few queries: each thread's documents are read once, each
              // row dotted with every query (a GEMM would pack them first).
              a.withUnsafeBufferPointer { a in
                for j in lower..<upper {
                  let document = documents + j * d
                  for row in 0..<q {
                    c[row * rows + j] = Self.dot(a.baseAddress! + row * d, document, d)
                  }
                }
              }
            }
            for row in 0..<q {
              let line = c.baseAddress! + row * rows
              if let documentScales {
                let scale = queryScales[row]
                for j in lower..<upper { line[j] *= scale * documentScales[j] }
              }
              heaps[row * slots + slot].offer(
                UnsafeBufferPointer(start: line + lower, count: upper - lower),
                offset: blockStart + lower)
            }
          }
        }
      }
    }
    return (0..<q).map { row in
      var merged = heaps[row * slots]
      for slot in 1..<slots { merged.merge(heaps[row * slots + slot]) }
      return merged.sorted().map { (index: $0.index, score: $0.score) }
    }
  }

  /// Up to this many queries, search computes its dot products itself rather
  /// than through the GEMM: the single-query case is bound by reading the
  /// vectors, and a GEMM of one row runs well below memory speed.
  public static let directQueryLimit = 4

  /// Σ x[i]·y[i] over `n` values, in four 8-wide accumulators.
  @inline(__always)
  static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
    let rawX = UnsafeRawPointer(x)
    let rawY = UnsafeRawPointer(y)
    func load(_ raw: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
      raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
    }
    var s0 = SIMD8<Float>()
    var s1 = SIMD8<Float>()
    var s2 = SIMD8<Float>()
    var s3 = SIMD8<Float>()
    var i = 0
    while i + 32 <= n {
      s0 = s0.addingProduct(load(rawX, i), load(rawY, i))
      s1 = s1.addingProduct(load(rawX, i + 8), load(rawY, i + 8))
      s2 = s2.addingProduct(load(rawX, i + 16), load(rawY, i + 16))
      s3 = s3.addingProduct(load(rawX, i + 24), load(rawY, i + 24))
      i += 32
    }
    while i + 8 <= n {
      s0 = s0.addingProduct(load(rawX, i), load(rawY, i))
      i += 8
    }
    var total = ((s0 + s1) + (s2 + s3)).sum()
    while i < n {
      total += x[i] * y[i]
      i += 1
    }
    return total
  }

  /// Symmetric int8 quantization of one vector: values in [-127, 127] and the
  /// scale max|x| / 127 (1 for a zero vector).
  public static func quantize(_ vector: [Float]) -> (values: [Int8], scale: Float) {
    let largest = vector.reduce(Float(0)) { max($0, abs($1)) }
    let scale = largest > 0 ? largest / 127 : 1
    let values = vector.map { Int8(max(-127, min(127, ($0 / scale).rounded()))) }
    return (values, scale)
  }
}

// MARK: - Storage

extension DenseIndex {
  /// The vectors: in a memory-mapped file, or in memory this object owns.
  final class Storage: @unchecked Sendable {
    let floats: UnsafePointer<Float>?  // [N, D], fp32
    let int8s: UnsafePointer<Int8>?  // [N, D], int8
    let scales: UnsafePointer<Float>?  // [N], int8
    private let file: SafeTensorsFile?  // keeps the mapping alive
    private var owned: [UnsafeMutableRawPointer] = []

    /// The rows of `values` [N, D] stored at `precision`.
    convenience init(
      rows values: UnsafeBufferPointer<Float>, count n: Int, dimension d: Int,
      precision: Precision
    ) {
      self.init(capacity: n, dimension: d, precision: precision)
      for i in 0..<n { store(Array(values[(i * d)..<((i + 1) * d)]), at: i, dimension: d) }
    }

    /// Vectors [N][D] stored at `precision`.
    convenience init(quantizing vectors: [[Float]], dimension d: Int, precision: Precision) {
      self.init(capacity: vectors.count, dimension: d, precision: precision)
      for (i, vector) in vectors.enumerated() { store(vector, at: i, dimension: d) }
    }

    /// Writes vector `i` into owned storage, quantized for int8.
    private func store(_ vector: [Float], at i: Int, dimension d: Int) {
      if let floats {
        let target = UnsafeMutablePointer(mutating: floats) + i * d
        for j in 0..<d { target[j] = vector[j] }
      } else {
        let (quantized, scale) = DenseIndex.quantize(vector)
        let target = UnsafeMutablePointer(mutating: int8s!) + i * d
        for j in 0..<d { target[j] = quantized[j] }
        UnsafeMutablePointer(mutating: scales!)[i] = scale
      }
    }

    /// Owned, uninitialized storage for `capacity` vectors.
    private init(capacity n: Int, dimension d: Int, precision: Precision) {
      file = nil
      switch precision {
      case .fp32:
        let target = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n * d))
        (floats, int8s, scales) = (UnsafePointer(target), nil, nil)
        owned = [UnsafeMutableRawPointer(target)]
      case .int8:
        let values = UnsafeMutablePointer<Int8>.allocate(capacity: max(1, n * d))
        let factors = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n))
        (floats, int8s, scales) = (nil, UnsafePointer(values), UnsafePointer(factors))
        owned = [UnsafeMutableRawPointer(values), UnsafeMutableRawPointer(factors)]
      }
    }

    /// The vectors of `first` (n₁ of them) followed by those of `second` (n₂), kept as they are.
    init(concatenating first: Storage, _ n1: Int, _ second: Storage, _ n2: Int, dimension d: Int) {
      file = nil
      let n = n1 + n2
      func joined<T>(_ a: UnsafePointer<T>?, _ b: UnsafePointer<T>?, width: Int)
        -> UnsafeMutablePointer<T>?
      {
        guard let a, let b else { return nil }
        let target = UnsafeMutablePointer<T>.allocate(capacity: max(1, n * width))
        target.update(from: a, count: n1 * width)
        (target + n1 * width).update(from: b, count: n2 * width)
        return target
      }
      let f = joined(first.floats, second.floats, width: d)
      let v = joined(first.int8s, second.int8s, width: d)
      let s = joined(first.scales, second.scales, width: 1)
      floats = f.map { UnsafePointer($0) }
      int8s = v.map { UnsafePointer($0) }
      scales = s.map { UnsafePointer($0) }
      owned = [
        f.map(UnsafeMutableRawPointer.init), v.map(UnsafeMutableRawPointer.init),
        s.map(UnsafeMutableRawPointer.init),
      ].compactMap { $0 }
    }

    /// Vectors read in place from a mapped file; copied when not aligned for their type.
    init(
      mapped file: SafeTensorsFile, vectors: UnsafeRawBufferPointer,
      scales: UnsafeRawBufferPointer?, count n: Int
    ) {
      self.file = file
      func aligned<T>(
        _ bytes: UnsafeRawBufferPointer, as _: T.Type, into owned: inout [UnsafeMutableRawPointer]
      ) -> UnsafePointer<T>? {
        guard let base = bytes.baseAddress else { return nil }
        if Int(bitPattern: base) % MemoryLayout<T>.alignment == 0 {
          return base.assumingMemoryBound(to: T.self)
        }
        let copy = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 16)
        copy.copyMemory(from: base, byteCount: bytes.count)
        owned.append(copy)
        return UnsafePointer(copy.assumingMemoryBound(to: T.self))
      }
      var owned: [UnsafeMutableRawPointer] = []
      if let scales {
        int8s = vectors.baseAddress?.assumingMemoryBound(to: Int8.self)
        self.scales = aligned(scales, as: Float.self, into: &owned)
        floats = nil
      } else {
        floats = aligned(vectors, as: Float.self, into: &owned)
        (int8s, self.scales) = (nil, nil)
      }
      self.owned = owned
    }

    deinit { for pointer in owned { pointer.deallocate() } }
  }
}

extension JSONEncoder {
  /// An encoder with sorted keys, for metadata that compares byte for byte.
  fileprivate static var sorted: JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
  }
}
