import Foundation

/// The processes of one data-parallel job and the collective operations
/// between them, as MPI names them. Every rank calls the same collectives in
/// the same order with buffers of the same size (but for ``allgather(_:)``,
/// whose parts may differ in length).
///
/// ``SingleProcessCommunicator`` is the job of one; ``LocalGroupCommunicator``
/// runs N ranks as threads of one process (for tests); `MPICommunicator`, built
/// with the package trait `MPI`, spans the processes that `mpirun` starts.
public protocol Communicator: AnyObject, Sendable {
  /// This process's index in the job, in 0..<``size``. Rank 0 is the root:
  /// it alone writes files.
  var rank: Int { get }
  /// The number of ranks.
  var size: Int { get }

  /// Overwrites `values` on every rank with those of rank `root`.
  func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int) throws

  /// Replaces `values` on every rank with their element-wise sum over the
  /// ranks. Every rank receives the same bits.
  func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws

  /// Every rank's bytes, in rank order; the parts may differ in length.
  func allgather(_ bytes: [UInt8]) throws -> [[UInt8]]

  /// Returns once every rank has called it.
  func barrier() throws

  /// Ends every rank of the job with `code` (MPI_Abort). Called when this
  /// rank cannot go on, so that the others do not wait for it forever.
  func abort(code: Int32) -> Never
}

/// A collective operation that failed.
public struct CommunicatorError: Error, CustomStringConvertible {
  /// The operation, e.g. `MPI_Allreduce`.
  public var operation: String
  /// What the library said.
  public var message: String

  public init(operation: String, message: String) {
    self.operation = operation
    self.message = message
  }

  public var description: String { "\(operation) failed: \(message)" }
}

extension Communicator {
  /// Whether this is rank 0, which writes the job's files and output.
  public var isRoot: Bool { rank == 0 }

  /// Overwrites `bytes` on every rank with rank `root`'s, whatever their
  /// lengths were: one ``allgather(_:)`` carrying only the root's part.
  public func broadcast(bytes: inout [UInt8], root: Int) throws {
    bytes = try allgather(rank == root ? bytes : [])[root]
  }

  /// Overwrites a tensor's values on every rank with rank `root`'s.
  public func broadcast(_ tensor: inout Tensor, root: Int) throws {
    try tensor.withUnsafeMutableBufferPointer { values throws in
      try broadcast(values, root: root)
    }
  }

  /// The part of `count` items (in order) that this rank takes: the ranks get
  /// contiguous runs whose lengths differ by at most one, the longer ones first.
  public func share(of count: Int) -> Range<Int> {
    let base = count / size
    let extra = count % size
    let start = rank * base + min(rank, extra)
    return start..<(start + base + (rank < extra ? 1 : 0))
  }

  /// Checks that every rank holds the same `fingerprint` (a hash of its
  /// options and data), naming the ranks that differ from rank 0.
  public func checkAgreement(on fingerprint: String, what: String) throws {
    let parts = try allgather(Array(fingerprint.utf8))
    let differing = parts.indices.filter { parts[$0] != parts[0] }
    guard differing.isEmpty else {
      throw CommunicatorError(
        operation: "start-up check",
        message:
          "the \(what) of rank\(differing.count == 1 ? "" : "s") "
          + differing.map(String.init).joined(separator: ", ")
          + " differ from rank 0's; every rank must run the same command on the same data")
    }
  }
}

/// The job of one process: every collective is the identity.
public final class SingleProcessCommunicator: Communicator {
  public init() {}
  public var rank: Int { 0 }
  public var size: Int { 1 }
  public func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int) {}
  public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {}
  public func allgather(_ bytes: [UInt8]) -> [[UInt8]] { [bytes] }
  public func barrier() {}
  public func abort(code: Int32) -> Never { exit(code) }
}
