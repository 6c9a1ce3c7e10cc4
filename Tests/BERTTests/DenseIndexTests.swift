import Foundation
import Testing

@testable import BERT

/// Exact search, the index file and its errors, on small random vectors.
@Suite struct DenseIndexTests {
  static func identity(dimension: Int, fingerprint: String = "0123456789abcdef") -> ModelIdentity {
    ModelIdentity(
      name: "test-model", path: "/nonexistent/test-model", fingerprint: fingerprint,
      pooling: "mean", normalized: true, dimension: dimension)
  }

  /// Deterministic vectors with values in [-1, 1], some rows repeated to make ties.
  static func vectors(_ n: Int, _ d: Int, seed: UInt64, repeats: Bool = false) -> [[Float]] {
    var state = seed
    func next() -> Float {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(Int(state >> 40) % 2001 - 1000) / 1000
    }
    var rows = (0..<n).map { _ in (0..<d).map { _ in next() } }
    if repeats {
      for i in stride(from: 3, to: n, by: 7) { rows[i] = rows[i - 3] }
    }
    return rows
  }

  /// The brute-force answer: every score computed in Double, the whole list
  /// sorted by score descending, then by position.
  static func bruteForce(_ documents: [[Float]], _ query: [Float], topK: Int) -> [(Int, Double)] {
    let scores = documents.enumerated().map { i, doc in
      (i, zip(doc, query).reduce(0.0) { $0 + Double($1.0) * Double($1.1) })
    }
    return Array(
      scores.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(topK))
  }

  @Test(arguments: BackendKind.allAvailable)
  func searchMatchesBruteForce(_ backend: BackendKind) throws {
    try Compute.withBackend(backend) {
      // Odd sizes: more documents than one block and than the threads split
      // evenly; up to four queries take the direct dot products, more the GEMM.
      for (n, d, q, k) in [
        (1, 3, 1, 1), (37, 5, 3, 4), (8195, 7, 5, 11), (300, 16, 260, 300), (9001, 43, 2, 7),
      ] {
        let documents = Self.vectors(n, d, seed: UInt64(n * 31 + d), repeats: true)
        let queries = Self.vectors(q, d, seed: UInt64(q * 17 + 5))
        let ids = (0..<n).map { "doc\($0)" }
        let index = try DenseIndex(vectors: documents, ids: ids, model: Self.identity(dimension: d))
        let results = try index.searchIndices(queries: queries, topK: k)
        #expect(results.count == q)
        for (row, query) in queries.enumerated() {
          let expected = Self.bruteForce(documents, query, topK: k)
          let actual = results[row]
          #expect(actual.count == min(k, n))
          var largest = 0.0
          for (a, e) in zip(actual, expected) {
            largest = max(largest, abs(Double(a.score) - e.1))
          }
          // fp32 sums of d products of values ≤ 1: |error| ≤ d · 2⁻²³ · d
          // (3e-5 for d = 16, 2.2e-4 for d = 43).
          let tolerance = max(1e-4, Double(d * d) / 8_388_608)
          #expect(
            largest <= tolerance,
            "n \(n) d \(d) query \(row): largest score difference \(largest)")
          // Ranks agree except where two scores are within rounding of each other.
          for (a, e) in zip(actual, expected) where a.index != e.0 {
            let other = zip(documents[a.index], query).reduce(0.0) {
              $0 + Double($1.0) * Double($1.1)
            }
            #expect(
              abs(other - e.1) <= tolerance, "n \(n) query \(row): \(a.index) in place of \(e.0)")
          }
        }
      }
    }
  }

  @Test func exactTiesRankTheEarlierDocumentFirst() throws {
    // Six documents, scores against [1, 0]: 1, 2, 2, 0, 2, 1.
    let documents: [[Float]] = [[1, 0], [2, 0], [2, 5], [0, 1], [2, -3], [1, 1]]
    let index = try DenseIndex(
      vectors: documents, ids: ["a", "b", "c", "d", "e", "f"], model: Self.identity(dimension: 2))
    let hits = try index.search(queries: [[1, 0]], topK: 4)[0]
    #expect(hits.map(\.id) == ["b", "c", "e", "a"])
    #expect(hits.map(\.score) == [2, 2, 2, 1])
  }

  @Test func topKMustBePositive() throws {
    let index = try DenseIndex(vectors: [[1, 0]], ids: ["a"], model: Self.identity(dimension: 2))
    #expect(throws: RetrievalError.invalidTopK(0)) { try index.search(queries: [[1, 0]], topK: 0) }
    #expect(throws: RetrievalError.invalidTopK(-3)) {
      try index.search(queries: [[1, 0]], topK: -3)
    }
    #expect(throws: RetrievalError.self) { try index.search(queries: [[1, 0, 0]], topK: 1) }
  }

  static func temporaryFile() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent(
      "index-\(UUID().uuidString).safetensors")
  }

  @Test(arguments: [Precision.fp32, .int8])
  func roundTripThroughTheFile(_ precision: Precision) throws {
    let documents = Self.vectors(50, 9, seed: 3)
    let ids = (0..<50).map { "id-\($0)" }
    let url = Self.temporaryFile()
    defer { try? FileManager.default.removeItem(at: url) }
    let built = try DenseIndex(
      vectors: documents, ids: ids, model: Self.identity(dimension: 9), precision: precision)
    try built.write(to: url)
    let loaded = try DenseIndex(contentsOf: url)
    #expect(loaded.ids == ids)
    #expect(loaded.model == built.model)
    #expect(loaded.precision == precision)
    for i in [0, 17, 49] { #expect(loaded.vector(at: i) == built.vector(at: i)) }
    let queries = Self.vectors(4, 9, seed: 8)
    let a = try built.search(queries: queries, topK: 5)
    let b = try loaded.search(queries: queries, topK: 5)
    #expect(a == b)
    if precision == .fp32 {
      #expect(loaded.vector(at: 17) == documents[17])
    }
  }

  @Test func int8ScoresAreExactIntegerProductsWithinTheQuantizationBound() throws {
    let d = 24
    let documents = Self.vectors(40, d, seed: 11)
    let index = try DenseIndex(
      vectors: documents, ids: (0..<40).map(String.init), model: Self.identity(dimension: d),
      precision: .int8)
    // Six queries go through the GEMM, one through the direct dot products.
    for queries in [Self.vectors(6, d, seed: 12), Self.vectors(1, d, seed: 13)] {
      let hits = try index.searchIndices(queries: queries, topK: 40)
      for (row, query) in queries.enumerated() {
        // The integer reference: q = round(x / s), s = max|x| / 127, products summed in Int32.
        let qMax = query.map(abs).max()!
        let qScale = qMax / 127
        let qInts = query.map { Int32(($0 / qScale).rounded()) }
        for hit in hits[row] {
          let doc = documents[hit.index]
          let dScale = doc.map(abs).max()! / 127
          let dInts = doc.map { Int32(($0 / dScale).rounded()) }
          let integer = zip(qInts, dInts).reduce(Int32(0)) { $0 + $1.0 * $1.1 }
          let expected = Float(integer) * qScale * dScale
          #expect(
            abs(hit.score - expected) <= 1e-6 * max(1, abs(expected)),
            "query \(row) doc \(hit.index): \(hit.score) vs integer reference \(expected)")
          // Against the exact fp32 product: each value is off by at most half a
          // step, so |error| ≤ (s_d/2)·‖q‖₁ + (s_q/2)·‖d‖₁ + D·s_q·s_d/4.
          let exact = zip(query, doc).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
          let bound =
            Double(dScale) / 2 * query.reduce(0.0) { $0 + Double(abs($1)) }
            + Double(qScale) / 2 * doc.reduce(0.0) { $0 + Double(abs($1)) }
            + Double(d) * Double(qScale * dScale) / 4
          #expect(
            abs(Double(hit.score) - exact) <= bound + 1e-6,
            "query \(row) doc \(hit.index): int8 \(hit.score) vs fp32 \(exact), bound \(bound)")
        }
      }
    }
  }

  @Test(arguments: [Precision.fp32, .int8])
  func appendAddsDocumentsAndRefusesDuplicatesAndOtherModels(_ precision: Precision) throws {
    let model = Self.identity(dimension: 4)
    let first = Self.vectors(5, 4, seed: 1)
    let second = Self.vectors(3, 4, seed: 2)
    let url = Self.temporaryFile()
    defer { try? FileManager.default.removeItem(at: url) }
    try DenseIndex(
      vectors: first, ids: ["a", "b", "c", "d", "e"], model: model, precision: precision
    ).write(to: url)
    let loaded = try DenseIndex(contentsOf: url)
    let appended = try loaded.appending(vectors: second, ids: ["f", "g", "h"], model: model)
    try appended.write(to: url)
    let reloaded = try DenseIndex(contentsOf: url)
    #expect(reloaded.ids == ["a", "b", "c", "d", "e", "f", "g", "h"])
    let whole = try DenseIndex(
      vectors: first + second, ids: reloaded.ids, model: model, precision: precision)
    for i in 0..<8 { #expect(reloaded.vector(at: i) == whole.vector(at: i)) }

    #expect(throws: RetrievalError.duplicateID(id: "c", path: url.path)) {
      try reloaded.appending(vectors: [second[0]], ids: ["c"], model: model)
    }
    let other = Self.identity(dimension: 4, fingerprint: "ffffffffffffffff")
    #expect {
      try reloaded.appending(vectors: [second[0]], ids: ["z"], model: other)
    } throws: { error in
      guard case RetrievalError.modelMismatch(let path, _, _) = error else { return false }
      return path == url.path
    }
  }

  @Test func duplicateIDsAreRefusedWhenBuilding() {
    #expect(throws: RetrievalError.duplicateID(id: "x", path: "(in memory)")) {
      try DenseIndex(vectors: [[1], [2]], ids: ["x", "x"], model: Self.identity(dimension: 1))
    }
    #expect(throws: RetrievalError.countMismatch(vectors: 2, ids: 1)) {
      try DenseIndex(vectors: [[1], [2]], ids: ["x"], model: Self.identity(dimension: 1))
    }
    #expect(throws: RetrievalError.dimensionMismatch(path: "(in memory)", expected: 1, actual: 2)) {
      try DenseIndex(vectors: [[1, 2]], ids: ["x"], model: Self.identity(dimension: 1))
    }
  }

  @Test func aTruncatedFileIsAnErrorNamingIt() throws {
    let url = Self.temporaryFile()
    defer { try? FileManager.default.removeItem(at: url) }
    try DenseIndex(
      vectors: Self.vectors(20, 8, seed: 4), ids: (0..<20).map(String.init),
      model: Self.identity(dimension: 8)
    ).write(to: url)
    let bytes = try Data(contentsOf: url)
    for cut in [bytes.count - 1, bytes.count / 2, 12, 3, 0] {
      try bytes.prefix(cut).write(to: url)
      #expect {
        try DenseIndex(contentsOf: url)
      } throws: { error in
        guard case RetrievalError.unreadableIndex(let path, _) = error else { return false }
        return path == url.path && "\(error)".contains(url.path)
      }
    }
  }

  @Test func idsThatDoNotMatchTheVectorsAreAnErrorNamingTheFile() throws {
    let url = Self.temporaryFile()
    defer { try? FileManager.default.removeItem(at: url) }
    let model = Self.identity(dimension: 2)
    let modelJSON = String(decoding: try JSONEncoder().encode(model), as: UTF8.self)
    try SafeTensors.write(
      [("vectors", Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6]))],
      metadata: [
        "format": "bert-swift-dense-index", "precision": "fp32", "model": modelJSON,
        "ids": "[\"a\",\"b\"]",
      ], to: url)
    #expect(throws: RetrievalError.idCountMismatch(path: url.path, idCount: 2, vectorCount: 3)) {
      try DenseIndex(contentsOf: url)
    }
    // A dimension that is not the model's.
    let wide = ModelIdentity(
      name: "m", path: "/m", fingerprint: "0", pooling: "mean", normalized: true, dimension: 3)
    try SafeTensors.write(
      [("vectors", Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6]))],
      metadata: [
        "format": "bert-swift-dense-index", "precision": "fp32",
        "model": String(decoding: try JSONEncoder().encode(wide), as: UTF8.self),
        "ids": "[\"a\",\"b\",\"c\"]",
      ], to: url)
    #expect(throws: RetrievalError.dimensionMismatch(path: url.path, expected: 3, actual: 2)) {
      try DenseIndex(contentsOf: url)
    }
    // A safetensors file that is no index.
    try SafeTensors.write([("weight", Tensor(shape: [1], scalars: [1]))], to: url)
    #expect(throws: RetrievalError.self) { try DenseIndex(contentsOf: url) }
  }

  @Test func topKHeapKeepsTheBestOfAStream() {
    var heap = TopK(capacity: 3)
    for (i, score) in [Float(0.5), 2, .nan, -1, 2, 7, 0.5, 3].enumerated() { heap.offer(score, i) }
    #expect(heap.sorted().map(\.index) == [5, 7, 1])
  }

  /// Rows offered whole (eight at a time against the root, then a scalar
  /// tail) keep what a full sort keeps: the K highest scores, ties to the
  /// lower index, NaN never. Scores are drawn from 13 values so ties are many.
  @Test(arguments: [1, 3, 10, 40])
  func topKOfRowsEqualsAFullSort(capacity: Int) {
    var generator = SeededGenerator(seed: UInt64(capacity))
    for lengths in [[0, 1, 7], [8, 9, 15], [16, 100, 3], [1000, 37, 250]] {
      var heap = TopK(capacity: capacity)
      var everything: [(score: Float, index: Int)] = []
      var offset = 5
      for length in lengths {
        let row = (0..<length).map { _ -> Float in
          let draw = Int(generator.next() % 14)
          return draw == 13 ? .nan : Float(draw - 6) / 4
        }
        row.withUnsafeBufferPointer { heap.offer($0, offset: offset) }
        everything += row.enumerated().map { (score: $1, index: offset + $0) }
        offset += length + 3
      }
      let expected = everything.filter { !$0.score.isNaN }
        .sorted { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
        .prefix(capacity)
      let kept = heap.sorted()
      #expect(
        kept.map(\.index) == expected.map(\.index) && kept.map(\.score) == expected.map(\.score),
        "lengths \(lengths), K \(capacity)")
    }
  }
}
