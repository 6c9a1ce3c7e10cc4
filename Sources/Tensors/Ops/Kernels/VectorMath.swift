// Vectorised elementary functions and row primitives for the fused kernels.
//
// Everything here works on SIMD8<Float> (one AVX2 register) and is written so
// that the compiler keeps it in registers: no calls, no branches per lane. The
// vector functions are `@_transparent`: the standard library's SIMD operations
// expand to per-lane loops in SIL, which makes a caller look large enough that
// the optimiser stops honouring `@inline(__always)`, and an out-of-line call
// costs more than the function itself.
// Scalars go through the same code by broadcasting, so a row's tail gets the
// same values as its body.
//
// n: the length of a row.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A vector of eight floats, the width of one AVX2 register.
typealias Vector = SIMD8<Float>

/// Vectorised exp, erf and tanh, and the loads and stores the row kernels share.
enum VectorMath {
  // MARK: - exp

  /// eˣ for each lane, relative error below 2·10⁻⁷; exactly 0 below −87.3
  /// (where the result would be denormal) and +∞ above 88.3 (eˣ overflows Float
  /// at 88.72).
  ///
  /// x = n·ln2 + r with |r| ≤ ln2/2, eʳ by its Taylor series to r⁷ (truncation
  /// error r⁸/8! < 6·10⁻⁹), and 2ⁿ built in the exponent bits.
  @_transparent
  static func exp(_ x: Vector) -> Vector {
    let clamped = minimum(maximum(x, Vector(repeating: -87.5)), Vector(repeating: 88.3))
    // Round x·log₂e to the nearest integer with the 1.5·2²³ trick: after the
    // addition the integer sits in the low mantissa bits.
    let magic = Vector(repeating: 12_582_912)
    let shifted = magic.addingProduct(clamped, Vector(repeating: 1.442_695_04))
    let n = shifted - magic
    var r = clamped.addingProduct(n, Vector(repeating: -0.693_145_751_953_125))  // ln2 high part
    r = r.addingProduct(n, Vector(repeating: -1.428_606_765_330_187e-6))  // ln2 low part
    var p = Vector(repeating: 1.0 / 5040)
    p = p * r + Vector(repeating: 1.0 / 720)
    p = p * r + Vector(repeating: 1.0 / 120)
    p = p * r + Vector(repeating: 1.0 / 24)
    p = p * r + Vector(repeating: 1.0 / 6)
    p = p * r + Vector(repeating: 0.5)
    p = p * r + one
    p = p * r + one
    // 2ⁿ: (n + 127) << 23, read from the low bits of `shifted` (the high bits of
    // the magic constant fall off the top in the shift).
    let bits = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &+ SIMD8<UInt32>(repeating: 127)
    let scale = unsafeBitCast(bits &<< SIMD8<UInt32>(repeating: 23), to: Vector.self)
    var result = p * scale
    result.replace(with: Vector(repeating: 0), where: x .< Vector(repeating: -87.3))
    result.replace(with: Vector(repeating: .infinity), where: x .> Vector(repeating: 88.3))
    return result
  }

  private static var one: Vector { Vector(repeating: 1) }

  // MARK: - erf

  /// erf(x) for each lane, with a maximum relative error of 7·10⁻⁸ (under
  /// one ulp) on the whole real line, tested against Double's erf.
  ///
  /// Two branch-free pieces, both evaluated and blended:
  /// - |x| < 1: erf(x) = x·P(x²), P of degree 6 fitted (near-minimax, relative
  ///   error 1.2·10⁻⁹) to erf(√s)/√s on s ∈ [0, 1];
  /// - 1 ≤ |x|: erf(x) = 1 − e^{−Q(|x|)}, Q of degree 8 fitted to −log(erfc(t))
  ///   on t ∈ [1, 4] (weighted so that the error in erf is below 2·10⁻¹¹);
  ///   beyond 4, erf rounds to ±1 in Float.
  @_transparent
  static func erf(_ x: Vector) -> Vector {
    let t = minimum(magnitude(x), Vector(repeating: 4))
    let s = t * t
    var small = Vector(repeating: 7.853_847_108_278_689e-05)
    small = Vector(repeating: -8.010_189_310_622_279e-04).addingProduct(small, s)
    small = Vector(repeating: 5.188_327_194_574_46e-03).addingProduct(small, s)
    small = Vector(repeating: -2.685_381_167_678_263_5e-02).addingProduct(small, s)
    small = Vector(repeating: 1.128_358_514_243_534_6e-01).addingProduct(small, s)
    small = Vector(repeating: -3.761_262_582_368_900_5e-01).addingProduct(small, s)
    // erf(x) = x + x·(P(s) − 1): the leading x stays exact, so the rounding of
    // the polynomial touches only its 11 % share of the result.
    small = Vector(repeating: 0.128_379_165_726_632_4).addingProduct(small, s)
    small = t.addingProduct(t, small)

    var q = Vector(repeating: -2.121_991_404_813_172_7e-07)
    q = Vector(repeating: 2.475_582_433_669_743e-05).addingProduct(q, t)
    q = Vector(repeating: -4.603_673_533_865_038e-04).addingProduct(q, t)
    q = Vector(repeating: 4.270_668_157_497_104e-03).addingProduct(q, t)
    q = Vector(repeating: -2.534_899_070_109_469_8e-02).addingProduct(q, t)
    q = Vector(repeating: 1.086_066_830_583_494_5e-01).addingProduct(q, t)
    q = Vector(repeating: 6.330_656_688_541_192e-01).addingProduct(q, t)
    q = Vector(repeating: 1.129_649_375_279_276_7).addingProduct(q, t)
    q = Vector(repeating: -2.020_710_772_505_438_4e-04).addingProduct(q, t)
    let large = one - exp(-q)

    var result = small
    result.replace(with: large, where: t .>= one)
    // Restore the sign (erf is odd); keeps −0 and NaN as they are.
    let sign = unsafeBitCast(x, to: SIMD8<UInt32>.self) & SIMD8<UInt32>(repeating: 0x8000_0000)
    return unsafeBitCast(unsafeBitCast(result, to: SIMD8<UInt32>.self) | sign, to: Vector.self)
  }

  // MARK: - tanh

  /// tanh(x) for each lane, relative error about 2·10⁻⁷.
  ///
  /// |x| < 0.625: x·P(x²), P of degree 5 fitted to tanh(√s)/√s (relative error
  /// 4·10⁻⁹), which avoids the cancellation of the exponential form near 0;
  /// otherwise 1 − 2/(e^{2|x|} + 1), with the sign restored.
  @_transparent
  static func tanh(_ x: Vector) -> Vector {
    let t = magnitude(x)
    let s = t * t
    var small = Vector(repeating: -5.659_972_555_834_824e-03)
    small = Vector(repeating: 2.059_097_222_166_69e-02).addingProduct(small, s)
    small = Vector(repeating: -5.372_106_249_851_122e-02).addingProduct(small, s)
    small = Vector(repeating: 1.333_112_745_907_367_2e-01).addingProduct(small, s)
    small = Vector(repeating: -3.333_326_052_314_625e-01).addingProduct(small, s)
    small = Vector(repeating: 9.999_999_960_749_912e-01).addingProduct(small, s)
    small = small * t
    let e = exp(t + t)
    var result = one - Vector(repeating: 2) / (e + one)  // 1 for e = ∞
    result.replace(with: small, where: t .< Vector(repeating: 0.625))
    let sign = unsafeBitCast(x, to: SIMD8<UInt32>.self) & SIMD8<UInt32>(repeating: 0x8000_0000)
    return unsafeBitCast(unsafeBitCast(result, to: SIMD8<UInt32>.self) | sign, to: Vector.self)
  }

  /// The larger of a and b in each lane (a where a is NaN).
  ///
  /// Written as a masked replace: the standard library's `pointwiseMax` and
  /// `clamped` handle NaN lane by lane and do not vectorise.
  @_transparent
  static func maximum(_ a: Vector, _ b: Vector) -> Vector {
    var result = a
    result.replace(with: b, where: b .> a)
    return result
  }

  /// The smaller of a and b in each lane (a where a is NaN).
  @_transparent
  static func minimum(_ a: Vector, _ b: Vector) -> Vector {
    var result = a
    result.replace(with: b, where: b .< a)
    return result
  }

  /// |x| for each lane (clears the sign bit).
  @_transparent
  static func magnitude(_ x: Vector) -> Vector {
    unsafeBitCast(
      unsafeBitCast(x, to: SIMD8<UInt32>.self) & SIMD8<UInt32>(repeating: 0x7FFF_FFFF),
      to: Vector.self)
  }

  // MARK: - Scalars through the vector code

  /// eˣ through ``exp(_:)`` for one value.
  @inline(__always)
  static func exp(_ x: Float) -> Float { exp(Vector(repeating: x))[0] }

  /// erf through ``erf(_:)`` for one value.
  @inline(__always)
  static func erf(_ x: Float) -> Float { erf(Vector(repeating: x))[0] }

  /// tanh through ``tanh(_:)`` for one value.
  @inline(__always)
  static func tanh(_ x: Float) -> Float { tanh(Vector(repeating: x))[0] }

  // MARK: - Loads and stores

  /// Eight floats from `pointer`, any alignment.
  @inline(__always)
  static func load(_ pointer: UnsafePointer<Float>) -> Vector {
    UnsafeRawPointer(pointer).loadUnaligned(as: Vector.self)
  }

  /// Stores eight floats at `pointer`, any alignment.
  @inline(__always)
  static func store(_ value: Vector, _ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: Vector.self)
  }

  /// The first `count` (< 8) floats from `pointer`, the other lanes `fill`.
  @inline(__always)
  static func loadPartial(_ pointer: UnsafePointer<Float>, _ count: Int, fill: Float) -> Vector {
    var value = Vector(repeating: fill)
    for lane in 0..<count { value[lane] = pointer[lane] }
    return value
  }

  /// Stores the first `count` (< 8) lanes of `value`.
  @inline(__always)
  static func storePartial(_ value: Vector, _ pointer: UnsafeMutablePointer<Float>, _ count: Int) {
    for lane in 0..<count { pointer[lane] = value[lane] }
  }
}

/// Row primitives shared by softmax, attention and the losses.
enum RowKernels {
  /// The largest of `row[0..<n]` (−∞ for an empty row).
  @inline(__always)
  static func maximum(_ row: UnsafePointer<Float>, _ n: Int) -> Float {
    var best = Vector(repeating: -.infinity)
    var j = 0
    while j + 8 <= n {
      best = VectorMath.maximum(best, VectorMath.load(row + j))
      j += 8
    }
    if j < n {
      best = VectorMath.maximum(best, VectorMath.loadPartial(row + j, n - j, fill: -.infinity))
    }
    return best.max()
  }

  /// Σ row[j]·other[j], accumulated in two registers.
  @inline(__always)
  static func dot(_ row: UnsafePointer<Float>, _ other: UnsafePointer<Float>, _ n: Int) -> Float {
    var sum0 = Vector(repeating: 0)
    var sum1 = Vector(repeating: 0)
    var j = 0
    while j + 16 <= n {
      sum0 = sum0.addingProduct(VectorMath.load(row + j), VectorMath.load(other + j))
      sum1 = sum1.addingProduct(VectorMath.load(row + j + 8), VectorMath.load(other + j + 8))
      j += 16
    }
    if j + 8 <= n {
      sum0 = sum0.addingProduct(VectorMath.load(row + j), VectorMath.load(other + j))
      j += 8
    }
    var total = (sum0 + sum1).sum()
    while j < n {
      total += row[j] * other[j]
      j += 1
    }
    return total
  }

  /// output[j] = exp(input[j] − shift), returning Σ output[j]. `output` may be `input`.
  @inline(__always)
  static func exponentiate(
    _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ n: Int, shift: Float
  ) -> Float {
    let offset = Vector(repeating: shift)
    var sum = Vector(repeating: 0)
    var j = 0
    while j + 8 <= n {
      let e = VectorMath.exp(VectorMath.load(input + j) - offset)
      VectorMath.store(e, output + j)
      sum += e
      j += 8
    }
    if j < n {
      var e = VectorMath.exp(VectorMath.loadPartial(input + j, n - j, fill: 0) - offset)
      for lane in (n - j)..<8 { e[lane] = 0 }
      VectorMath.storePartial(e, output + j, n - j)
      sum += e
    }
    return sum.sum()
  }

  /// row[j] *= factor.
  @inline(__always)
  static func scale(_ row: UnsafeMutablePointer<Float>, _ n: Int, by factor: Float) {
    let f = Vector(repeating: factor)
    var j = 0
    while j + 8 <= n {
      VectorMath.store(VectorMath.load(row + j) * f, row + j)
      j += 8
    }
    while j < n {
      row[j] *= factor
      j += 1
    }
  }

  /// The stable softmax of `input[0..<n]` into `output` (may be `input`): the row
  /// maximum is subtracted first, so logits of any finite size give finite values.
  /// A row whose maximum is −∞ (every entry −∞) becomes uniform, never NaN.
  @inline(__always)
  static func softmax(
    _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ n: Int
  ) {
    let rowMax = maximum(input, n)
    guard rowMax > -.infinity else {
      output.update(repeating: 1 / Float(n), count: n)
      return
    }
    let sum = exponentiate(input, output, n, shift: rowMax)
    scale(output, n, by: 1 / sum)
  }

  /// log Σ exp(row[j]), stably: max + log Σ exp(row[j] − max).
  @inline(__always)
  static func logSumExp(_ row: UnsafePointer<Float>, _ n: Int) -> Float {
    let rowMax = maximum(row, n)
    guard rowMax > -.infinity, rowMax < .infinity else { return rowMax }
    let offset = Vector(repeating: rowMax)
    var sum = Vector(repeating: 0)
    var j = 0
    while j + 8 <= n {
      sum += VectorMath.exp(VectorMath.load(row + j) - offset)
      j += 8
    }
    var total = sum.sum()
    while j < n {
      total += VectorMath.exp(row[j] - rowMax)
      j += 1
    }
    return rowMax + Float(log(Double(total)))
  }

  /// A minimum chunk of rows so that each thread gets about 16 K elements.
  @inline(__always)
  static func minimumRows(width: Int) -> Int { max(1, 16_384 / max(width, 1)) }
}
