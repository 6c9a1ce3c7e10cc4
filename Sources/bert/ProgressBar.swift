import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Shows the progress of long work on stderr: a redrawn bar on a terminal
/// (steps, loss, learning rate, examples per second and ETA), plain log lines
/// at intervals otherwise.
final class ProgressBar {
  private let title: String
  private let total: Int
  private let initial: Int
  private let isTerminal: Bool
  private let start = Date()
  private var lastLine = Date.distantPast
  private let logInterval: TimeInterval
  private var lineOpen = false
  private var lastStep = 0

  /// - Parameters:
  ///   - title: what is progressing, e.g. `epoch 1/3`.
  ///   - total: the number of steps.
  ///   - initial: steps already done before this bar started (a resumed run),
  ///     left out of the rate behind the ETA.
  ///   - logInterval: seconds between plain log lines when stderr is not a terminal.
  init(title: String, total: Int, initial: Int = 0, logInterval: TimeInterval = 10) {
    self.title = title
    self.total = max(total, 1)
    self.initial = max(0, initial)
    self.logInterval = logInterval
    isTerminal = isatty(STDERR_FILENO) != 0
  }

  /// Reports that `step` of the total steps are done.
  func update(step: Int, fields: [(String, String)], examplesPerSecond: Double? = nil) {
    let now = Date()
    let elapsed = now.timeIntervalSince(start)
    let done = step - initial
    let eta = done > 0 ? elapsed / Double(done) * Double(max(0, total - step)) : .nan
    var parts = fields.map { "\($0.0) \($0.1)" }
    if let examplesPerSecond { parts.append(String(format: "%.1f ex/s", examplesPerSecond)) }
    parts.append("ETA \(Self.clock(eta))")
    let summary = parts.joined(separator: "  ")
    lastStep = step
    if isTerminal {
      let width = 24
      let filled = min(width, width * step / total)
      let bar =
        String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
      let line = "\r\(title) [\(bar)] \(step)/\(total)  \(summary)"
      FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
      lineOpen = true
      if step >= total { finish() }
    } else if now.timeIntervalSince(lastLine) >= logInterval || step >= total || done == 1 {
      lastLine = now
      let line = "\(title) step \(step)/\(total)  \(summary)\n"
      FileHandle.standardError.write(Data(line.utf8))
    }
  }

  /// Ends the bar's line on a terminal, so that other messages start on a new line.
  func finish() {
    guard lineOpen else { return }
    lineOpen = false
    FileHandle.standardError.write(Data("\n".utf8))
  }

  /// Formats seconds as `m:ss` or `h:mm:ss`.
  static func clock(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "--:--" }
    let total = Int(seconds.rounded())
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60)
    return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
  }
}
