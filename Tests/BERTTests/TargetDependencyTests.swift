import Foundation
import Testing

/// The targets' imports: every source file of a target imports only what its
/// README (or DocC overview) says the target may import. The lists are written
/// out here; a test checks that each target's documentation says the same, and
/// the checker itself is tested on files held in memory.
@Suite struct TargetDependencyTests {
  /// The platform's C library, which file and process code imports under `#if canImport`.
  static let libc: Set<String> = ["Glibc", "Musl", "Darwin"]

  static let rules: [ImportRule] = [
    ImportRule(
      target: "Tensors", path: "Sources/Tensors",
      documentation: "Sources/Tensors/Tensors.docc/Tensors.md",
      allowed: Set(["Foundation", "Dispatch", "COpenBLAS", "CInt8GEMM"]).union(libc),
      conditions: ["COpenBLAS": "OpenBLAS"]),
    ImportRule(
      target: "CInt8GEMM", path: "Sources/CInt8GEMM", documentation: "Sources/CInt8GEMM/README.md",
      allowed: [
        "stddef.h", "stdint.h", "string.h", "math.h", "immintrin.h", "Int8Kernels.h",
        "include/CInt8GEMM.h",
      ]),
    ImportRule(
      target: "BERT", path: "Sources/BERT", documentation: "Sources/BERT/BERT.docc/BERT.md",
      allowed: Set(["Tensors", "Logging", "Foundation", "Dispatch", "CMPI"]).union(libc),
      conditions: ["CMPI": "MPI"]),
    ImportRule(
      target: "BERTAssets", path: "Sources/BERTAssets",
      documentation: "Sources/BERTAssets/README.md",
      allowed: Set(["BERT", "Foundation"]).union(libc)),
    ImportRule(
      target: "BERTServer", path: "Sources/BERTServer",
      documentation: "Sources/BERTServer/README.md",
      allowed: [
        "BERT", "Hummingbird", "Logging", "Metrics", "CoreMetrics", "Prometheus",
        "ServiceLifecycle", "NIOCore", "Foundation",
      ]),
    ImportRule(
      target: "COpenBLAS", path: "Sources/COpenBLAS", documentation: "Sources/COpenBLAS/README.md",
      allowed: ["cblas.h", "lapacke.h"]),
    ImportRule(
      target: "CMPI", path: "Sources/CMPI", documentation: "Sources/CMPI/README.md",
      allowed: ["mpi.h"]),
    ImportRule(
      target: "bert", path: "Sources/bert", documentation: "Sources/bert/README.md",
      allowed: Set([
        "BERT", "BERTAssets", "BERTServer", "ArgumentParser", "Logging", "Foundation", "Dispatch",
      ]).union(libc)),
    ImportRule(
      target: "BertBench", path: "Benchmarks/BertBench",
      documentation: "Benchmarks/BertBench/README.md",
      allowed: Set(["BERT", "Tensors", "ArgumentParser", "Foundation", "Dispatch"]).union(libc)),
    ImportRule(
      target: "TestSupport", path: "Tests/TestSupport",
      documentation: "Tests/TestSupport/README.md",
      allowed: ["Tensors", "Testing", "Foundation"]),
  ]

  /// The package root: this file is `Tests/BERTTests/TargetDependencyTests.swift`.
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// The Swift and C files below `path`, with their paths from the package root.
  static func sources(_ path: String) throws -> [(path: String, text: String)] {
    let folder = root.appendingPathComponent(path, isDirectory: true)
    let enumerator = try #require(FileManager.default.enumerator(atPath: folder.path))
    var files: [(path: String, text: String)] = []
    while let relative = enumerator.nextObject() as? String {
      guard [".swift", ".h", ".c"].contains(where: relative.hasSuffix) else { continue }
      let text = try String(contentsOf: folder.appendingPathComponent(relative), encoding: .utf8)
      files.append((path: "\(path)/\(relative)", text: text))
    }
    return files.sorted { $0.path < $1.path }
  }

  // MARK: - The package

  @Test(arguments: TargetDependencyTests.rules)
  func everyFileImportsOnlyWhatItsTargetMay(_ rule: ImportRule) throws {
    let files = try Self.sources(rule.path)
    #expect(!files.isEmpty, "\(rule.path) holds no source file")
    for violation in ImportScanner.violations(of: rule, files: files) {
      Issue.record(Comment(rawValue: violation.description))
    }
  }

  /// A target added to Package.swift needs a rule here (and a README).
  @Test func everyTargetOfThePackageHasARule() throws {
    let manifest = try String(
      contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
    let pattern = try NSRegularExpression(
      pattern: #"\.(target|executableTarget|systemLibrary)\(\s*name:\s*"([^"]+)""#)
    let range = NSRange(manifest.startIndex..., in: manifest)
    let targets = pattern.matches(in: manifest, range: range).compactMap {
      Range($0.range(at: 2), in: manifest).map { String(manifest[$0]) }
    }
    #expect(
      Set(targets) == Set(Self.rules.map(\.target)),
      "Package.swift's targets \(targets.sorted()); rules for \(Self.rules.map(\.target).sorted())")
  }

  /// Each target's README or DocC overview has a paragraph `May import: ...`
  /// naming exactly the modules of its rule.
  @Test(arguments: TargetDependencyTests.rules)
  func theDocumentationListsTheSameModules(_ rule: ImportRule) throws {
    let text = try String(
      contentsOf: Self.root.appendingPathComponent(rule.documentation), encoding: .utf8)
    let line = try #require(
      text.split(separator: "\n").first { $0.hasPrefix("May import:") },
      "\(rule.documentation) has no line starting with 'May import:'")
    let listed = line.split(separator: "`", omittingEmptySubsequences: false).enumerated()
      .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    #expect(
      Set(listed) == rule.allowed,
      "\(rule.documentation) lists \(listed.sorted()); the rule has \(rule.allowed.sorted())")
  }

  // MARK: - The checker, on files in memory

  static let fakeBERT = ImportRule(
    target: "BERT", path: "Sources/BERT", documentation: "",
    allowed: ["Foundation", "Tensors", "Logging", "Glibc"])

  /// Every way to write an import, with the line of each written beside it.
  static let mixedFile = """
    // A fake BERT file.
    import Foundation
    @_exported import Tensors
    import ArgumentParser
    // import BERTAssets
    #if canImport(Glibc)
      import Glibc
    #endif
    let usage = \"""
      import BERTAssets
      \"""
    public import struct BERTAssets.AssetCache
    @testable import Logging  // a comment
    let important = 1
    """

  @Test func theScannerFindsEachImportAndItsLine() {
    let found = ImportScanner.swiftImports(Self.mixedFile)
    #expect(
      found == [
        ImportStatement(line: 2, module: "Foundation"),
        ImportStatement(line: 3, module: "Tensors"),
        ImportStatement(line: 4, module: "ArgumentParser"),
        ImportStatement(line: 7, module: "Glibc", conditions: ["canImport(Glibc)"]),
        ImportStatement(line: 12, module: "BERTAssets"),
        ImportStatement(line: 13, module: "Logging"),
      ])
  }

  @Test func aForbiddenImportIsReportedWithItsFileAndLine() {
    let violations = ImportScanner.violations(
      of: Self.fakeBERT,
      files: [
        (path: "Sources/BERT/Clean.swift", text: "import Foundation\nimport Tensors\n"),
        (path: "Sources/BERT/Mixed.swift", text: Self.mixedFile),
      ])
    let reason = "it may import Foundation, Glibc, Logging, Tensors"
    #expect(
      violations == [
        ImportViolation(
          file: "Sources/BERT/Mixed.swift", line: 4, module: "ArgumentParser", target: "BERT",
          reason: reason),
        ImportViolation(
          file: "Sources/BERT/Mixed.swift", line: 12, module: "BERTAssets", target: "BERT",
          reason: reason),
      ])
    #expect(
      violations.first?.description
        == "Sources/BERT/Mixed.swift:4: BERT may not import ArgumentParser; " + reason)
  }

  @Test func aConditionalModuleMustBeInsideItsIf() {
    let rule = ImportRule(
      target: "Tensors", path: "Sources/Tensors", documentation: "",
      allowed: ["Foundation", "COpenBLAS"], conditions: ["COpenBLAS": "OpenBLAS"])
    let files = [
      (
        path: "Guarded.swift",
        text: "import Foundation\n\n#if OpenBLAS\n  import COpenBLAS\n#endif\n"
      ),
      (path: "Open.swift", text: "import COpenBLAS\n"),
      (path: "Else.swift", text: "#if OpenBLAS\n#else\n  import COpenBLAS\n#endif\n"),
      (
        path: "Nested.swift",
        text: "#if OpenBLAS\n  #if canImport(Glibc)\n    import COpenBLAS\n  #endif\n#endif\n"
      ),
    ]
    #expect(
      ImportScanner.violations(of: rule, files: files) == [
        ImportViolation(
          file: "Open.swift", line: 1, module: "COpenBLAS", target: "Tensors",
          reason: "only inside #if OpenBLAS"),
        ImportViolation(
          file: "Else.swift", line: 3, module: "COpenBLAS", target: "Tensors",
          reason: "only inside #if OpenBLAS"),
      ])
  }

  @Test func aCHeaderIsCheckedByItsIncludes() {
    let rule = ImportRule(
      target: "COpenBLAS", path: "Sources/COpenBLAS", documentation: "",
      allowed: ["cblas.h", "lapacke.h"])
    let header = """
      #ifndef SHIM_H
      #define SHIM_H
      #include <cblas.h>
      #include "lapacke.h"
      #include <stdio.h>
      #endif
      """
    #expect(
      ImportScanner.cIncludes(header) == [
        ImportStatement(line: 3, module: "cblas.h", conditions: ["SHIM_H"]),
        ImportStatement(line: 4, module: "lapacke.h", conditions: ["SHIM_H"]),
        ImportStatement(line: 5, module: "stdio.h", conditions: ["SHIM_H"]),
      ])
    #expect(
      ImportScanner.violations(of: rule, files: [(path: "shim.h", text: header)]) == [
        ImportViolation(
          file: "shim.h", line: 5, module: "stdio.h", target: "COpenBLAS",
          reason: "it may import cblas.h, lapacke.h")
      ])
  }
}
