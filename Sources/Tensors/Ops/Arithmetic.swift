// Elementwise arithmetic, forward and backward: + − × ÷ between tensors with
// broadcasting, with scalars on either side, and the unary functions.
//
// Shapes: A, B are the operands' shapes; A ⊕ B is the shape they broadcast to
// (NumPy's rules, see Broadcasting.swift). S… is any shape.
//
// Backward of a broadcast operand sums the gradient back to its own shape.
// Gradients are only computed for operands that are tracked.
//
// sqrt, exp and log are free functions, as for Float: a method of that name
// would hide the Float functions from every `extension Tensor` in the module.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

private struct Add: BinaryElementKernel {
  @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b }
}
private struct Subtract: BinaryElementKernel {
  @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b }
}
private struct Multiply: BinaryElementKernel {
  @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b }
}
private struct Divide: BinaryElementKernel {
  @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b }
}
private struct NegatedProduct: BinaryElementKernel {
  @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { -(a * b) }
}

/// A function of one float, applied at every position by ``Tensor/applying(_:)``.
protocol UnaryElementKernel {
  func callAsFunction(_ x: Float) -> Float
}

private struct AddScalar: UnaryElementKernel {
  let scalar: Float
  @inline(__always) func callAsFunction(_ x: Float) -> Float { x + scalar }
}
private struct SubtractFromScalar: UnaryElementKernel {
  let scalar: Float
  @inline(__always) func callAsFunction(_ x: Float) -> Float { scalar - x }
}
private struct MultiplyByScalar: UnaryElementKernel {
  let scalar: Float
  @inline(__always) func callAsFunction(_ x: Float) -> Float { x * scalar }
}
private struct DivideByScalar: UnaryElementKernel {
  let scalar: Float
  @inline(__always) func callAsFunction(_ x: Float) -> Float { x / scalar }
}
private struct DivideScalarBy: UnaryElementKernel {
  let scalar: Float
  @inline(__always) func callAsFunction(_ x: Float) -> Float { scalar / x }
}
private struct Negate: UnaryElementKernel {
  @inline(__always) func callAsFunction(_ x: Float) -> Float { -x }
}
private struct SquareRoot: UnaryElementKernel {
  @inline(__always) func callAsFunction(_ x: Float) -> Float { x.squareRoot() }
}
private struct Exponential: UnaryElementKernel {
  @inline(__always) func callAsFunction(_ x: Float) -> Float { exp(x) }
}
private struct Logarithm: UnaryElementKernel {
  @inline(__always) func callAsFunction(_ x: Float) -> Float { log(x) }
}
private struct Square: UnaryElementKernel {
  @inline(__always) func callAsFunction(_ x: Float) -> Float { x * x }
}
private struct Clamp: UnaryElementKernel {
  let lower: Float
  let upper: Float
  @inline(__always) func callAsFunction(_ x: Float) -> Float {
    Swift.min(Swift.max(x, lower), upper)
  }
}

/// d sqrt(x) = dy / (2·sqrt(x)), from the saved output.
private struct SquareRootBackward: BinaryElementKernel {
  @inline(__always) func callAsFunction(_ grad: Float, _ y: Float) -> Float { grad * 0.5 / y }
}
/// d x² = 2·x·dy.
private struct SquareBackward: BinaryElementKernel {
  @inline(__always) func callAsFunction(_ grad: Float, _ x: Float) -> Float { 2 * x * grad }
}
/// The gradient passes where the input lies inside [lower, upper], as in PyTorch.
private struct ClampBackward: BinaryElementKernel {
  let lower: Float
  let upper: Float
  @inline(__always) func callAsFunction(_ grad: Float, _ x: Float) -> Float {
    x >= lower && x <= upper ? grad : 0
  }
}

extension Tensor {
  /// `kernel(x)` at every position, on the compute threads. Not recorded.
  func applying<Kernel: UnaryElementKernel>(_ kernel: Kernel) -> Tensor {
    let result = Tensor(uninitializedShape: shape)  // [S…]
    let source = UnsafePointer(storage.pointer)
    let target = result.storage.pointer
    Parallel.forEachChunk(count) { range in
      for index in range { target[index] = kernel(source[index]) }
    }
    return result
  }

  /// Broadcasts, runs `kernel`, and records the gradients `backward` gives for
  /// the full result shape; each is then summed back to its operand's shape.
  private static func binary<Kernel: BinaryElementKernel>(
    _ lhs: Tensor, _ rhs: Tensor, op: String, _ kernel: Kernel,
    backward: @escaping (_ grad: Tensor, _ needsLhs: Bool, _ needsRhs: Bool) -> (Tensor?, Tensor?)
  ) -> Tensor {
    let shape = broadcastShapeOrTrap(lhs.shape, rhs.shape, op: op)
    let y = elementwise(lhs, rhs, shape: shape, kernel)  // [A ⊕ B]
    let lhsShape = lhs.shape
    let rhsShape = rhs.shape
    let needsLhs = lhs.isTracked
    let needsRhs = rhs.isTracked
    return record(y, inputs: [lhs, rhs]) { grad in  // grad: [A ⊕ B]
      let (gradLhs, gradRhs) = backward(grad, needsLhs, needsRhs)
      return [
        needsLhs ? gradLhs?.summed(toShape: lhsShape) : nil,  // [A]
        needsRhs ? gradRhs?.summed(toShape: rhsShape) : nil,  // [B]
      ]
    }
  }

  // MARK: Tensor ∘ Tensor

  /// The elementwise sum, broadcasting: [A] + [B] → [A ⊕ B].
  public static func + (lhs: Tensor, rhs: Tensor) -> Tensor {
    binary(lhs, rhs, op: "+", Add()) { grad, _, _ in (grad, grad) }
  }

  /// The elementwise difference, broadcasting: [A] − [B] → [A ⊕ B].
  public static func - (lhs: Tensor, rhs: Tensor) -> Tensor {
    binary(lhs, rhs, op: "-", Subtract()) { grad, _, needsRhs in
      (grad, needsRhs ? grad.applying(Negate()) : nil)
    }
  }

  /// The elementwise product, broadcasting: [A] · [B] → [A ⊕ B].
  public static func * (lhs: Tensor, rhs: Tensor) -> Tensor {
    binary(lhs, rhs, op: "*", Multiply()) { grad, needsLhs, needsRhs in
      let shape = grad.shape
      return (
        needsLhs ? elementwise(grad, rhs, shape: shape, Multiply()) : nil,  // dy·b
        needsRhs ? elementwise(grad, lhs, shape: shape, Multiply()) : nil  // dy·a
      )
    }
  }

  /// The elementwise quotient, broadcasting: [A] / [B] → [A ⊕ B].
  public static func / (lhs: Tensor, rhs: Tensor) -> Tensor {
    let shape = broadcastShapeOrTrap(lhs.shape, rhs.shape, op: "/")
    let y = elementwise(lhs, rhs, shape: shape, Divide())  // [A ⊕ B]
    let lhsShape = lhs.shape
    let rhsShape = rhs.shape
    let needsLhs = lhs.isTracked
    let needsRhs = rhs.isTracked
    return record(y, inputs: [lhs, rhs]) { grad in  // grad: [A ⊕ B]
      // y = a/b:  da = dy/b,  db = −dy·a/b² = −(dy/b)·y.
      let quotient = elementwise(grad, rhs, shape: shape, Divide())  // [A ⊕ B]
      return [
        needsLhs ? quotient.summed(toShape: lhsShape) : nil,
        needsRhs
          ? elementwise(quotient, y, shape: shape, NegatedProduct()).summed(toShape: rhsShape)
          : nil,
      ]
    }
  }

  /// The elementwise negation: −[S…] → [S…].
  public static prefix func - (operand: Tensor) -> Tensor {
    let y = operand.applying(Negate())  // [S…]
    return record(y, inputs: [operand]) { grad in [grad.applying(Negate())] }
  }

  // MARK: Tensor ∘ scalar

  /// Adds `rhs` to every element: [S…] → [S…].
  public static func + (lhs: Tensor, rhs: Float) -> Tensor {
    let y = lhs.applying(AddScalar(scalar: rhs))  // [S…]
    return record(y, inputs: [lhs]) { grad in [grad] }
  }

  /// Adds `lhs` to every element: [S…] → [S…].
  public static func + (lhs: Float, rhs: Tensor) -> Tensor { rhs + lhs }

  /// Subtracts `rhs` from every element: [S…] → [S…].
  public static func - (lhs: Tensor, rhs: Float) -> Tensor { lhs + -rhs }

  /// `lhs` minus each element: [S…] → [S…].
  public static func - (lhs: Float, rhs: Tensor) -> Tensor {
    let y = rhs.applying(SubtractFromScalar(scalar: lhs))  // [S…]
    return record(y, inputs: [rhs]) { grad in [grad.applying(Negate())] }
  }

  /// Multiplies every element by `rhs`: [S…] → [S…].
  public static func * (lhs: Tensor, rhs: Float) -> Tensor {
    let y = lhs.applying(MultiplyByScalar(scalar: rhs))  // [S…]
    return record(y, inputs: [lhs]) { grad in [grad.applying(MultiplyByScalar(scalar: rhs))] }
  }

  /// Multiplies every element by `lhs`: [S…] → [S…].
  public static func * (lhs: Float, rhs: Tensor) -> Tensor { rhs * lhs }

  /// Divides every element by `rhs` (a true division, not a product with 1/rhs): [S…] → [S…].
  public static func / (lhs: Tensor, rhs: Float) -> Tensor {
    let y = lhs.applying(DivideByScalar(scalar: rhs))  // [S…]
    return record(y, inputs: [lhs]) { grad in [grad.applying(DivideByScalar(scalar: rhs))] }
  }

  /// `lhs` divided by each element: [S…] → [S…].
  public static func / (lhs: Float, rhs: Tensor) -> Tensor {
    let y = rhs.applying(DivideScalarBy(scalar: lhs))  // [S…]
    return record(y, inputs: [rhs]) { grad in
      // y = s/x:  dx = −dy·s/x² = −(dy/x)·y.
      let quotient = elementwise(grad, rhs, shape: grad.shape, Divide())  // [S…]
      return [elementwise(quotient, y, shape: grad.shape, NegatedProduct())]
    }
  }

  // MARK: Compound assignment

  /// `lhs = lhs + rhs`: a new tensor, so autograd sees an ordinary op. The
  /// broadcast result must keep `lhs`'s shape.
  public static func += (lhs: inout Tensor, rhs: Tensor) {
    lhs = compound(lhs, rhs, op: "+=") { $0 + $1 }
  }

  /// `lhs = lhs − rhs`, keeping `lhs`'s shape.
  public static func -= (lhs: inout Tensor, rhs: Tensor) {
    lhs = compound(lhs, rhs, op: "-=") { $0 - $1 }
  }

  /// `lhs = lhs · rhs`, keeping `lhs`'s shape.
  public static func *= (lhs: inout Tensor, rhs: Tensor) {
    lhs = compound(lhs, rhs, op: "*=") { $0 * $1 }
  }

  /// `lhs = lhs / rhs`, keeping `lhs`'s shape.
  public static func /= (lhs: inout Tensor, rhs: Tensor) {
    lhs = compound(lhs, rhs, op: "/=") { $0 / $1 }
  }

  /// `lhs = lhs + rhs`.
  public static func += (lhs: inout Tensor, rhs: Float) { lhs = lhs + rhs }
  /// `lhs = lhs − rhs`.
  public static func -= (lhs: inout Tensor, rhs: Float) { lhs = lhs - rhs }
  /// `lhs = lhs · rhs`.
  public static func *= (lhs: inout Tensor, rhs: Float) { lhs = lhs * rhs }
  /// `lhs = lhs / rhs`.
  public static func /= (lhs: inout Tensor, rhs: Float) { lhs = lhs / rhs }

  private static func compound(
    _ lhs: Tensor, _ rhs: Tensor, op: String, _ body: (Tensor, Tensor) -> Tensor
  ) -> Tensor {
    let shape = broadcastShapeOrTrap(lhs.shape, rhs.shape, op: op)
    guard shape == lhs.shape else {
      shapeFailure(
        .invalid(
          op: op,
          message: "the result \(shape) of shapes \(lhs.shape) and \(rhs.shape) "
            + "would not keep the left operand's shape"))
    }
    return body(lhs, rhs)
  }

  // MARK: Unary functions

  /// The elementwise square: [S…] → [S…].
  public func squared() -> Tensor {
    let y = applying(Square())  // [S…]
    let x = self
    return Tensor.record(y, inputs: [self]) { grad in
      [Tensor.elementwise(grad, x, shape: grad.shape, SquareBackward())]
    }
  }

  /// Each element limited to `[min, max]`: [S…] → [S…]. The gradient passes
  /// where the input lies inside the interval (ends included) and is 0 elsewhere.
  public func clamped(min lower: Float, max upper: Float) -> Tensor {
    ensure(lower <= upper, "clamped: min \(lower) is greater than max \(upper)")
    let y = applying(Clamp(lower: lower, upper: upper))  // [S…]
    let x = self
    return Tensor.record(y, inputs: [self]) { grad in
      [Tensor.elementwise(grad, x, shape: grad.shape, ClampBackward(lower: lower, upper: upper))]
    }
  }
}

/// The elementwise square root: [S…] → [S…].
public func sqrt(_ x: Tensor) -> Tensor {
  let y = x.applying(SquareRoot())  // [S…]
  return Tensor.record(y, inputs: [x]) { grad in
    [Tensor.elementwise(grad, y, shape: grad.shape, SquareRootBackward())]
  }
}

/// The elementwise exponential: [S…] → [S…].
public func exp(_ x: Tensor) -> Tensor {
  let y = x.applying(Exponential())  // [S…]
  return Tensor.record(y, inputs: [x]) { grad in
    [Tensor.elementwise(grad, y, shape: grad.shape, Multiply())]  // dy·eˣ
  }
}

/// The elementwise natural logarithm: [S…] → [S…].
public func log(_ x: Tensor) -> Tensor {
  let y = x.applying(Logarithm())  // [S…]
  return Tensor.record(y, inputs: [x]) { grad in
    [Tensor.elementwise(grad, x, shape: grad.shape, Divide())]  // dy/x
  }
}
