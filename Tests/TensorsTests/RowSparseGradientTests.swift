import TestSupport
import Testing

@testable import Tensors

/// A row lookup on a parameter gives it only the touched rows' gradient; that
/// must equal, bit for bit, the dense table a lookup on any other tensor gives.
@Suite struct RowSparseGradientTests {
  /// table [N=4, 3]; ids pick rows 3, 1, 3 (row 3 twice, rows 0 and 2 never).
  @Test(arguments: BackendKind.allAvailable)
  func aParameterLookupKeepsOnlyTheTouchedRows(_ backend: BackendKind) throws {
    let table = Tensor(shape: [4, 3], scalars: (0..<12).map(Float.init))
    // dy rows: [1, 2, 3], [10, 20, 30], [100, 200, 300]
    let gradient = Tensor(shape: [3, 3], scalars: [1, 2, 3, 10, 20, 30, 100, 200, 300])
    try Compute.withBackend(backend) {
      let parameter = Parameter(table)
      parameter.value.gatherRows([3, 1, 3]).backward(gradient: gradient)
      guard case .rows(let rows) = try #require(parameter.gradient) else {
        Issue.record("the gradient of a looked-up parameter is dense")
        return
      }
      #expect(rows.rows == [1, 3])
      // Row 1 gets dy row 1; row 3 gets dy rows 0 + 2.
      #expect(rows.values.scalars == [10, 20, 30, 101, 202, 303])
      #expect(parameter.grad?.scalars == [0, 0, 0, 10, 20, 30, 0, 0, 0, 101, 202, 303])
    }
  }

  /// Random gradients over several passes, repeated ids: the sparse
  /// accumulation equals the dense one exactly, also when a dense gradient
  /// (another op on the same table) joins in.
  @Test(arguments: BackendKind.allAvailable)
  func accumulationEqualsTheDenseTableExactly(_ backend: BackendKind) throws {
    var generator = SeededGenerator(seed: 51)
    let table = Tensor.randomNormal(shape: [9, 5], generator: &generator)  // [N, W]
    let passes = [[7, 2, 7, 7, 0], [2, 8], [5, 5, 1, 2]]
    let gradients = passes.map {
      Tensor.randomNormal(shape: [$0.count, 5], generator: &generator)  // [ids, W]
    }
    let cotangent = Tensor.randomNormal(shape: [9, 5], generator: &generator)  // [N, W]
    try Compute.withBackend(backend) {
      let sparse = Parameter(table)
      let dense = Parameter(table)
      let mixed = Parameter(table)
      for (ids, gradient) in zip(passes, gradients) {
        sparse.value.gatherRows(ids).backward(gradient: gradient)
        // Through an identity first: the lookup's input is no parameter, so it is dense.
        (dense.value * 1).gatherRows(ids).backward(gradient: gradient)
      }
      guard case .rows(let rows) = try #require(sparse.gradient) else {
        Issue.record("several lookups made the gradient dense")
        return
      }
      #expect(rows.rows == [0, 1, 2, 5, 7, 8])
      guard case .dense = try #require(dense.gradient) else {
        Issue.record("a lookup on a non-parameter gave a row-sparse gradient")
        return
      }
      let sparseGrad = try #require(sparse.grad)
      let denseGrad = try #require(dense.grad)
      expectClose(sparseGrad, denseGrad, rtol: 0, atol: 0, "sparse against dense:")

      // A dense gradient, then a sparse one, then dense again.
      (mixed.value * cotangent).backward(gradient: Tensor(ones: [9, 5]))
      mixed.value.gatherRows(passes[0]).backward(gradient: gradients[0])
      (mixed.value * cotangent).backward(gradient: Tensor(ones: [9, 5]))
      var expected = cotangent
      expected.addInPlace((dense.value * 1).gatheredGradient(passes[0], gradients[0]))
      expected.addInPlace(cotangent)
      let mixedGrad = try #require(mixed.grad)
      expectClose(mixedGrad, expected, rtol: 0, atol: 0, "dense + sparse + dense:")
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func scalingAndClearing(_ backend: BackendKind) {
    let parameter = Parameter(Tensor(zeros: [3, 2]))
    Compute.withBackend(backend) {
      parameter.value.gatherRows([2]).backward(gradient: Tensor(shape: [1, 2], scalars: [4, -6]))
      parameter.scaleGradient(by: 0.5)
      #expect(parameter.grad?.scalars == [0, 0, 0, 0, 2, -3])
      parameter.zeroGradient()
      #expect(parameter.gradient == nil)
    }
  }

  /// The backward of a lookup, through the parameter's row-sparse path and
  /// through the dense path, against central differences.
  @Test(arguments: BackendKind.allAvailable)
  func lookupGradientsMatchFiniteDifferences(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 52)
    let table = Tensor.randomNormal(shape: [6, 2, 3], generator: &generator)  // [N, 2, 3]
    Compute.withBackend(backend) {
      // checkGradients makes each input a Parameter: the row-sparse path.
      checkGradients([table]) { $0[0].gatherRows([5, 1, 5, 0, 5]) }
      // The lookup's input is a product, not a parameter: the dense path.
      checkGradients([table]) { ($0[0] * $0[0]).gatherRows([5, 1, 5, 0, 5]) }
    }
  }

  @Test func rowsMustBeAscendingAndInside() async {
    await #expect(processExitsWith: .failure) {
      _ = RowSparseGradient(shape: [4, 2], rows: [2, 1], values: Tensor(zeros: [2, 2]))
    }
    await #expect(processExitsWith: .failure) {
      _ = RowSparseGradient(shape: [4, 2], rows: [4], values: Tensor(zeros: [1, 2]))
    }
  }
}

extension Tensor {
  /// The dense gradient a lookup of `ids` gives this (untracked) table for dy `gradient`.
  fileprivate func gatheredGradient(_ ids: [Int], _ gradient: Tensor) -> Tensor {
    let parameter = Parameter(self * 1)
    (parameter.value * 1).gatherRows(ids).backward(gradient: gradient)
    return parameter.grad!
  }
}
