import Foundation

/// Sums the parameters' gradients over the ranks of a job in fused buckets of
/// a few megabytes, so that a model of 200 tensors takes a handful of
/// allreduce calls rather than 200.
///
/// The buckets follow the parameters in reverse order, the order in which
/// backward produces their gradients (the head and the last layer first), as
/// PyTorch's DistributedDataParallel packs them. A parameter larger than a
/// bucket (a word embedding) is a bucket of its own.
///
/// A parameter that no rank's backward reached keeps no gradient, as in one
/// process, so AdamW leaves it alone; one that some rank reached gets the sum,
/// with zero for the ranks that did not reach it. To know which, the first
/// bucket also carries one presence count per parameter, and the caller's own
/// scalars (the loss) ride along with it.
final class GradientBuckets {
  /// The default capacity: 4 MiB of Float32.
  static let defaultCapacity = 1 << 20

  /// Each bucket's parameters, as indices into the parameter list, in the order packed.
  let buckets: [[Int]]
  private let parameters: [Parameter]
  private var scratch: [Float] = []

  /// Buckets for `parameters` of at most `capacity` elements each (but for a
  /// single larger parameter).
  init(parameters: [Parameter], capacity: Int = GradientBuckets.defaultCapacity) {
    self.parameters = parameters
    buckets = Self.plan(sizes: parameters.map(\.value.count), capacity: capacity)
  }

  /// Cuts parameters of the given sizes, taken from the last to the first,
  /// into consecutive buckets of at most `capacity` elements.
  static func plan(sizes: [Int], capacity: Int) -> [[Int]] {
    var buckets: [[Int]] = []
    var current: [Int] = []
    var filled = 0
    for index in sizes.indices.reversed() {
      if !current.isEmpty && filled + sizes[index] > capacity {
        buckets.append(current)
        current = []
        filled = 0
      }
      current.append(index)
      filled += sizes[index]
    }
    if !current.isEmpty { buckets.append(current) }
    return buckets
  }

  /// Replaces every parameter's gradient with its sum over the ranks, and
  /// `scalars` with theirs.
  ///
  /// - Returns: the number of allreduce calls made.
  @discardableResult
  func allreduce(scalars: inout [Float], over communicator: some Communicator) throws -> Int {
    guard communicator.size > 1 else { return 0 }
    let header = parameters.count + scalars.count
    var present: [Bool] = []
    for (number, bucket) in buckets.enumerated() {
      let extra = number == 0 ? header : 0
      let length = extra + bucket.reduce(0) { $0 + parameters[$1].value.count }
      if scratch.count < length { scratch = [Float](repeating: 0, count: length) }
      try scratch.withUnsafeMutableBufferPointer { buffer in
        let buffer = UnsafeMutableBufferPointer(rebasing: buffer[0..<length])
        if number == 0 {
          for (slot, parameter) in parameters.enumerated() {
            buffer[slot] = parameter.gradient == nil ? 0 : 1
          }
          for (slot, value) in scalars.enumerated() { buffer[parameters.count + slot] = value }
        }
        var offset = extra
        for index in bucket {
          let count = parameters[index].value.count
          pack(parameters[index].gradient, into: buffer.baseAddress! + offset, count: count)
          offset += count
        }
        try communicator.allreduceSum(buffer)
        if number == 0 {
          present = (0..<parameters.count).map { buffer[$0] > 0 }
          for slot in scalars.indices { scalars[slot] = buffer[parameters.count + slot] }
        }
        offset = extra
        for index in bucket {
          let parameter = parameters[index]
          let count = parameter.value.count
          if present[index] {
            var sum = Tensor(uninitializedShape: parameter.value.shape)  // the parameter's shape
            let source = buffer.baseAddress! + offset
            sum.withUnsafeMutableBufferPointer {
              $0.baseAddress!.update(from: source, count: count)
            }
            parameter.setGradient(sum)
          }
          offset += count
        }
      }
    }
    return buckets.count
  }

  /// Writes a gradient densely into `target` (zeros where there is none).
  private func pack(
    _ gradient: ParameterGradient?, into target: UnsafeMutablePointer<Float>, count: Int
  ) {
    switch gradient {
    case nil:
      target.initialize(repeating: 0, count: count)
    case .dense(let tensor):
      tensor.withUnsafeBufferPointer { target.update(from: $0.baseAddress!, count: count) }
    case .rows(let rows):
      target.initialize(repeating: 0, count: count)
      let width = rows.rowWidth
      rows.values.withUnsafeBufferPointer { values in
        for (slot, row) in rows.rows.enumerated() {
          (target + row * width).update(from: values.baseAddress! + slot * width, count: width)
        }
      }
    }
  }
}
