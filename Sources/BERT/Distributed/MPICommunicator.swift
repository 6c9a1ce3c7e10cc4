#if MPI
  import CMPI
  import Foundation

  /// The ranks that `mpirun` (or Slurm's `srun`) started, over Open MPI's
  /// `MPI_COMM_WORLD`. Built only with the package trait `MPI`.
  ///
  /// ``world()`` initialises MPI once per process; MPI is finalised when the
  /// process exits normally. Errors come back as ``CommunicatorError`` rather
  /// than ending the process, so that the caller can name the rank and abort.
  public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    private let comm: MPI_Comm?

    nonisolated(unsafe) private static var shared: MPICommunicator?
    private static let lock = NSLock()

    /// Whether this process was started by an MPI launcher: `mpirun` sets
    /// `OMPI_COMM_WORLD_SIZE`, Slurm's `srun` sets `PMI_SIZE` or `PMIX_RANK`.
    public static var isLaunchedByMPI: Bool {
      let environment = ProcessInfo.processInfo.environment
      return ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"].contains {
        environment[$0] != nil
      }
    }

    /// The world communicator, initialising MPI on the first call.
    public static func world() throws -> MPICommunicator {
      try lock.withLock {
        if let shared { return shared }
        var provided: Int32 = 0
        var result = MPI_Init_thread(nil, nil, bert_mpi_thread_serialized(), &provided)
        try check(result, "MPI_Init_thread")
        guard provided >= bert_mpi_thread_serialized() else {
          throw CommunicatorError(
            operation: "MPI_Init_thread",
            message: "this MPI library does not allow calls from more than one thread")
        }
        let comm = bert_mpi_comm_world()
        result = MPI_Comm_set_errhandler(comm, bert_mpi_errors_return())
        try check(result, "MPI_Comm_set_errhandler")
        var rank: Int32 = 0
        var size: Int32 = 0
        try check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank")
        try check(MPI_Comm_size(comm, &size), "MPI_Comm_size")
        let world = MPICommunicator(comm: comm, rank: Int(rank), size: Int(size))
        atexit { MPICommunicator.finalize() }
        shared = world
        return world
      }
    }

    private init(comm: MPI_Comm?, rank: Int, size: Int) {
      self.comm = comm
      self.rank = rank
      self.size = size
    }

    private static func finalize() {
      var finalized: Int32 = 0
      MPI_Finalized(&finalized)
      if finalized == 0 { MPI_Finalize() }
    }

    public func broadcast(_ values: UnsafeMutableBufferPointer<Float>, root: Int) throws {
      for (start, count) in Self.pieces(values.count) {
        try Self.check(
          MPI_Bcast(values.baseAddress! + start, count, bert_mpi_float(), Int32(root), comm),
          "MPI_Bcast")
      }
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
      for (start, count) in Self.pieces(values.count) {
        try Self.check(
          MPI_Allreduce(
            bert_mpi_in_place(), values.baseAddress! + start, count, bert_mpi_float(),
            bert_mpi_sum(), comm),
          "MPI_Allreduce")
      }
    }

    public func allgather(_ bytes: [UInt8]) throws -> [[UInt8]] {
      var length = Int64(bytes.count)
      var lengths = [Int64](repeating: 0, count: size)
      try Self.check(
        MPI_Allgather(&length, 1, bert_mpi_int64(), &lengths, 1, bert_mpi_int64(), comm),
        "MPI_Allgather")
      guard lengths.allSatisfy({ $0 <= Int64(Int32.max) }), lengths.reduce(0, +) <= Int32.max
      else {
        throw CommunicatorError(
          operation: "MPI_Allgatherv", message: "the parts are larger than 2 GiB in all")
      }
      let counts = lengths.map { Int32($0) }
      var displacements = [Int32](repeating: 0, count: size)
      for index in 1..<max(size, 1) {
        displacements[index] = displacements[index - 1] + counts[index - 1]
      }
      var gathered = [UInt8](repeating: 0, count: Int(counts.reduce(0, +)))
      var part = bytes
      try Self.check(
        MPI_Allgatherv(
          &part, Int32(bytes.count), bert_mpi_byte(), &gathered, counts, displacements,
          bert_mpi_byte(), comm),
        "MPI_Allgatherv")
      return (0..<size).map {
        Array(gathered[Int(displacements[$0])..<Int(displacements[$0] + counts[$0])])
      }
    }

    public func barrier() throws { try Self.check(MPI_Barrier(comm), "MPI_Barrier") }

    public func abort(code: Int32) -> Never {
      MPI_Abort(comm, code)
      exit(code)
    }

    /// A buffer cut into pieces whose counts fit MPI's `int`.
    private static func pieces(_ count: Int) -> [(Int, Int32)] {
      let most = Int(Int32.max)
      return stride(from: 0, to: count, by: most).map { ($0, Int32(min(most, count - $0))) }
    }

    private static func check(_ result: Int32, _ operation: String) throws {
      guard result != bert_mpi_success() else { return }
      var length: Int32 = 0
      var text = [CChar](repeating: 0, count: Int(bert_mpi_max_error_string()) + 1)
      MPI_Error_string(result, &text, &length)
      throw CommunicatorError(
        operation: operation,
        message: String(
          decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
  }
#endif
