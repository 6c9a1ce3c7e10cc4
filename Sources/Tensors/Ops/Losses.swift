// Losses: cross-entropy over logits (fused log-softmax + NLL) and mean squared error.
//
// Shapes: N rows (examples or tokens), C classes.
//
// Both return a rank-0 tensor. Cross-entropy follows PyTorch's
// `F.cross_entropy(logits, labels, ignore_index=-100, reduction="mean")`: the
// mean over the rows whose label is not the ignore index.

/// What the cross-entropy backward needs.
struct CrossEntropySaved {
  let logits: Tensor  // [N, C]
  /// log Σ_c exp(logits[n, c]) per row. [N]
  let logSumExp: [Float]
  /// The label of each row, or the ignore index.
  let labels: [Int]
  let ignoreIndex: Int
  /// The number of rows that count; the loss is divided by it.
  let counted: Int
}

extension Tensor {
  /// The mean cross-entropy between logits and class labels.
  ///
  /// - Parameters:
  ///   - labels: N class indices in [0, C), or `ignoreIndex` for rows that do not count.
  ///   - ignoreIndex: the label of rows to skip (PyTorch's default, −100).
  /// - Returns: a rank-0 tensor: Σ over counted rows of (logsumexp(x_n) − x_n[label]),
  ///   divided by their number; 0 (with zero gradient) when every row is ignored.
  ///   The gradient is (softmax − onehot)/count on counted rows and 0 elsewhere.
  /// - Precondition: self is [N, C] and every label is in [0, C) or the ignore index.
  public func crossEntropy(labels: [Int], ignoreIndex: Int = -100) -> Tensor {
    ensure(rank == 2, "crossEntropy: logits must be [N, C], got \(shape)")
    let rows = shape[0]
    let classes = shape[1]
    ensure(
      labels.count == rows, "crossEntropy: \(labels.count) labels for \(rows) rows of logits")
    var counted = 0
    for (row, label) in labels.enumerated() where label != ignoreIndex {
      ensure(
        label >= 0 && label < classes,
        "crossEntropy: label \(label) at row \(row) is outside [0, \(classes)) and is not the ignore index \(ignoreIndex)"
      )
      counted += 1
    }
    let x = storage.pointer
    var logSumExp = [Float](repeating: 0, count: rows)
    logSumExp.withUnsafeMutableBufferPointer { lse in
      let target = lse.baseAddress!
      Parallel.forEachChunk(rows, minimumChunk: RowKernels.minimumRows(width: classes)) { range in
        for row in range where labels[row] != ignoreIndex {
          target[row] = RowKernels.logSumExp(x + row * classes, classes)
        }
      }
    }
    var total = 0.0
    for row in 0..<rows where labels[row] != ignoreIndex {
      total += Double(logSumExp[row]) - Double(x[row * classes + labels[row]])
    }
    let loss = Tensor(counted == 0 ? 0 : Float(total / Double(counted)))  // []
    let saved = CrossEntropySaved(
      logits: detached(), logSumExp: logSumExp, labels: labels, ignoreIndex: ignoreIndex,
      counted: counted)
    return Tensor.record(loss, inputs: [self]) { grad in
      [Tensor.crossEntropyBackward(grad.item, saved)]
    }
  }

  /// d logits = g·(softmax − onehot)/count on counted rows, 0 on ignored rows.
  fileprivate static func crossEntropyBackward(_ gradLoss: Float, _ saved: CrossEntropySaved)
    -> Tensor
  {
    let classes = saved.logits.shape[1]
    let rows = saved.logits.shape[0]
    let gradLogits = Tensor(zeros: saved.logits.shape)  // [N, C]
    guard saved.counted > 0 else { return gradLogits }
    let factor = gradLoss / Float(saved.counted)
    let x = saved.logits.storage.pointer
    let dx = gradLogits.storage.pointer
    saved.logSumExp.withUnsafeBufferPointer { lse in
      Parallel.forEachChunk(rows, minimumChunk: RowKernels.minimumRows(width: classes)) { range in
        for row in range where saved.labels[row] != saved.ignoreIndex {
          let input = x + row * classes
          let output = dx + row * classes
          // softmax = exp(x − lse), then scaled by g/count.
          _ = RowKernels.exponentiate(input, output, classes, shift: lse[row])
          RowKernels.scale(output, classes, by: factor)
          output[saved.labels[row]] -= factor
        }
      }
    }
    return gradLogits.detached()
  }

  /// The mean of (self − target)² over all elements.
  ///
  /// - Parameter target: the same shape as self.
  /// - Returns: a rank-0 tensor; gradients flow to self and to target.
  public func meanSquaredError(_ target: Tensor) -> Tensor {
    ensure(
      target.shape == shape,
      "meanSquaredError: target \(target.shape) differs from prediction \(shape)")
    let count = self.count
    let x = storage.pointer
    let t = target.storage.pointer
    var total = 0.0
    for index in 0..<count {
      let difference = Double(x[index]) - Double(t[index])
      total += difference * difference
    }
    let loss = Tensor(count == 0 ? 0 : Float(total / Double(count)))  // []
    let prediction = detached()
    let reference = target.detached()
    return Tensor.record(loss, inputs: [self, target]) { grad in
      // d/dx = 2(x − t)/count · g, d/dt = −d/dx.
      let factor = 2 * grad.item / Float(Swift.max(count, 1))
      var gradPrediction = Tensor(uninitializedShape: prediction.shape)
      var gradTarget = Tensor(uninitializedShape: prediction.shape)
      let x = prediction.storage.pointer
      let t = reference.storage.pointer
      let dx = gradPrediction.storage.pointer
      let dt = gradTarget.storage.pointer
      for index in 0..<count {
        let d = factor * (x[index] - t[index])
        dx[index] = d
        dt[index] = -d
      }
      gradPrediction = gradPrediction.detached()
      gradTarget = gradTarget.detached()
      return [gradPrediction, gradTarget]
    }
  }
}
