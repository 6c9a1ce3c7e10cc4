// The job this process is part of: itself alone, or one rank of those that
// mpirun (or Slurm's srun) started, in a build with the package trait MPI.

import BERT
import Foundation

enum Job {
  nonisolated(unsafe) private static var joined: (any Communicator)?

  /// The job's communicator, made on the first call: MPI's world when this
  /// process was started by an MPI launcher, else a single process. Ranks
  /// other than 0 write nothing to stdout or stderr but their errors.
  static func join() throws -> any Communicator {
    if let joined { return joined }
    let communicator = try makeCommunicator()
    joined = communicator
    Console.isSilent = !communicator.isRoot
    return communicator
  }

  /// The job, if ``join()`` made one of several ranks.
  static var current: (any Communicator)? {
    guard let joined, joined.size > 1 else { return nil }
    return joined
  }

  /// How many ranks the launcher started on this machine (1 outside a launcher).
  static var localRanks: Int {
    let environment = ProcessInfo.processInfo.environment
    return (environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? environment["SLURM_NTASKS_PER_NODE"])
      .flatMap { Int($0) } ?? 1
  }

  /// The ranks the launcher started in all, from its environment (1 outside one).
  private static var launchedRanks: Int {
    let environment = ProcessInfo.processInfo.environment
    return
      (environment["OMPI_COMM_WORLD_SIZE"] ?? environment["PMI_SIZE"]
      ?? environment["SLURM_NTASKS"]).flatMap { Int($0) } ?? 1
  }

  private static func makeCommunicator() throws -> any Communicator {
    #if MPI
      if MPICommunicator.isLaunchedByMPI { return try MPICommunicator.world() }
    #else
      if launchedRanks > 1 {
        throw CLIError(
          "this bert was started as one of \(launchedRanks) MPI ranks, but it was built without "
            + "MPI, so each would run the whole job alone; build it with "
            + "swift build -c release --traits OpenBLAS,MPI (scripts/install-deps --mpi installs "
            + "Open MPI)")
      }
    #endif
    return SingleProcessCommunicator()
  }

  /// Checks at start-up that every rank runs the same command line on the
  /// same files (a hash of each, compared with allgather).
  static func checkAgreement(files: [String]) throws {
    guard let job = current else { return }
    var hash = FNV1a()
    for argument in CommandLine.arguments.dropFirst() { hash.add(Array(argument.utf8) + [0]) }
    for path in files {
      hash.add((try? Data(contentsOf: URL(fileURLWithPath: path))).map { [UInt8]($0) } ?? [])
    }
    try job.checkAgreement(on: String(hash.value, radix: 16), what: "command line or data files")
  }

  /// The texts of stdin: read by rank 0 (the launcher gives stdin to rank 0
  /// alone) and broadcast to the others.
  static func standardInput(example: String) throws -> InputLines {
    guard let job = current else { return try InputLines.standardInput(example: example) }
    var bytes: [UInt8] = []
    if job.isRoot { bytes = try InputLines.standardInput(example: example).bytes }
    try job.broadcast(bytes: &bytes, root: 0)
    return try InputLines(bytes: bytes, source: "stdin")
  }

  /// The batching statistics summed over the ranks.
  static func sum(_ statistics: BatchingStatistics) throws -> BatchingStatistics {
    guard let job = current else { return statistics }
    // Exact integers: as text, not as Float sums.
    let mine = [
      statistics.batches, statistics.sequences, statistics.realTokens, statistics.computedTokens,
    ].map(String.init).joined(separator: " ")
    var total = [0, 0, 0, 0]
    for part in try job.allgather(Array(mine.utf8)) {
      let values = String(decoding: part, as: UTF8.self).split(separator: " ").map { Int($0) ?? 0 }
      for index in total.indices where index < values.count { total[index] += values[index] }
    }
    var sum = BatchingStatistics()
    (sum.batches, sum.sequences, sum.realTokens, sum.computedTokens) =
      (total[0], total[1], total[2], total[3])
    return sum
  }

  /// Ends the whole job after this rank failed with `message`, naming the rank.
  static func fail(_ message: String) -> Never {
    let job = current!
    Console.err("rank \(job.rank) of \(job.size): \(message)", always: true)
    job.abort(code: 1)
  }
}

/// The 64-bit FNV-1a hash.
struct FNV1a {
  private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

  mutating func add(_ bytes: [UInt8]) {
    for byte in bytes { value = (value ^ UInt64(byte)) &* 0x100_0000_01B3 }
  }
}
