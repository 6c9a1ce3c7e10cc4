// Smoke test of the bert-bench executable: a quick run on the tiny config
// writes JSON with every field the contract names. No timing assertions.

import Foundation
import Testing

@Suite("bert-bench smoke test")
struct BenchmarkSmokeTests {
  /// The bert-bench executable in the build directory of this test run
  /// (debug or release), found next to the test bundle or executable.
  static let benchmarkURL: URL? = {
    var directories: [URL] = []
    #if os(Linux)
      let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
      directories.append(executable.deletingLastPathComponent())
    #endif
    directories.append(Bundle.main.bundleURL)
    directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
    for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
      directories.append(bundle.bundleURL.deletingLastPathComponent())
    }
    return directories.map { $0.appendingPathComponent("bert-bench") }
      .first { FileManager.default.isExecutableFile(atPath: $0.path) }
  }()

  @Test(
    "bert-bench --quick --filter tiny --json writes the machine and every row field",
    .enabled(
      if: benchmarkURL != nil,
      "bert-bench is not in the build directory: build it with `swift build` (or -c release)"),
    .timeLimit(.minutes(10)))
  func quickTinyRunWritesTheContractFields() throws {
    let output = FileManager.default.temporaryDirectory
      .appendingPathComponent("bert-bench-smoke-\(UUID().uuidString).json")
    defer { try? FileManager.default.removeItem(at: output) }
    let process = Process()
    process.executableURL = Self.benchmarkURL
    // --allow-debug lets a debug build run (with one timed repeat) and marks the JSON.
    process.arguments = ["--quick", "--filter", "tiny", "--json", output.path, "--allow-debug"]
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try #require(
      process.terminationStatus == 0, "bert-bench exited with \(process.terminationStatus)")

    let data = try Data(contentsOf: output)
    let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let machine = try #require(report["machine"] as? [String: Any], "no machine object")
    #expect(!((machine["cpu"] as? String) ?? "").isEmpty, "machine.cpu")
    #expect(((machine["cores"] as? Int) ?? 0) > 0, "machine.cores")
    #expect(machine.keys.contains("openblas_core"), "machine.openblas_core")
    #expect(machine["openblas_core"] is String || machine["openblas_core"] is NSNull)
    #expect(machine["date"] is String, "machine.date")
    #expect(((machine["peak_gflops"] as? Double) ?? 0) > 0, "machine.peak_gflops")

    let rows = try #require(report["rows"] as? [[String: Any]], "no rows array")
    #expect(!rows.isEmpty)
    let required = [
      "kind", "backend", "name", "batch", "seq", "threads", "median_s", "min_s", "max_s",
      "gflops", "peak_rss_mb",
    ]
    for row in rows {
      for key in required { #expect(row.keys.contains(key), "row \(row) lacks \(key)") }
      let kind = row["kind"] as? String
      #expect(
        ["gemm", "attention", "encoder", "train"].contains(kind ?? ""), "kind \(kind ?? "nil")")
      #expect(["openblas", "swift"].contains((row["backend"] as? String) ?? ""), "backend")
      #expect(((row["name"] as? String) ?? "").contains("tiny"), "name")
      #expect(((row["batch"] as? Int) ?? 0) > 0, "batch")
      #expect(((row["seq"] as? Int) ?? 0) > 0, "seq")
      #expect(((row["threads"] as? Int) ?? 0) >= 1, "threads")
      let median = try #require(row["median_s"] as? Double, "median_s")
      let minimum = try #require(row["min_s"] as? Double, "min_s")
      let maximum = try #require(row["max_s"] as? Double, "max_s")
      #expect(minimum > 0 && minimum <= median && median <= maximum, "min ≤ median ≤ max")
      #expect(((row["gflops"] as? Double) ?? 0) > 0, "gflops")
      #expect(((row["peak_rss_mb"] as? Double) ?? 0) > 0, "peak_rss_mb")
    }
    let kinds = Set(rows.compactMap { $0["kind"] as? String })
    #expect(kinds == ["encoder", "train"], "the tiny filter selects encoder and train rows")
    let backends = Set(rows.compactMap { $0["backend"] as? String })
    #expect(backends.contains("swift"), "every run measures the pure-Swift backend")
  }
}
