// Correlation metrics for regression tasks (STS-B style).

extension Metrics {
  /// Pearson's correlation coefficient r, as `scipy.stats.pearsonr`:
  /// Σ(x−x̄)(y−ȳ) / √(Σ(x−x̄)² · Σ(y−ȳ)²), clipped to [−1, 1].
  /// 0 when undefined (fewer than two pairs, or either input constant), where
  /// scipy returns NaN.
  public static func pearson<T: BinaryFloatingPoint>(_ x: [T], _ y: [T]) -> Double {
    ensure(x.count == y.count, "pearson: the inputs differ in length")
    guard x.count >= 2 else { return 0 }
    let xs = x.map { Double($0) }
    let ys = y.map { Double($0) }
    let n = Double(xs.count)
    let meanX = xs.reduce(0, +) / n
    let meanY = ys.reduce(0, +) / n
    var sxy = 0.0
    var sxx = 0.0
    var syy = 0.0
    for (a, b) in zip(xs, ys) {
      let dx = a - meanX
      let dy = b - meanY
      sxy += dx * dy
      sxx += dx * dx
      syy += dy * dy
    }
    guard sxx > 0, syy > 0 else { return 0 }
    return min(1, max(-1, sxy / (sxx.squareRoot() * syy.squareRoot())))
  }

  /// Spearman's rank correlation ρ, as `scipy.stats.spearmanr`: Pearson's r of
  /// the ranks, ties given their average rank. 0 when undefined (as `pearson`).
  public static func spearman<T: BinaryFloatingPoint>(_ x: [T], _ y: [T]) -> Double {
    ensure(x.count == y.count, "spearman: the inputs differ in length")
    return pearson(averageRanks(x), averageRanks(y))
  }

  /// Ranks from 1, ties sharing the mean of the ranks they span, as
  /// `scipy.stats.rankdata(method="average")`: [10, 20, 20, 5] → [2, 3.5, 3.5, 1].
  public static func averageRanks<T: BinaryFloatingPoint>(_ values: [T]) -> [Double] {
    let order = values.indices.sorted { values[$0] < values[$1] }
    var ranks = [Double](repeating: 0, count: values.count)
    var i = 0
    while i < order.count {
      var j = i
      while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
      // Positions i...j (0-based) hold equal values: ranks i+1 ... j+1, mean (i+j)/2 + 1.
      let rank = Double(i + j) / 2 + 1
      for k in i...j { ranks[order[k]] = rank }
      i = j + 1
    }
    return ranks
  }
}
