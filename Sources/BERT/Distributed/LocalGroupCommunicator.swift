import Foundation

/// N ranks as N threads of one process, for tests of data-parallel code
/// without MPI. ``group(size:)`` makes one communicator per rank; each thread
/// calls the collectives on its own.
///
/// A sum adds the ranks' values in rank order, so that every rank gets the
/// same bits, as MPI's reductions give. ``abort(code:)`` marks the group as
/// failed: every later (or waiting) collective on another rank throws instead
/// of waiting forever, and the aborting thread stops for good.
public final class LocalGroupCommunicator: Communicator, @unchecked Sendable {
  public let rank: Int
  public var size: Int { shared.size }
  private let shared: Shared

  /// One communicator for each of `size` ranks, in rank order.
  public static func group(size: Int) -> [LocalGroupCommunicator] {
    precondition(size > 0, "a group needs at least one rank")
    let shared = Shared(size: size)
    return (0..<size).map { LocalGroupCommunicator(rank: $0, shared: shared) }
  }

  private init(rank: Int, shared: Shared) {
    self.rank = rank
    self.shared = shared
  }

  /// The number of collectives each rank has entered, for tests of ordering.
  public var collectiveCount: Int { shared.lock.withLock { shared.entered[rank] } }

  public func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int)
    throws
  {
    let parts = try exchange("broadcast", Array(values))
    guard parts[root].count == values.count else {
      throw CommunicatorError(
        operation: "broadcast",
        message:
          "rank \(root) sent \(parts[root].count) values, rank \(rank) expected \(values.count)"
      )
    }
    for index in values.indices { values[index] = parts[root][index] }
  }

  public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
    let parts = try exchange("allreduce", Array(values))
    for (source, part) in parts.enumerated() where part.count != values.count {
      throw CommunicatorError(
        operation: "allreduce",
        message: "rank \(source) sent \(part.count) values, rank \(rank) expected \(values.count)")
    }
    for index in values.indices {
      var sum = parts[0][index]
      for part in parts.dropFirst() { sum += part[index] }
      values[index] = sum
    }
  }

  public func allgather(_ bytes: [UInt8]) throws -> [[UInt8]] {
    try exchange("allgather", bytes.map { Float($0) }).map { $0.map { UInt8($0) } }
  }

  public func barrier() throws { _ = try exchange("barrier", []) }

  public func abort(code: Int32) -> Never {
    shared.lock.withLock {
      shared.abortedBy = rank
      shared.lock.broadcast()
    }
    // The other ranks are released; this thread must not return into the
    // code that failed.
    while true { Thread.sleep(forTimeInterval: 3600) }
  }

  /// Deposits this rank's part, waits for every rank's, and returns them all
  /// in rank order. Operations of different kinds meeting is an error.
  private func exchange(_ operation: String, _ part: [Float]) throws -> [[Float]] {
    let lock = shared.lock
    lock.lock()
    defer { lock.unlock() }
    shared.entered[rank] += 1
    let round = shared.round
    if let failed = shared.abortedBy {
      throw CommunicatorError(operation: operation, message: "rank \(failed) aborted the job")
    }
    shared.parts[rank] = part
    shared.operations[rank] = operation
    shared.arrived += 1
    if shared.arrived == shared.size {
      shared.result = shared.parts.map { $0 ?? [] }
      shared.resultOperations = shared.operations.map { $0 ?? "" }
      shared.parts = Array(repeating: nil, count: shared.size)
      shared.operations = Array(repeating: nil, count: shared.size)
      shared.arrived = 0
      shared.round += 1
      lock.broadcast()
    } else {
      while shared.round == round && shared.abortedBy == nil { lock.wait() }
      if shared.round == round, let failed = shared.abortedBy {
        throw CommunicatorError(operation: operation, message: "rank \(failed) aborted the job")
      }
    }
    let mismatched = shared.resultOperations.indices.filter {
      shared.resultOperations[$0] != operation
    }
    guard mismatched.isEmpty else {
      throw CommunicatorError(
        operation: operation,
        message: "rank \(mismatched[0]) called \(shared.resultOperations[mismatched[0]]) instead")
    }
    return shared.result
  }

  /// The state the ranks of one group share, under `lock`.
  private final class Shared: @unchecked Sendable {
    let size: Int
    let lock = NSCondition()
    var parts: [[Float]?]
    var operations: [String?]
    var arrived = 0
    var round = 0
    var result: [[Float]] = []
    var resultOperations: [String] = []
    var entered: [Int]
    var abortedBy: Int?

    init(size: Int) {
      self.size = size
      parts = Array(repeating: nil, count: size)
      operations = Array(repeating: nil, count: size)
      entered = Array(repeating: 0, count: size)
    }
  }
}
