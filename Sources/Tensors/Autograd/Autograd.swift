// Reverse-mode automatic differentiation over coarse ops.
//
// An op that runs while recording is on, with at least one tracked input,
// attaches a `GradNode` to its result. The node holds the input nodes and a
// closure that maps the gradient of the result to the gradients of the inputs.
// `backward()` walks the nodes in reverse creation order, then drops every
// closure, so the saved activations are freed as soon as the pass is done.

import Foundation

/// Whether ops record themselves for differentiation.
public enum GradientMode {
  @TaskLocal static var isRecording = true

  /// Whether ops record in the current task.
  public static var isEnabled: Bool { isRecording }
}

/// Runs `body` without recording: inference builds no graph and keeps no activations.
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
  try GradientMode.$isRecording.withValue(false, operation: body)
}

/// One recorded op, or a leaf that feeds a ``Parameter``.
final class GradNode {
  nonisolated(unsafe) private static var counter: UInt64 = 0
  /// Graphs may be recorded on several threads at once (data-parallel ranks
  /// as threads); ids must stay distinct and increasing.
  private static let counterLock = NSLock()

  /// Creation order; an op's node is always newer than its inputs' nodes.
  let id: UInt64
  /// The shape of the tensor this node produced, for checking gradients.
  let shape: [Int]
  /// The nodes of the op's inputs, aligned with the closure's results.
  let inputs: [GradNode?]
  /// Maps the gradient of the result to one gradient per input (nil: none).
  var backward: ((Tensor) -> [Tensor?])?
  /// The gradient accumulated so far during a backward pass.
  var grad: Tensor?
  /// For a leaf: the parameter that receives the gradient.
  weak var parameter: Parameter?

  init(shape: [Int], inputs: [GradNode?], backward: ((Tensor) -> [Tensor?])?) {
    id = GradNode.counterLock.withLock {
      GradNode.counter &+= 1
      return GradNode.counter
    }
    self.shape = shape
    self.inputs = inputs
    self.backward = backward
  }

  /// Adds `gradient` to this node's gradient (or to its parameter's).
  func accumulate(_ gradient: Tensor) {
    ensure(
      gradient.shape == shape,
      "autograd: gradient of shape \(gradient.shape) for a tensor of shape \(shape)")
    if let parameter {
      parameter.accumulateGradient(gradient)
    } else if grad == nil {
      grad = gradient.detached()
    } else {
      grad!.addInPlace(gradient)
    }
  }
}

/// A trainable tensor. Its gradient accumulates across backward passes until
/// ``zeroGradient()``.
public final class Parameter: @unchecked Sendable {
  /// The current value. Ops that use it are recorded for differentiation.
  public var value: Tensor {
    didSet {
      ensure(
        value.shape == leaf.shape,
        "Parameter \(name): new value of shape \(value.shape), expected \(leaf.shape)")
      value.node = leaf
    }
  }
  /// The accumulated gradient, the shape of ``value``; nil until a backward pass reaches it.
  ///
  /// A row-sparse gradient (see ``gradient``) is expanded to a new dense tensor on every read.
  public var grad: Tensor? {
    switch gradient {
    case nil: nil
    case .dense(let tensor): tensor
    case .rows(let rows): rows.densified()
    }
  }
  /// The accumulated gradient in the form the ops produced it: dense, or only
  /// the touched rows of a table that was looked up by row.
  public private(set) var gradient: ParameterGradient?
  /// The checkpoint key, e.g. `encoder.layer.0.attention.self.query.weight`.
  public let name: String
  private let leaf: GradNode

  /// Wraps `value` as a trainable parameter.
  public init(_ value: Tensor, name: String = "") {
    self.name = name
    leaf = GradNode(shape: value.shape, inputs: [], backward: nil)
    self.value = value
    self.value.node = leaf
    leaf.parameter = self
  }

  /// Clears the accumulated gradient.
  public func zeroGradient() { gradient = nil }

  /// Multiplies the accumulated gradient by `factor` in place (gradient clipping).
  public func scaleGradient(by factor: Float) {
    switch gradient {
    case nil: return
    case .dense(var tensor):
      gradient = nil  // so that the tensor's storage is not shared while it is written
      tensor.withUnsafeMutableBufferPointer { values in
        let base = values.baseAddress!
        Parallel.forEachChunk(values.count) { range in
          for index in range { base[index] *= factor }
        }
      }
      gradient = .dense(tensor)
    case .rows(var rows):
      gradient = nil
      rows.scale(by: factor)
      gradient = .rows(rows)
    }
  }

  /// Replaces the gradient, e.g. after clipping.
  public func setGradient(_ gradient: Tensor?) {
    if let gradient {
      ensure(
        gradient.shape == value.shape,
        "Parameter \(name): gradient shape \(gradient.shape), expected \(value.shape)")
    }
    self.gradient = gradient.map { .dense($0.detached()) }
  }

  func accumulateGradient(_ gradient: Tensor) {
    switch self.gradient {
    case nil: self.gradient = .dense(gradient.detached())
    case .dense(var tensor):
      self.gradient = nil
      tensor.addInPlace(gradient)
      self.gradient = .dense(tensor)
    case .rows(let rows):
      var tensor = rows.densified()
      tensor.addInPlace(gradient)
      self.gradient = .dense(tensor)
    }
  }

  /// Adds a gradient that is zero outside `rows.rows`: kept row-sparse unless
  /// the parameter already holds a dense gradient, which it is added to.
  func accumulateRowGradient(_ rows: RowSparseGradient) {
    ensure(
      rows.shape == value.shape,
      "Parameter \(name): row gradient of shape \(rows.shape), expected \(value.shape)")
    switch gradient {
    case nil: gradient = .rows(rows)
    case .dense(var tensor):
      gradient = nil
      rows.add(to: &tensor)
      gradient = .dense(tensor)
    case .rows(let existing): gradient = .rows(existing.adding(rows))
    }
  }
}

/// A ``Parameter``'s accumulated gradient.
public enum ParameterGradient: Sendable {
  /// Every element, the shape of the parameter.
  case dense(Tensor)
  /// Only some rows of a [N, S…] parameter; the others are zero.
  case rows(RowSparseGradient)
}

extension Tensor {
  /// Whether this tensor is part of a recorded graph (produced by a recorded
  /// op, or the value of a ``Parameter``).
  public var isTracked: Bool { node != nil }

  /// Attaches a backward function to `result` when recording is on and an input is tracked.
  ///
  /// This is how every op joins the graph:
  /// ```swift
  /// let y = ...                                    // forward, computed without autograd
  /// return Tensor.record(y, inputs: [x]) { dy in   // dy has y's shape
  ///   [dy * (1 - y * y)]                           // one gradient per input, or nil
  /// }
  /// ```
  /// The closure runs with recording off. It must not capture `result` after
  /// this call (capture the value computed before it), or the graph would keep
  /// itself alive.
  public static func record(
    _ result: Tensor, inputs: [Tensor], backward: @escaping (_ gradient: Tensor) -> [Tensor?]
  ) -> Tensor {
    guard GradientMode.isRecording, inputs.contains(where: { $0.node != nil }) else {
      return result
    }
    var tracked = result.detached()
    tracked.node = GradNode(shape: result.shape, inputs: inputs.map(\.node), backward: backward)
    return tracked
  }

  /// Back-propagates from this tensor into every tracked input and parameter.
  ///
  /// - Parameter gradient: the gradient of the final objective with respect to
  ///   this tensor; defaults to 1 for a one-element tensor (a loss).
  public func backward(gradient: Tensor? = nil) {
    guard let root = node else {
      ensureFailure(
        "backward: this tensor was not recorded (no tracked inputs, or gradients were off)")
    }
    let seed =
      gradient
      ?? {
        ensure(count == 1, "backward: a tensor of shape \(shape) needs an explicit gradient")
        return Tensor(repeating: 1, shape: shape)
      }()
    // Collect the graph, newest first.
    var seen = Set<ObjectIdentifier>()
    var order: [GradNode] = []
    var stack = [root]
    while let current = stack.popLast() {
      guard seen.insert(ObjectIdentifier(current)).inserted else { continue }
      order.append(current)
      for case let input? in current.inputs { stack.append(input) }
    }
    order.sort { $0.id > $1.id }

    withoutGradients {
      root.accumulate(seed)
      for current in order {
        guard let backward = current.backward, let grad = current.grad else { continue }
        let inputGrads = backward(grad)
        ensure(
          inputGrads.count == current.inputs.count,
          "autograd: an op returned \(inputGrads.count) gradients for \(current.inputs.count) inputs"
        )
        for (input, inputGrad) in zip(current.inputs, inputGrads) {
          if let input, let inputGrad { input.accumulate(inputGrad) }
        }
        current.grad = nil
      }
    }
    // Release the saved activations: the graph is spent.
    for current in order {
      current.backward = nil
      current.grad = nil
    }
  }
}
