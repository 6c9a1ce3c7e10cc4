import Foundation
import Tensors

// bert-bench: throughput of the compute backends. A full command line comes
// later; for now `bert-bench gemm` runs the GEMM table.

#if DEBUG
  FileHandle.standardError.write(
    Data(
      """
      bert-bench: this is a debug build and its timings mean nothing.
      Run it as: swift run -c release bert-bench gemm

      """.utf8))
  exit(1)
#else
  let arguments = Array(CommandLine.arguments.dropFirst())
  switch arguments.first {
  case "gemm":
    GEMMBenchmark.run(
      quick: arguments.contains("--quick"), cpuTime: arguments.contains("--cpu-time"))
  default:
    print("usage: bert-bench gemm [--quick] [--cpu-time]")
    print("  gemm   sgemm GFLOP/s of each backend at square and BERT shapes, 1 and 2 threads")
    print("         --quick: only n = 1024 and the 128-token shapes")
    print("         --cpu-time: time by process CPU time (for a machine shared with other work)")
    exit(arguments.isEmpty ? 0 : 2)
  }
#endif
