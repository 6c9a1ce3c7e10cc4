// Number formatting and plain-text tables for the terminal.

import Foundation

enum Format {
  /// 22713216 → "22,713,216".
  static func grouped(_ value: Int) -> String {
    let digits = String(abs(value))
    var result = ""
    for (index, digit) in digits.enumerated() {
      if index > 0 && (digits.count - index) % 3 == 0 { result += "," }
      result.append(digit)
    }
    return (value < 0 ? "-" : "") + result
  }

  /// 22713216 → "22.7 M".
  static func millions(_ value: Int) -> String {
    value >= 1_000_000
      ? String(format: "%.1f M", Double(value) / 1e6)
      : String(format: "%.1f k", Double(value) / 1e3)
  }

  /// Seconds as "42.1 s", "3 min 05 s" or "1 h 02 min".
  static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "-" }
    if seconds < 60 { return String(format: "%.1f s", seconds) }
    let total = Int(seconds.rounded())
    if total < 3600 { return String(format: "%d min %02d s", total / 60, total % 60) }
    return String(format: "%d h %02d min", total / 3600, (total % 3600) / 60)
  }

  /// A metric value: SQuAD's 0–100 scores with one decimal, others with four.
  static func metric(_ name: String, _ value: Double) -> String {
    guard value.isFinite else { return "-" }
    return name == "f1" && value > 1 || name == "exact_match"
      ? String(format: "%.1f", value) : String(format: "%.4f", value)
  }
}

/// A table of text cells with aligned columns.
struct TextTable {
  var header: [String]
  var rows: [[String]] = []
  /// Columns aligned to the right (numbers).
  var rightAligned: Set<Int> = []

  init(header: [String], rightAligned: Set<Int> = []) {
    self.header = header
    self.rightAligned = rightAligned
  }

  mutating func append(_ row: [String]) { rows.append(row) }

  /// The table with a rule under the header.
  var rendered: String {
    let widths = header.indices.map { column in
      ([header] + rows).map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
    }
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { column, cell in
        let pad = String(repeating: " ", count: max(0, widths[column] - cell.count))
        return rightAligned.contains(column) ? pad + cell : cell + pad
      }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
    return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
  }
}
