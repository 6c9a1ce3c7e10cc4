import Foundation
import TestSupport
import Testing

@testable import BERT

/// The files written by `scripts/fixtures/make_model_fixtures.py` under `Fixtures/`.
enum ModelFixtures {
  /// `Fixtures/<path>` inside the test bundle.
  static func url(_ path: String) -> URL {
    Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(path)
  }

  /// The tiny random BERT's model directory.
  static var tinyModel: URL { url("tiny-bert/model") }

  /// A temporary copy of a model directory without the named files (large
  /// files are linked, not copied). The caller removes it.
  static func copy(_ directory: URL, without excluded: String...) throws -> URL {
    let manager = FileManager.default
    let copy = manager.temporaryDirectory.appendingPathComponent("model-\(UUID().uuidString)")
    try manager.createDirectory(at: copy, withIntermediateDirectories: true)
    for name in try manager.contentsOfDirectory(atPath: directory.path)
    where !excluded.contains(name) {
      let source = directory.appendingPathComponent(name)
      let target = copy.appendingPathComponent(name)
      if name.hasSuffix(".safetensors") {
        try manager.createSymbolicLink(at: target, withDestinationURL: source)
      } else {
        try manager.copyItem(at: source, to: target)
      }
    }
    return copy
  }

  /// Opens a reference file of tensors.
  static func reference(_ path: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(contentsOf: url(path))
  }
}

extension SafeTensorsFile {
  /// An I64 tensor as Ints, flattened.
  func ints(_ name: String) throws -> [Int] { try integers(named: name) }
}

/// The first `count` values of every real (unpadded) row of a [B, T, H]
/// tensor, in row order, for comparing outputs while ignoring padding.
func realRows(_ tensor: Tensor, lengths: [Int]) -> [Float] {
  let (t, h) = (tensor.shape[1], tensor.shape[2])
  let values = tensor.scalars
  var rows: [Float] = []
  for (b, length) in lengths.enumerated() {
    rows += values[(b * t * h)..<(b * t * h + length * h)]
  }
  return rows
}

/// Compares every parameter's gradient with the fixture's `grad.<key>`, with a
/// tolerance relative to the largest gradient of that tensor:
/// |Δ| ≤ max(rtol · max|g_ref|, floor) elementwise. The absolute floor covers
/// gradients that are zero by construction, such as the attention key biases
/// (softmax ignores a constant added to every score), where both sides hold
/// only Float rounding noise of about 1e-7.
func expectGradientsMatch(
  _ module: some Layer, reference: SafeTensorsFile, rtol: Float, floor: Float = 5e-6,
  sourceLocation: SourceLocation = #_sourceLocation
) throws {
  var checked = 0
  for (key, parameter) in module.namedParameters {
    let expected = try reference.tensor(named: "grad.\(key)")
    guard let actual = parameter.grad else {
      Issue.record("no gradient reached \(key)", sourceLocation: sourceLocation)
      continue
    }
    let scale = expected.scalars.map(abs).max() ?? 0
    expectClose(
      actual, expected, rtol: 0, atol: max(rtol * scale, floor), "grad.\(key):",
      sourceLocation: sourceLocation)
    checked += 1
  }
  #expect(checked == module.namedParameters.count, sourceLocation: sourceLocation)
}
