// A hand-written SVG chart of a report: GEMM GFLOP/s against size, and encoder
// and training-step times per backend beside PyTorch's.

import Foundation

enum SVGChart {
  static let width = 1100.0
  static let colors = ["openblas": "#1f6fb4", "swift": "#e8742a", "pytorch": "#8c8c8c"]

  static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;")
  }

  static func text(
    _ x: Double, _ y: Double, _ content: String, size: Double = 12, anchor: String = "start",
    weight: String = "normal", color: String = "#222", rotate: Double? = nil
  ) -> String {
    let transform = rotate.map { " transform=\"rotate(\($0) \(f(x)) \(f(y)))\"" } ?? ""
    return
      "<text x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(f(size))\" text-anchor=\"\(anchor)\" font-weight=\"\(weight)\" fill=\"\(color)\"\(transform)>\(escape(content))</text>"
  }

  static func line(
    _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, color: String = "#ccc",
    width: Double = 1, dash: String? = nil
  ) -> String {
    let dashing = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
    return
      "<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"\(color)\" stroke-width=\"\(f(width))\"\(dashing)/>"
  }

  static func f(_ value: Double) -> String { String(format: "%.1f", value) }

  /// The whole chart as an SVG document.
  static func render(_ report: BenchReport, pytorch: BenchReport?) -> String {
    var parts: [String] = []
    let machine = report.machine
    var y = 34.0
    parts.append(
      text(
        width / 2, y, "bert-bench: OpenBLAS vs pure Swift" + (pytorch == nil ? "" : " vs PyTorch"),
        size: 20, anchor: "middle", weight: "bold"))
    y += 22
    let load = machine.loadAverage.map { " · load \(Report.number($0.first, 2))" } ?? ""
    parts.append(
      text(
        width / 2, y,
        "\(machine.cpu) · \(machine.cores) cores · OpenBLAS core \(machine.openblasCore ?? "–") · \(machine.threads ?? 0) threads · \(machine.date.prefix(10))\(load)"
          + (machine.debugBuild == true ? " · DEBUG BUILD" : ""),
        size: 13, anchor: "middle", color: "#555"))
    y += 20
    let gemm = gemmPanel(report, top: y)
    parts += gemm.parts
    y = gemm.bottom
    let bars = barPanel(report, pytorch: pytorch, top: y)
    parts += bars.parts
    y = bars.bottom + 10
    return """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(y))" viewBox="0 0 \(f(width)) \(f(y))" font-family="Helvetica, Arial, sans-serif">
      <rect width="100%" height="100%" fill="white"/>
      \(parts.joined(separator: "\n"))
      </svg>

      """
  }

  /// GFLOP/s of square NT products against n, one line per backend and thread count,
  /// with the measured FMA peaks as dashed lines.
  static func gemmPanel(_ report: BenchReport, top: Double) -> (parts: [String], bottom: Double) {
    let rows = report.rows.filter { $0.kind == "gemm" && $0.name.hasSuffix("-NT") }
      .compactMap { row -> (row: BenchRow, size: Int)? in
        let dims = row.name.dropLast(3).split(separator: "x").compactMap { Int($0) }
        guard dims.count == 3, dims[0] == dims[1], dims[1] == dims[2] else { return nil }
        return (row, dims[0])
      }
    guard !rows.isEmpty else { return ([], top) }
    var parts: [String] = []
    let (left, right, height) = (90.0, width - 200, 300.0)
    let plotTop = top + 40
    let bottom = plotTop + height
    parts.append(
      text(
        left, top + 20, "GEMM throughput, square n×n×n, C = A·Bᵀ (NT)", size: 15, weight: "bold"))
    let peaks = report.machine.peakGflopsByThreads ?? [:]
    let maxValue = max(rows.compactMap(\.row.gflops).max() ?? 1, peaks.values.max() ?? 0) * 1.08
    let sizes = Set(rows.map(\.size)).sorted()
    let logMin = log2(Double(sizes.first!)) - 0.3
    let logMax = log2(Double(sizes.last!)) + 0.3
    func x(_ size: Int) -> Double {
      left + (log2(Double(size)) - logMin) / (logMax - logMin) * (right - left)
    }
    func yOf(_ value: Double) -> Double { bottom - value / maxValue * height }
    // Axes and grid.
    let step = maxValue > 200 ? 50.0 : (maxValue > 80 ? 20.0 : 10.0)
    var tick = 0.0
    while tick <= maxValue {
      parts.append(line(left, yOf(tick), right, yOf(tick), color: "#e6e6e6"))
      parts.append(text(left - 8, yOf(tick) + 4, Report.number(tick, 0), anchor: "end"))
      tick += step
    }
    parts.append(line(left, bottom, right, bottom, color: "#333"))
    parts.append(line(left, plotTop, left, bottom, color: "#333"))
    for size in sizes {
      parts.append(line(x(size), bottom, x(size), bottom + 5, color: "#333"))
      parts.append(text(x(size), bottom + 20, "\(size)", anchor: "middle"))
    }
    parts.append(
      text(
        (left + right) / 2, bottom + 40, "matrix size n (log scale)", size: 13, anchor: "middle"))
    parts.append(
      text(left - 55, (plotTop + bottom) / 2, "GFLOP/s", size: 13, anchor: "middle", rotate: -90))
    // Peaks.
    for (threads, peak) in peaks.sorted(by: { $0.key < $1.key }) where peak < maxValue {
      parts.append(line(left, yOf(peak), right, yOf(peak), color: "#b22", dash: "6 4"))
      parts.append(
        text(
          right - 4, yOf(peak) - 5, "measured FMA peak, \(threads) thr: \(Report.number(peak, 0))",
          size: 11, anchor: "end", color: "#b22"))
    }
    // Series.
    var legendY = plotTop + 10
    let threadCounts = Set(rows.map(\.row.threads)).sorted(by: >)
    for backend in ["openblas", "swift"] {
      for threads in threadCounts {
        let points = rows.filter { $0.row.backend == backend && $0.row.threads == threads }
          .sorted { $0.size < $1.size }
        guard !points.isEmpty else { continue }
        let color = colors[backend]!
        let dash = threads == threadCounts.first ? "" : " stroke-dasharray=\"5 4\""
        let path = points.map { "\(f(x($0.size))),\(f(yOf($0.row.gflops ?? 0)))" }
          .joined(separator: " ")
        parts.append(
          "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2.5\"\(dash)/>"
        )
        for point in points {
          let cx = x(point.size)
          let cy = yOf(point.row.gflops ?? 0)
          parts.append(
            "<circle cx=\"\(f(cx))\" cy=\"\(f(cy))\" r=\"4\" fill=\"\(color)\"/>")
        }
        if let last = points.last {
          parts.append(
            text(
              x(last.size) + 8, yOf(last.row.gflops ?? 0) + 4,
              Report.number(last.row.gflops, 0), size: 11, color: color))
        }
        parts.append(
          "<line x1=\"\(f(right + 40))\" y1=\"\(f(legendY))\" x2=\"\(f(right + 70))\" y2=\"\(f(legendY))\" stroke=\"\(color)\" stroke-width=\"2.5\"\(dash)/>"
        )
        parts.append(
          text(right + 76, legendY + 4, "\(backend), \(threads) thr", size: 12))
        legendY += 20
      }
    }
    return (parts, bottom + 55)
  }

  /// Encoder forward and training-step times (log scale), one bar per backend,
  /// PyTorch's beside them, and our OpenBLAS time / PyTorch's above each group.
  static func barPanel(_ report: BenchReport, pytorch: BenchReport?, top: Double) -> (
    parts: [String], bottom: Double
  ) {
    let mainThreads = report.machine.threads ?? report.rows.map(\.threads).max() ?? 1
    let rows = report.rows.filter {
      ($0.kind == "encoder" || $0.kind == "train") && $0.threads == mainThreads
    }
    guard !rows.isEmpty else { return ([], top) }
    var keys: [String] = []
    for row in rows where !keys.contains(row.matchKey) { keys.append(row.matchKey) }
    let theirs = Dictionary(
      (pytorch?.rows ?? []).map { ($0.matchKey, $0) }, uniquingKeysWith: { a, _ in a })
    let backends = ["openblas", "swift"] + (pytorch == nil ? [] : ["pytorch"])
    func value(_ key: String, _ backend: String) -> BenchRow? {
      backend == "pytorch"
        ? theirs[key] : rows.first { $0.matchKey == key && $0.backend == backend }
    }
    var parts: [String] = []
    let (left, right, height) = (90.0, width - 30, 340.0)
    let plotTop = top + 50
    let bottom = plotTop + height
    parts.append(
      text(
        left, top + 20,
        "Encoder forward and fine-tuning step, \(mainThreads) threads: median time (log scale), lower is better",
        size: 15, weight: "bold"))
    if pytorch != nil {
      parts.append(
        text(
          left, top + 38, "above each group: OpenBLAS time / PyTorch time (target ≤ 1.00)",
          size: 12, color: "#555"))
    }
    let values = keys.flatMap { key in backends.compactMap { value(key, $0)?.medianSeconds } }
    let lowDecade = floor(log10(values.min() ?? 0.001))
    let highDecade = ceil(log10(values.max() ?? 1))
    func yOf(_ seconds: Double) -> Double {
      bottom - (log10(seconds) - lowDecade) / max(highDecade - lowDecade, 1) * height
    }
    var decade = lowDecade
    while decade <= highDecade {
      let seconds = pow(10, decade)
      parts.append(line(left, yOf(seconds), right, yOf(seconds), color: "#e6e6e6"))
      let label =
        seconds < 1 ? "\(Report.number(seconds * 1000, 0)) ms" : "\(Report.number(seconds, 0)) s"
      parts.append(text(left - 8, yOf(seconds) + 4, label, anchor: "end"))
      decade += 1
    }
    parts.append(line(left, bottom, right, bottom, color: "#333"))
    parts.append(line(left, plotTop, left, bottom, color: "#333"))
    parts.append(
      text(left - 62, (plotTop + bottom) / 2, "seconds", size: 13, anchor: "middle", rotate: -90))
    let groupWidth = (right - left) / Double(keys.count)
    let barWidth = min(26, groupWidth * 0.8 / Double(backends.count))
    for (index, key) in keys.enumerated() {
      let center = left + (Double(index) + 0.5) * groupWidth
      let start = center - barWidth * Double(backends.count) / 2
      for (slot, backend) in backends.enumerated() {
        guard let row = value(key, backend) else { continue }
        let yTop = yOf(row.medianSeconds)
        parts.append(
          "<rect x=\"\(f(start + Double(slot) * barWidth))\" y=\"\(f(yTop))\" width=\"\(f(barWidth - 2))\" height=\"\(f(bottom - yTop))\" fill=\"\(colors[backend]!)\"><title>\(backend) \(key): \(Report.seconds(row.medianSeconds))</title></rect>"
        )
      }
      if let ours = value(key, "openblas"), let reference = theirs[key] {
        let ratio = ours.medianSeconds / reference.medianSeconds
        let highest = backends.compactMap { value(key, $0)?.medianSeconds }.max() ?? 1
        parts.append(
          text(
            center, yOf(highest) - 6, Report.number(ratio, 2) + "×", size: 11, anchor: "middle",
            weight: "bold", color: ratio <= 1 ? "#1a7f37" : "#b22"))
      }
      let parts3 = key.split(separator: "/")
      parts.append(
        text(center, bottom + 16, String(parts3[1]), size: 11, anchor: "middle", weight: "bold"))
      parts.append(
        text(
          center, bottom + 30, parts3[2].replacingOccurrences(of: "x", with: "×"), size: 11,
          anchor: "middle"))
    }
    // Kind labels under the groups.
    for kind in ["encoder", "train"] {
      let indices = keys.indices.filter { keys[$0].hasPrefix(kind + "/") }
      guard let first = indices.first, let last = indices.last else { continue }
      let x1 = left + Double(first) * groupWidth + 4
      let x2 = left + Double(last + 1) * groupWidth - 4
      parts.append(line(x1, bottom + 38, x2, bottom + 38, color: "#888"))
      parts.append(
        text(
          (x1 + x2) / 2, bottom + 54, kind == "encoder" ? "encoder forward" : "training step",
          size: 12, anchor: "middle", color: "#555"))
    }
    // Legend.
    var legendX = left
    for backend in backends {
      parts.append(
        "<rect x=\"\(f(legendX))\" y=\"\(f(bottom + 68))\" width=\"14\" height=\"14\" fill=\"\(colors[backend]!)\"/>"
      )
      let label =
        backend == "pytorch" ? "PyTorch (CPU)" : backend == "openblas" ? "OpenBLAS" : "pure Swift"
      parts.append(text(legendX + 20, bottom + 80, label, size: 12))
      legendX += 140
    }
    return (parts, bottom + 90)
  }
}
