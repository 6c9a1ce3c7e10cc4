import TestSupport
import Testing

@testable import Tensors

@Suite struct ShapeTests {
  @Test(arguments: BackendKind.allAvailable)
  func transposeSwapsTheLastTwoDimensions(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 31)
    let odd = Tensor.randomNormal(shape: [3, 7, 13], generator: &generator)
    let wide = Tensor.randomNormal(shape: [40, 70], generator: &generator)  // several 32×32 tiles
    Compute.withBackend(backend) {
      // [[1, 2, 3], [4, 5, 6]]ᵀ = [[1, 4], [2, 5], [3, 6]]
      let matrix = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
      expectClose(matrix.transposed(), Tensor(shape: [3, 2], scalars: [1, 4, 2, 5, 3, 6]), "2×3")
      expectClose(Tensor(shape: [1, 1], scalars: [7]).transposed().scalars, [7], "1×1")
      let flipped = odd.transposed()  // [3, 13, 7]
      #expect(flipped.shape == [3, 13, 7])
      var matches = true
      for b in 0..<3 {
        for i in 0..<7 {
          for j in 0..<13 where flipped[b, j, i] != odd[b, i, j] { matches = false }
        }
      }
      #expect(matches, "batched 7×13 transpose")
      let wideFlipped = wide.transposed()
      matches = true
      for i in 0..<40 {
        for j in 0..<70 where wideFlipped[j, i] != wide[i, j] { matches = false }
      }
      #expect(matches, "40×70 transpose")
      checkGradients([odd]) { $0[0].transposed() }
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func headsSplitAndMerge(_ backend: BackendKind) {
    // x [B=1, T=2, H=4], two heads of size 2:
    //   token 0: [1, 2 | 3, 4],  token 1: [5, 6 | 7, 8]
    // heads [1, NH=2, T=2, D=2]:
    //   head 0: [[1, 2], [5, 6]],  head 1: [[3, 4], [7, 8]]
    let x = Tensor(shape: [1, 2, 4], scalars: [1, 2, 3, 4, 5, 6, 7, 8])
    var generator = SeededGenerator(seed: 32)
    let odd = Tensor.randomNormal(shape: [2, 3, 6], generator: &generator)  // [B, T, H]
    Compute.withBackend(backend) {
      let heads = x.splitHeads(2)
      #expect(heads.shape == [1, 2, 2, 2])
      #expect(heads.scalars == [1, 2, 5, 6, 3, 4, 7, 8])
      let merged = heads.mergeHeads()
      #expect(merged.shape == [1, 2, 4])
      #expect(merged.scalars == x.scalars)
      let split = odd.splitHeads(3)  // [2, 3, 3, 2]
      var matches = true
      for b in 0..<2 {
        for h in 0..<3 {
          for t in 0..<3 {
            for d in 0..<2 where split[b, h, t, d] != odd[b, t, h * 2 + d] { matches = false }
          }
        }
      }
      #expect(matches, "[2, 3, 6] split into 3 heads")
      #expect(split.mergeHeads().scalars == odd.scalars)
      checkGradients([odd]) { $0[0].splitHeads(3) }
      checkGradients([split]) { $0[0].mergeHeads() }
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func concatenateAndSplit(_ backend: BackendKind) {
    let a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
    let b = Tensor(shape: [2, 1], scalars: [5, 6])
    let c = Tensor(shape: [1, 2], scalars: [7, 8])
    Compute.withBackend(backend) {
      // [[1, 2], [3, 4]] ‖ [[5], [6]] along columns = [[1, 2, 5], [3, 4, 6]]
      expectClose(
        Tensor.concatenate([a, b], axis: 1), Tensor(shape: [2, 3], scalars: [1, 2, 5, 3, 4, 6]),
        "axis 1")
      expectClose(
        Tensor.concatenate([a, b], axis: -1), Tensor(shape: [2, 3], scalars: [1, 2, 5, 3, 4, 6]),
        "axis -1")
      expectClose(
        Tensor.concatenate([c, a, c], axis: 0),
        Tensor(shape: [4, 2], scalars: [7, 8, 1, 2, 3, 4, 7, 8]), "axis 0")
      let joined = Tensor(shape: [2, 3], scalars: [1, 2, 5, 3, 4, 6])
      let pieces = joined.split(sizes: [2, 1], axis: 1)
      #expect(pieces.count == 2)
      expectClose(pieces[0], a, "first piece")
      expectClose(pieces[1], b, "second piece")
      let rows = joined.split(sizes: [0, 1, 1], axis: 0)
      #expect(rows.map(\.shape) == [[0, 3], [1, 3], [1, 3]])
      #expect(rows[2].scalars == [3, 4, 6])
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func concatenateSplitAndSliceGradients(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 33)
    let a = Tensor.randomNormal(shape: [2, 3, 4], generator: &generator)
    let b = Tensor.randomNormal(shape: [2, 1, 4], generator: &generator)
    let c = Tensor.randomNormal(shape: [2, 2, 4], generator: &generator)
    Compute.withBackend(backend) {
      checkGradients([a, b, c]) { Tensor.concatenate($0, axis: 1) }
      checkGradients([a, a]) { Tensor.concatenate($0, axis: -1) }
      checkGradients([a]) { inputs in
        let pieces = inputs[0].split(sizes: [1, 2], axis: 1)
        return Tensor.concatenate([pieces[1], pieces[0] * 3], axis: 1)
      }
      checkGradients([a]) { $0[0].slice(axis: 2, range: 1..<3) }
      checkGradients([a]) { $0[0].slice(axis: 0, range: 1..<2) }
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func sliceCopiesARange(_ backend: BackendKind) {
    // t = [[1, 2, 3, 4],
    //      [5, 6, 7, 8]]
    let t = Tensor(shape: [2, 4], scalars: [1, 2, 3, 4, 5, 6, 7, 8])
    Compute.withBackend(backend) {
      expectClose(
        t.slice(axis: 1, range: 1..<3), Tensor(shape: [2, 2], scalars: [2, 3, 6, 7]), "columns")
      expectClose(
        t.slice(axis: -2, range: 1..<2), Tensor(shape: [1, 4], scalars: [5, 6, 7, 8]), "row")
      let parameter = Parameter(t)
      parameter.value.slice(axis: 1, range: 2..<4).backward(
        gradient: Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
      #expect(parameter.grad?.scalars == [0, 0, 1, 2, 0, 0, 3, 4], "zero-padded gradient")
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func gatherRowsIsTheEmbeddingLookup(_ backend: BackendKind) {
    // table [N=3, 2] = [[1, 2], [3, 4], [5, 6]]
    let table = Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
    var generator = SeededGenerator(seed: 34)
    let embeddings = Tensor.randomNormal(shape: [5, 2, 3], generator: &generator)
    Compute.withBackend(backend) {
      let rows = table.gatherRows([2, 0, 2])
      expectClose(rows, Tensor(shape: [3, 2], scalars: [5, 6, 1, 2, 5, 6]), "rows 2, 0, 2")
      #expect(table.gatherRows([]).shape == [0, 2])
      // Row 2 is picked twice, so it receives the sum of both gradient rows.
      let parameter = Parameter(table)
      parameter.value.gatherRows([2, 0, 2]).backward(
        gradient: Tensor(shape: [3, 2], scalars: [1, 2, 10, 20, 100, 200]))
      #expect(parameter.grad?.scalars == [10, 20, 0, 0, 101, 202])
      checkGradients([embeddings]) { $0[0].gatherRows([4, 1, 4, 4, 0]) }
    }
  }

  @Test func gatherRowsRejectsAnOutOfRangeIndex() async {
    #expect(
      throws: ShapeError.indexOutOfRange(op: "gatherRows", index: 3, position: 1, count: 3)
    ) {
      try Tensor.checkRowIndices([0, 3, 1], rowCount: 3, op: "gatherRows")
    }
    #expect(throws: ShapeError.self) {
      try Tensor.checkRowIndices([-1], rowCount: 3, op: "gatherRows")
    }
    #expect(
      ShapeError.indexOutOfRange(op: "gatherRows", index: 3, position: 1, count: 3).description
        == "gatherRows: index 3 at position 1 is out of range for 3 rows")
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor(zeros: [3, 2]).gatherRows([0, 7])
    }
    if let result {
      let message = String(decoding: result.standardErrorContent, as: UTF8.self)
      #expect(message.contains("index 7 at position 1 is out of range for 3 rows"), "\(message)")
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func unitDimensionsAndBroadcastTo(_ backend: BackendKind) {
    let row = Tensor(shape: [3], scalars: [1, 2, 3])
    Compute.withBackend(backend) {
      #expect(row.unsqueezed(axis: 0).shape == [1, 3])
      #expect(row.unsqueezed(axis: -1).shape == [3, 1])
      #expect(row.unsqueezed(axis: 0).squeezed(axis: 0).shape == [3])
      #expect(Tensor(zeros: [2, 1, 4]).squeezed(axis: -2).shape == [2, 4])
      let stretched = row.broadcasted(to: [2, 3])
      expectClose(stretched, Tensor(shape: [2, 3], scalars: [1, 2, 3, 1, 2, 3]), "[3] → [2, 3]")
      let column = Tensor(shape: [2, 1], scalars: [1, 2])
      expectClose(
        column.broadcasted(to: [2, 2, 3]),
        Tensor(shape: [2, 2, 3], scalars: [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2]), "[2,1] → [2,2,3]")
      checkGradients([column]) { $0[0].broadcasted(to: [2, 2, 3]) }
      checkGradients([row]) { $0[0].unsqueezed(axis: 1).broadcasted(to: [3, 4]) }
    }
  }
}
