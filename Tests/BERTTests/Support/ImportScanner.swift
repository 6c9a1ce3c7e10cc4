// Finds the modules a source file imports (Swift `import`, C `#include`) and
// checks them against what its target may import, for TargetDependencyTests.

import Foundation
import Testing

/// What one target may import.
struct ImportRule: Sendable, CustomTestStringConvertible {
  /// The target's name in Package.swift.
  var target: String
  /// The target's folder, relative to the package root.
  var path: String
  /// Its README or DocC overview, relative to the package root, whose
  /// `May import:` line lists the same modules as ``allowed``.
  var documentation: String
  /// The modules (C targets: the headers) its files may import.
  var allowed: Set<String>
  /// Modules that may be imported only inside `#if` of this condition, by module.
  var conditions: [String: String] = [:]

  var testDescription: String { target }
}

/// One `import` or `#include` of a file.
struct ImportStatement: Equatable, Sendable {
  /// 1-based.
  var line: Int
  /// The module (`Foundation` for `import struct Foundation.URL`), or the header.
  var module: String
  /// The conditions of the enclosing `#if` blocks, outermost first; an `#else`
  /// branch of `X` reads `!(X)`.
  var conditions: [String] = []
}

/// An import its target may not make.
struct ImportViolation: Equatable, Sendable, CustomStringConvertible {
  var file: String
  var line: Int
  var module: String
  var target: String
  /// Why: the modules the target may import, or the `#if` the import needs.
  var reason: String

  var description: String { "\(file):\(line): \(target) may not import \(module); \(reason)" }
}

enum ImportScanner {
  private static let modifiers: Set<String> = [
    "public", "package", "internal", "fileprivate", "private",
  ]
  private static let kinds: Set<String> = [
    "typealias", "struct", "class", "enum", "protocol", "let", "var", "func",
  ]

  /// The imports of a Swift file: lines whose first word, after attributes
  /// (`@testable`, `@_exported`) and an access level, is `import`. Comments
  /// and the lines of multi-line string literals are skipped.
  static func swiftImports(_ text: String) -> [ImportStatement] {
    var result: [ImportStatement] = []
    var conditions: [String] = []
    var inString = false
    for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.trimmingCharacters(in: .whitespaces)
      let quotes = line.components(separatedBy: "\"\"\"").count - 1
      if inString || quotes > 0 {
        if quotes % 2 == 1 { inString.toggle() }
        continue
      }
      if line.hasPrefix("//") { continue }
      if updateConditions(&conditions, line) { continue }
      let code = line.components(separatedBy: "//")[0]
      var words = code.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ";" })
        .map(String.init)
      while let first = words.first, first.hasPrefix("@") || modifiers.contains(first) {
        words.removeFirst()
      }
      guard words.first == "import", words.count >= 2 else { continue }
      let path = kinds.contains(words[1]) && words.count >= 3 ? words[2] : words[1]
      let module = String(path.split(separator: ".")[0])
      result.append(ImportStatement(line: index + 1, module: module, conditions: conditions))
    }
    return result
  }

  /// The headers a C file or header includes (`#include <cblas.h>`, `#include "x.h"`).
  static func cIncludes(_ text: String) -> [ImportStatement] {
    var result: [ImportStatement] = []
    var conditions: [String] = []
    for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.trimmingCharacters(in: .whitespaces)
      if updateConditions(&conditions, line) { continue }
      guard line.hasPrefix("#include") else { continue }
      let name = line.dropFirst("#include".count).trimmingCharacters(in: .whitespaces)
        .trimmingCharacters(in: CharacterSet(charactersIn: "<>\""))
      result.append(ImportStatement(line: index + 1, module: name, conditions: conditions))
    }
    return result
  }

  /// Follows `#if`, `#ifdef`, `#ifndef`, `#elseif`, `#elif`, `#else` and
  /// `#endif`; true when `line` is one of them.
  private static func updateConditions(_ conditions: inout [String], _ line: String) -> Bool {
    let words = line.split(separator: " ", maxSplits: 1).map(String.init)
    guard let directive = words.first, directive.hasPrefix("#") else { return false }
    let condition = words.count > 1 ? words[1].trimmingCharacters(in: .whitespaces) : ""
    switch directive {
    case "#if", "#ifdef", "#ifndef":
      conditions.append(condition)
    case "#elseif", "#elif":
      if !conditions.isEmpty { conditions[conditions.count - 1] = condition }
    case "#else":
      if let last = conditions.last { conditions[conditions.count - 1] = "!(\(last))" }
    case "#endif":
      _ = conditions.popLast()
    default:
      return false
    }
    return true
  }

  /// The imports of `files` that `rule` does not allow.
  ///
  /// - Parameters:
  ///   - files: each file's path (for messages; `.h` and `.c` files are read as C) and text.
  static func violations(of rule: ImportRule, files: [(path: String, text: String)])
    -> [ImportViolation]
  {
    var result: [ImportViolation] = []
    let allowed = rule.allowed.sorted().joined(separator: ", ")
    for file in files {
      let isC = file.path.hasSuffix(".h") || file.path.hasSuffix(".c")
      let statements = isC ? cIncludes(file.text) : swiftImports(file.text)
      for statement in statements {
        guard rule.allowed.contains(statement.module) else {
          result.append(
            ImportViolation(
              file: file.path, line: statement.line, module: statement.module,
              target: rule.target, reason: "it may import \(allowed)"))
          continue
        }
        if let needed = rule.conditions[statement.module],
          !statement.conditions.contains(needed)
        {
          result.append(
            ImportViolation(
              file: file.path, line: statement.line, module: statement.module,
              target: rule.target, reason: "only inside #if \(needed)"))
        }
      }
    }
    return result
  }
}
