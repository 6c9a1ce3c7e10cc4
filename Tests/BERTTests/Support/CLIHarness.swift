import Foundation
import Testing

/// Runs the built `bert` executable, which the build puts next to the test
/// bundle (in `.build/<configuration>`, for `swift test` and `swift test -c release`).
enum CLIHarness {
  /// What one run of the command gave.
  struct Run {
    var status: Int32
    var stdout: String
    var stderr: String

    /// stdout's non-empty lines.
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// stdout's lines, each parsed as a JSON object.
    func jsonLines() throws -> [[String: Any]] {
      try lines.map { line in
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(object as? [String: Any], "not a JSON object: \(line)")
      }
    }

    /// stdout parsed as one JSON object.
    func json() throws -> [String: Any] {
      let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
      return try #require(object as? [String: Any], "stdout is not a JSON object: \(stdout)")
    }
  }

  /// The `bert` executable.
  static var executable: URL {
    Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("bert")
  }

  /// The tiny committed model.
  static var tinyModel: String { ModelFixtures.tinyModel.path }

  /// A file of `Fixtures/cli`.
  static func data(_ name: String) -> String { ModelFixtures.url("cli/\(name)").path }

  /// An empty asset cache, so that no test uses (or fetches) the real model.
  static let emptyAssets: URL = {
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("bert-cli-assets-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }()

  /// A fresh temporary directory path (not created).
  static func temporaryDirectory(_ name: String = "out") -> URL {
    FileManager.default.temporaryDirectory
      .appendingPathComponent("bert-cli-\(name)-\(UUID().uuidString)")
  }

  /// Runs `bert arguments…` with `stdin` as its input (empty when nil), one
  /// compute thread, and an empty asset cache.
  static func run(_ arguments: [String], stdin: String? = nil) throws -> Run {
    let process = try start(arguments, stdin: stdin)
    process.process.waitUntilExit()
    return process.finish()
  }

  /// A started process whose output goes to temporary files.
  final class Started {
    let process: Process
    let stdoutURL: URL
    let stderrURL: URL
    let stdinURL: URL?

    init(process: Process, stdoutURL: URL, stderrURL: URL, stdinURL: URL?) {
      self.process = process
      self.stdoutURL = stdoutURL
      self.stderrURL = stderrURL
      self.stdinURL = stdinURL
    }

    /// What the process has written to stderr so far.
    var stderrSoFar: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Collects the output of the finished process and removes the files.
    func finish() -> Run {
      let run = Run(
        status: process.terminationStatus,
        stdout: (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "",
        stderr: stderrSoFar)
      try? FileManager.default.removeItem(at: stdoutURL)
      try? FileManager.default.removeItem(at: stderrURL)
      if let stdinURL { try? FileManager.default.removeItem(at: stdinURL) }
      return run
    }
  }

  static func start(_ arguments: [String], stdin: String? = nil) throws -> Started {
    let executable = self.executable
    try #require(
      FileManager.default.isExecutableFile(atPath: executable.path),
      "no bert executable at \(executable.path); build the package first (swift build)")
    let temporary = FileManager.default.temporaryDirectory
    let id = UUID().uuidString
    let stdoutURL = temporary.appendingPathComponent("bert-cli-\(id).out")
    let stderrURL = temporary.appendingPathComponent("bert-cli-\(id).err")
    for url in [stdoutURL, stderrURL] {
      try #require(
        FileManager.default.createFile(atPath: url.path, contents: nil),
        "cannot create \(url.path) for the CLI's output")
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["BERT_ASSETS"] = emptyAssets.path
    environment["BERT_NUM_THREADS"] = "1"
    environment["OPENBLAS_NUM_THREADS"] = "1"
    process.environment = environment
    var stdinURL: URL?
    if let stdin {
      let input = temporary.appendingPathComponent("bert-cli-\(id).in")
      try Data(stdin.utf8).write(to: input)
      process.standardInput = try FileHandle(forReadingFrom: input)
      stdinURL = input
    } else {
      process.standardInput = FileHandle.nullDevice
    }
    process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
    process.standardError = try FileHandle(forWritingTo: stderrURL)
    try process.run()
    return Started(
      process: process, stdoutURL: stdoutURL, stderrURL: stderrURL, stdinURL: stdinURL)
  }
}
