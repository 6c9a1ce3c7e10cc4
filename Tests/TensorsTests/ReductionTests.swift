import TestSupport
import Testing

@testable import Tensors

@Suite struct ReductionTests {
  // x = [[1, 2, 3],
  //      [4, 5, 6]]
  private let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])

  @Test(arguments: BackendKind.allAvailable)
  func allElementReductions(_ backend: BackendKind) {
    Compute.withBackend(backend) {
      let total = x.sum()
      #expect(total.shape == [])
      #expect(total.item == 21)
      let mean = x.mean()
      #expect(mean.shape == [])
      #expect(mean.item == 3.5)
      #expect(Tensor(shape: [1, 1], scalars: [-2]).sum().item == -2)
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func axisReductions(_ backend: BackendKind) {
    Compute.withBackend(backend) {
      expectClose(x.sum(axis: 0), Tensor(shape: [3], scalars: [5, 7, 9]), "sum axis 0")
      expectClose(x.sum(axis: 1), Tensor(shape: [2], scalars: [6, 15]), "sum axis 1")
      expectClose(
        x.sum(axis: -1, keepingDimension: true), Tensor(shape: [2, 1], scalars: [6, 15]),
        "sum axis -1 kept")
      expectClose(
        x.mean(axis: 0, keepingDimension: true), Tensor(shape: [1, 3], scalars: [2.5, 3.5, 4.5]),
        "mean axis 0 kept")
      expectClose(x.mean(axis: -1), Tensor(shape: [2], scalars: [2, 5]), "mean axis -1")
      expectClose(
        x.maximum(axis: 0), Tensor(shape: [3], scalars: [4, 5, 6]), "maximum axis 0")
      expectClose(
        x.maximum(axis: 1, keepingDimension: true), Tensor(shape: [2, 1], scalars: [3, 6]),
        "maximum axis 1 kept")
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func middleAxisOfOddShape(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 21)
    let cube = Tensor.randomNormal(shape: [7, 13, 5], generator: &generator)
    Compute.withBackend(backend) {
      let sums = cube.sum(axis: 1)  // [7, 5]
      let means = cube.mean(axis: -2, keepingDimension: true)  // [7, 1, 5]
      let maxima = cube.maximum(axis: 1)  // [7, 5]
      let positions = cube.argmax(axis: 1)
      #expect(sums.shape == [7, 5])
      #expect(means.shape == [7, 1, 5])
      var expectedSums: [Float] = []
      var expectedMaxima: [Float] = []
      var expectedPositions: [Int] = []
      for i in 0..<7 {
        for k in 0..<5 {
          var sum: Double = 0
          var best = -Float.infinity
          var position = -1
          for j in 0..<13 {
            sum += Double(cube[i, j, k])
            if cube[i, j, k] > best {
              best = cube[i, j, k]
              position = j
            }
          }
          expectedSums.append(Float(sum))
          expectedMaxima.append(best)
          expectedPositions.append(position)
        }
      }
      expectClose(sums.scalars, expectedSums, "sum axis 1")
      expectClose(means.scalars, expectedSums.map { $0 / 13 }, "mean axis -2")
      expectClose(maxima.scalars, expectedMaxima, rtol: 0, atol: 0, "maximum axis 1")
      #expect(positions == expectedPositions)
      // The last axis (contiguous rows), against the same loops.
      let rowSums = cube.sum(axis: 2)  // [7, 13]
      var expectedRowSums: [Float] = []
      for i in 0..<7 {
        for j in 0..<13 {
          var sum: Double = 0
          for k in 0..<5 { sum += Double(cube[i, j, k]) }
          expectedRowSums.append(Float(sum))
        }
      }
      expectClose(rowSums.scalars, expectedRowSums, "sum axis 2")
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func argmaxTakesTheFirstOfTies(_ backend: BackendKind) {
    // t = [[1, 3, 3],
    //      [2, 2, 0]]
    let t = Tensor(shape: [2, 3], scalars: [1, 3, 3, 2, 2, 0])
    let columnsTied = Tensor(shape: [2, 2], scalars: [5, 1, 5, 7])
    Compute.withBackend(backend) {
      #expect(t.argmax(axis: 1) == [1, 0])
      #expect(t.argmax(axis: -1) == [1, 0])
      #expect(t.argmax(axis: 0) == [1, 0, 0])
      #expect(columnsTied.argmax(axis: 0) == [0, 1])
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func maximumRoutesTheGradientToTheFirstTie(_ backend: BackendKind) {
    let t = Tensor(shape: [2, 3], scalars: [1, 3, 3, 2, 2, 0])
    let columnsTied = Tensor(shape: [2, 2], scalars: [5, 1, 5, 7])
    Compute.withBackend(backend) {
      let rows = Parameter(t)
      rows.value.maximum(axis: 1).backward(gradient: Tensor(shape: [2], scalars: [10, 20]))
      #expect(rows.grad?.scalars == [0, 10, 0, 20, 0, 0])
      let columns = Parameter(columnsTied)
      columns.value.maximum(axis: 0, keepingDimension: true).backward(
        gradient: Tensor(shape: [1, 2], scalars: [3, 4]))
      #expect(columns.grad?.scalars == [3, 0, 0, 4])
    }
  }

  @Test(arguments: BackendKind.allAvailable)
  func longSumsStayAccurate(_ backend: BackendKind) {
    // 0.1 is not exact in Float; a naive Float loop over 100 000 copies drifts by
    // about 1e-4 relative, while the exact sum of the stored value is known.
    let count = 100_000
    let tenth = Tensor(repeating: 0.1, shape: [count])
    let exact = Double(Float(0.1)) * Double(count)
    // Columns: a [count, 2] tensor summed over its long axis accumulates in Double.
    let pairs = Tensor(repeating: 0.1, shape: [count / 2, 2])
    Compute.withBackend(backend) {
      #expect(abs(Double(tenth.sum().item) - exact) / exact < 1e-7)
      #expect(abs(Double(tenth.mean().item) - exact / Double(count)) < 1e-8)
      #expect(abs(Double(tenth.sum(axis: 0).item) - exact) / exact < 1e-7)
      let columnSums = pairs.sum(axis: 0).scalars
      for value in columnSums { #expect(abs(Double(value) - exact / 2) / (exact / 2) < 1e-7) }
    }
    var naive: Float = 0
    for _ in 0..<count { naive += 0.1 }
    #expect(abs(Double(naive) - exact) / exact > 1e-6, "the naive sum should show the drift")
  }

  @Test(arguments: BackendKind.allAvailable)
  func gradients(_ backend: BackendKind) {
    var generator = SeededGenerator(seed: 22)
    // Distinct values 0.1 apart, so no finite-difference step (0.01) changes an arg-max.
    let values = (0..<60).shuffled(using: &generator).map { Float($0) * 0.1 - 3 }
    let t = Tensor(shape: [3, 4, 5], scalars: values)
    Compute.withBackend(backend) {
      checkGradients([t]) { $0[0].sum() }
      checkGradients([t]) { $0[0].mean() }
      for axis in [0, 1, 2, -1] {
        for keep in [false, true] {
          checkGradients([t]) { $0[0].sum(axis: axis, keepingDimension: keep) }
          checkGradients([t]) { $0[0].mean(axis: axis, keepingDimension: keep) }
          checkGradients([t]) { $0[0].maximum(axis: axis, keepingDimension: keep) }
        }
      }
      // A reduction feeding arithmetic: x − mean(x) along the last axis.
      checkGradients([t]) { $0[0] - $0[0].mean(axis: -1, keepingDimension: true) }
    }
  }
}
