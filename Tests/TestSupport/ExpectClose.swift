import Tensors
import Testing

/// The largest deviation between two arrays, measured as HF and NumPy's
/// `allclose` do: an element passes when |a − e| ≤ atol + rtol·|e|.
public struct CloseReport: CustomStringConvertible {
  /// The largest |a − e| and its flat index.
  public var maxAbsoluteDifference: Float = 0
  public var indexOfMaxDifference = 0
  /// How many elements fail the tolerance, and the first of them.
  public var failures = 0
  public var firstFailure: (index: Int, actual: Float, expected: Float)?

  public var description: String {
    var text = "max |Δ| = \(maxAbsoluteDifference) at index \(indexOfMaxDifference)"
    if let first = firstFailure {
      text += "; \(failures) elements out of tolerance, first at \(first.index): "
      text += "actual \(first.actual), expected \(first.expected)"
    }
    return text
  }

  /// Compares element by element. NaN matches nothing, not even NaN.
  public init(_ actual: [Float], _ expected: [Float], rtol: Float, atol: Float) {
    for index in 0..<min(actual.count, expected.count) {
      let a = actual[index]
      let e = expected[index]
      let difference = abs(a - e)
      if !(difference <= maxAbsoluteDifference) || difference.isNaN {
        if !maxAbsoluteDifference.isNaN {
          maxAbsoluteDifference = difference
          indexOfMaxDifference = index
        }
      }
      if !(difference <= atol + rtol * abs(e)) {
        failures += 1
        if firstFailure == nil { firstFailure = (index, a, e) }
      }
    }
  }
}

/// Expects `actual` and `expected` to agree within `atol + rtol·|expected|` everywhere.
/// On failure, records the largest difference and the first failing element.
public func expectClose(
  _ actual: [Float], _ expected: [Float], rtol: Float = 1e-5, atol: Float = 1e-6,
  _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
  guard actual.count == expected.count else {
    Issue.record(
      "\(comment) sizes differ: \(actual.count) against \(expected.count)",
      sourceLocation: sourceLocation)
    return
  }
  let report = CloseReport(actual, expected, rtol: rtol, atol: atol)
  if report.failures > 0 {
    Issue.record(
      "\(comment) not close (rtol \(rtol), atol \(atol)): \(report)", sourceLocation: sourceLocation
    )
  }
}

/// Expects two tensors to have the same shape and agree within the tolerances.
public func expectClose(
  _ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-5, atol: Float = 1e-6,
  _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
  guard actual.shape == expected.shape else {
    Issue.record(
      "\(comment) shapes differ: \(actual.shape) against \(expected.shape)",
      sourceLocation: sourceLocation)
    return
  }
  expectClose(
    actual.scalars, expected.scalars, rtol: rtol, atol: atol, comment,
    sourceLocation: sourceLocation)
}
