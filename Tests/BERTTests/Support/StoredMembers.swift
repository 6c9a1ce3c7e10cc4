@testable import BERT

/// What a value stores, found by reflection (`Mirror`) through structs,
/// arrays, optionals and existentials: every ``Parameter`` and every
/// ``LinearProjection``, each with its property path (`.bert.encoder.layers[0].output.dense`).
struct StoredMembers {
  var parameters: [(path: String, parameter: Parameter)] = []
  var projections: [(path: String, projection: any LinearProjection)] = []

  /// Walks `value`; `stop` says at which projections not to look inside.
  init(of value: Any, stoppingAt stop: (any LinearProjection) -> Bool = { _ in false }) {
    walk(value, path: "", stop: stop)
  }

  private mutating func walk(
    _ value: Any, path: String, stop: (any LinearProjection) -> Bool
  ) {
    if let parameter = value as? Parameter {
      parameters.append((path, parameter))
      return  // a parameter's tensors are its own
    }
    if let projection = value as? any LinearProjection {
      projections.append((path, projection))
      if stop(projection) { return }
    }
    let mirror = Mirror(reflecting: value)
    for (index, child) in mirror.children.enumerated() {
      switch mirror.displayStyle {
      case .optional: walk(child.value, path: path, stop: stop)
      case .collection: walk(child.value, path: "\(path)[\(index)]", stop: stop)
      default: walk(child.value, path: path + "." + (child.label ?? "\(index)"), stop: stop)
      }
    }
  }
}

/// A projection that `mapProjections` put in place, with the key it was given.
struct VisitedProjection: LinearProjection {
  var key: String
  var inner: any LinearProjection

  var inputSize: Int { inner.inputSize }
  var outputSize: Int { inner.outputSize }
  func callAsFunction(_ x: Tensor) -> Tensor { inner(x) }
  var namedParameters: [(key: String, parameter: Parameter)] { inner.namedParameters }
  mutating func mapProjections(_ transform: ProjectionTransform) rethrows {}
}

/// Every way `layer`'s stored members and its `namedParameters` and
/// `mapProjections` disagree, as sentences naming the property path; empty
/// when they agree:
/// - a stored parameter missing from `namedParameters`, or listed twice, or
///   stored at two paths; a listed parameter that is not stored;
/// - a stored projection that `mapProjections` does not reach, or reaches
///   under a key whose parameters are not that projection's in `namedParameters`.
func parameterProblems(of layer: some Layer) -> [String] {
  var problems: [String] = []
  let name = "\(type(of: layer))"
  var listed: [ObjectIdentifier: [String]] = [:]  // parameter → its keys
  for (key, parameter) in layer.namedParameters {
    listed[ObjectIdentifier(parameter), default: []].append(key)
  }
  for keys in listed.values where keys.count > 1 {
    problems.append("\(name): one parameter is listed \(keys.count) times, as \(keys)")
  }
  var stored: [ObjectIdentifier: String] = [:]  // parameter → its path
  for (path, parameter) in StoredMembers(of: layer).parameters {
    let id = ObjectIdentifier(parameter)
    if let earlier = stored[id] {
      problems.append("\(name)\(path) is the same parameter as \(name)\(earlier)")
    }
    stored[id] = path
    if listed[id] == nil {
      problems.append("\(name)\(path) is stored but missing from namedParameters")
    }
  }
  for (key, parameter) in layer.namedParameters where stored[ObjectIdentifier(parameter)] == nil {
    problems.append("\(name).namedParameters lists \(key), which \(name) does not store")
  }

  var mapped = layer
  mapped.mapProjections { VisitedProjection(key: $0, inner: $1) }
  let keyOf = Dictionary(layer.namedParameters.map { ($0.key, ObjectIdentifier($0.parameter)) }) {
    first, _ in first
  }
  for (path, projection) in StoredMembers(of: mapped, stoppingAt: { $0 is VisitedProjection })
    .projections
  {
    guard let visited = projection as? VisitedProjection else {
      problems.append("\(name)\(path) holds a projection that mapProjections does not reach")
      continue
    }
    for (key, parameter) in visited.inner.namedParameters
    where keyOf["\(visited.key).\(key)"] != ObjectIdentifier(parameter) {
      problems.append(
        "\(name)\(path) was mapped as \(visited.key), but namedParameters has not its "
          + "\(key) under \(visited.key).\(key)")
    }
  }
  return problems
}
