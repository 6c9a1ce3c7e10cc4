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
    GEMMBenchmark.run(quick: arguments.contains("--quick"))
  default:
    print("usage: bert-bench gemm [--quick]")
    print("  gemm   sgemm GFLOP/s of each backend at square and BERT shapes, 1 and 2 threads")
    print("         (--quick: only n = 1024 and the 128-token shapes)")
    exit(arguments.isEmpty ? 0 : 2)
  }
#endif
