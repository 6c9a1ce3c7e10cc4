// The workloads behind each kind of row, run in the process that measures them.
//
// B batch, T tokens, H hidden, NH heads, D head size, L layers, I intermediate size.

import BERT
import Foundation
import Tensors

enum Workloads {
  /// Measures one row on every backend and returns one result per backend.
  static func run(_ spec: RowSpec, backends: [BackendKind], policy: RepeatPolicy) -> [BenchRow] {
    Compute.threadCount = spec.threads
    switch spec.kind {
    case .gemm: return gemm(spec, backends: backends, policy: policy)
    case .int8: return int8(spec, backends: backends, policy: policy)
    case .attention: return attention(spec, backends: backends, policy: policy)
    case .encoder: return encoder(spec, backends: backends, policy: policy)
    case .train: return train(spec, backends: backends, policy: policy)
    case .search: return search(spec, backends: backends, policy: policy)
    }
  }

  /// One result per backend from its timings; `flops` gives `gflops`.
  private static func rows(
    _ spec: RowSpec, _ timings: [BackendKind: Timing], flops: Double,
    profiles: [BackendKind: (share: Double, gflops: Double)] = [:]
  ) -> [BenchRow] {
    let rss = Measure.peakRSSMegabytes()
    return timings.keys.sorted { $0.rawValue < $1.rawValue }.map { kind in
      let timing = timings[kind]!
      var row = BenchRow(
        kind: spec.kind.rawValue, backend: kind.rawValue, name: spec.name, batch: spec.batch,
        seq: spec.seq, threads: spec.threads, medianSeconds: timing.median,
        minSeconds: timing.minimum, maxSeconds: timing.maximum,
        gflops: flops / timing.median / 1e9, peakRSSMegabytes: rss,
        repeats: timing.samples.count)
      if spec.kind == .encoder { row.precision = spec.precision }
      if let profile = profiles[kind] {
        row.gemmShare = profile.share
        row.gemmGflops = profile.gflops
      }
      if let batch = spec.batch, let seq = spec.seq {
        if spec.kind == .encoder { row.tokensPerSecond = Double(batch * seq) / timing.median }
        if spec.kind == .train { row.sequencesPerSecond = Double(batch) / timing.median }
      }
      return row
    }
  }

  // MARK: - GEMM

  /// C = A·op(B) with A [m, k] and op(B) [k, n]: 2·m·n·k FLOPs.
  static func gemm(_ spec: RowSpec, backends: [BackendKind], policy: RepeatPolicy) -> [BenchRow] {
    let (m, n, k) = (spec.m, spec.n, spec.k)
    var generator = SeededGenerator(seed: 7)
    let a = Tensor.randomUniform(shape: [m, k], generator: &generator)  // [m, k]
    let b = Tensor.randomUniform(
      shape: spec.transposeB ? [n, k] : [k, n], generator: &generator)  // op(B) is [k, n]
    let c = Tensor(zeros: [m, n])  // [m, n]
    let pa = a.storage.pointer
    let pb = b.storage.pointer
    let pc = c.storage.pointer
    let timings = Measure.interleaved(backends, policy: policy) {
      let backend = Compute.backend
      return Measure.time {
        backend.sgemm(
          transposeA: false, transposeB: spec.transposeB, m: m, n: n, k: k, alpha: 1,
          a: pa, lda: k, b: pb, ldb: spec.transposeB ? k : n, beta: 0, c: pc, ldc: n)
      }
    }
    withExtendedLifetime((a, b, c)) {}
    return rows(spec, timings, flops: 2 * Double(m) * Double(n) * Double(k))
  }

  // MARK: - int8

  /// y = x·Wᵀ + b with x [m, k], W [n, k], b [n]: fp32 `linear` on each
  /// backend, and `quantizedLinear` on the int8 weight with each SIMD kernel
  /// (the row's backend is `int8-<kernel>`; it quantizes x on every call, as
  /// inference does).
  /// 2·m·n·k operations for all.
  static func int8(_ spec: RowSpec, backends: [BackendKind], policy: RepeatPolicy) -> [BenchRow] {
    let (m, n, k) = (spec.m, spec.n, spec.k)
    var generator = SeededGenerator(seed: 13)
    let x = Tensor.randomNormal(shape: [m, k], generator: &generator)  // [m, k]
    let weight = Tensor.randomNormal(
      shape: [n, k], standardDeviation: 0.02, generator: &generator)  // [n, k]
    let bias = Tensor.randomNormal(
      shape: [n], standardDeviation: 0.02, generator: &generator)  // [n]
    let matrix = QuantizedMatrix(quantizing: weight)
    var variants: [(name: String, body: () -> Double)] = backends.map { kind in
      (
        kind.rawValue,
        {
          Compute.withBackend(kind) {
            Measure.time { _ = withoutGradients { x.linear(weight: weight, bias: bias) } }
          }
        }
      )
    }
    // Every SIMD kernel (the portable one only where there is none), fastest first.
    let kernels = Int8GEMM.Kernel.allAvailable
    for kernel in kernels where kernel != .portable || kernels.count == 1 {
      variants.append(
        (
          "int8-\(kernel)",
          {
            Int8GEMM.withKernel(kernel) {
              Measure.time { _ = withoutGradients { x.quantizedLinear(matrix, bias: bias) } }
            }
          }
        ))
    }
    let timings = Measure.interleaved(variants: variants, policy: policy)
    let rss = Measure.peakRSSMegabytes()
    let flops = 2 * Double(m) * Double(n) * Double(k)
    return timings.map { variant in
      BenchRow(
        kind: spec.kind.rawValue, backend: variant.name, name: spec.name, batch: nil, seq: nil,
        threads: spec.threads, medianSeconds: variant.timing.median,
        minSeconds: variant.timing.minimum, maxSeconds: variant.timing.maximum,
        gflops: flops / variant.timing.median / 1e9, peakRSSMegabytes: rss,
        repeats: variant.timing.samples.count)
    }
  }

  // MARK: - Attention

  /// BERT-base heads (NH = 12, D = 64) on [B, T, H] inputs with a [B, T] mask of zeros.
  /// Forward: 4·B·NH·T²·D FLOPs (Q·Kᵀ and P·V); backward: twice that (four products).
  static func attention(_ spec: RowSpec, backends: [BackendKind], policy: RepeatPolicy)
    -> [BenchRow]
  {
    let (batch, tokens, heads, headSize) = (spec.batch!, spec.seq!, 12, 64)
    let hidden = heads * headSize
    var generator = SeededGenerator(seed: 3)
    let shape = [batch, tokens, hidden]
    let query = Parameter(Tensor.randomNormal(shape: shape, generator: &generator))  // [B, T, H]
    let key = Parameter(Tensor.randomNormal(shape: shape, generator: &generator))  // [B, T, H]
    let value = Parameter(Tensor.randomNormal(shape: shape, generator: &generator))  // [B, T, H]
    let mask = Tensor(zeros: [batch, tokens])  // [B, T]
    let gradient = Tensor(ones: [batch, tokens, hidden])  // [B, T, H]
    let forward = spec.name == "forward"
    let body: () -> Double = {
      var dropout = SeededGenerator(seed: 5)
      if forward {
        return Measure.time {
          _ = withoutGradients {
            Tensor.multiHeadAttention(
              query: query.value, key: key.value, value: value.value, headCount: heads,
              additiveMask: mask, dropoutProbability: 0, generator: &dropout)
          }
        }
      }
      let output = Tensor.multiHeadAttention(
        query: query.value, key: key.value, value: value.value, headCount: heads,
        additiveMask: mask, dropoutProbability: 0, generator: &dropout)  // [B, T, H]
      let seconds = Measure.time { output.backward(gradient: gradient) }
      for parameter in [query, key, value] { parameter.zeroGradient() }
      return seconds
    }
    let timings = Measure.interleaved(backends, policy: policy, body)
    var profiles: [BackendKind: (share: Double, gflops: Double)] = [:]
    for kind in backends where policy.profilesGEMM {
      profiles[kind] = Measure.gemmProfile(kind, body)
    }
    let products = forward ? 2.0 : 4.0
    let flops = products * 2 * Double(batch * heads) * Double(tokens * tokens * headSize)
    return rows(spec, timings, flops: flops, profiles: profiles)
  }

  // MARK: - Encoder and training

  static func config(_ shape: EncoderShape) -> BertConfig {
    BertConfig(
      vocabularySize: 30522, hiddenSize: shape.hidden, hiddenLayerCount: shape.layers,
      attentionHeadCount: shape.heads, intermediateSize: shape.intermediate)
  }

  /// Random token ids (all attended), the same for every run of a row.
  static func batch(_ spec: RowSpec) -> TextBatch {
    var generator = SeededGenerator(seed: 11)
    let count = spec.batch! * spec.seq!
    let ids = (0..<count).map { _ in 1000 + Int(generator.next() % 20000) }
    return TextBatch(batchSize: spec.batch!, sequenceLength: spec.seq!, inputIDs: ids)
  }

  /// `BertModel` (with pooler) inference on [B, T] tokens, at fp32 or with
  /// every projection quantized to int8 (the quantization is not timed).
  static func encoder(_ spec: RowSpec, backends: [BackendKind], policy: RepeatPolicy)
    -> [BenchRow]
  {
    let shape = EncoderShape.named(spec.name)!
    var model = BertModel(config: config(shape), hasPooler: true, seed: 1)
    if spec.precision == "int8" {
      do {
        try model.convert(to: .int8)
      } catch {
        fatalError("bert-bench: \(error)")
      }
    }
    let input = batch(spec)
    let body: () -> Double = {
      Measure.time { _ = model(input).lastHiddenState }
    }
    let timings = Measure.interleaved(backends, policy: policy, body)
    var profiles: [BackendKind: (share: Double, gflops: Double)] = [:]
    for kind in backends where policy.profilesGEMM {
      profiles[kind] = Measure.gemmProfile(kind, body)
    }
    return rows(
      spec, timings, flops: shape.forwardFlops(batch: spec.batch!, seq: spec.seq!),
      profiles: profiles)
  }

  /// One fine-tuning step of `BertForSequenceClassification` (2 labels, dropout on):
  /// forward, cross-entropy, backward, gradient clipping at norm 1 with AdamW
  /// (one fused pass, as ``Trainer`` runs it), zeroing.
  /// FLOPs: three times the forward products (backward takes two products per product).
  static func train(_ spec: RowSpec, backends: [BackendKind], policy: RepeatPolicy)
    -> [BenchRow]
  {
    let shape = EncoderShape.named(spec.name)!
    let model = BertForSequenceClassification(
      bert: BertModel(config: config(shape), hasPooler: true, seed: 1), labelCount: 2)
    let parameters = model.namedParameters
    let optimizer = AdamW(parameters: parameters, learningRate: 5e-5, weightDecay: 0.01)
    let input = batch(spec)
    let labels = (0..<spec.batch!).map { $0 % 2 }
    var step: UInt64 = 0
    let body: () -> Double = {
      step += 1
      return Measure.time {
        var context = ForwardContext(isTraining: true, seed: step)
        let logits = model(input, context: &context)  // [B, 2]
        let loss = sequenceClassificationLoss(logits: logits, labels: labels)
        loss.backward()
        optimizer.update(clippingGradientNormTo: 1)
        optimizer.zeroGradients()
      }
    }
    let timings = Measure.interleaved(backends, policy: policy, body)
    var profiles: [BackendKind: (share: Double, gflops: Double)] = [:]
    for kind in backends where policy.profilesGEMM {
      profiles[kind] = Measure.gemmProfile(kind, body)
    }
    return rows(
      spec, timings, flops: 3 * shape.forwardFlops(batch: spec.batch!, seq: spec.seq!),
      profiles: profiles)
  }

  // MARK: - Search

  /// Exact top-10 search of Q random unit queries over N random unit documents
  /// of D dimensions (`DenseIndex.search`), and beside it the GEMMs alone at
  /// the same shapes (blocks of `DenseIndex.documentBlock` documents):
  /// 2·Q·N·D FLOPs. `gflops` is the search's rate, `gemm_gflops` the GEMMs'
  /// alone and `gemm_share` their time over the search's, so that the top-k
  /// overhead is 1 / gemm_share − 1.
  static func search(_ spec: RowSpec, backends: [BackendKind], policy: RepeatPolicy)
    -> [BenchRow]
  {
    let (q, n, d) = (spec.m, spec.n, spec.k)
    var generator = SeededGenerator(seed: 21)
    func unitRows(_ count: Int) -> Tensor {
      let x = Tensor.randomNormal(shape: [count, d], generator: &generator)  // [count, D]
      let p = x.storage.pointer
      Parallel.forEach(count) { row in
        var norm: Float = 0
        for j in 0..<d { norm += p[row * d + j] * p[row * d + j] }
        let scale = 1 / max(norm.squareRoot(), 1e-12)
        for j in 0..<d { p[row * d + j] *= scale }
      }
      return x
    }
    let documents = unitRows(n)  // [N, D]
    let queries = unitRows(q)  // [Q, D]
    let identity = ModelIdentity(
      name: "random", path: "", fingerprint: "0", pooling: "mean", normalized: true,
      dimension: d)
    let index = try! DenseIndex(
      vectors: documents, ids: (0..<n).map(String.init), model: identity)
    let queryRows = queries.withUnsafeBufferPointer { p in
      (0..<q).map { Array(p[($0 * d)..<(($0 + 1) * d)]) }
    }
    let searchTimings = Measure.interleaved(backends, policy: policy) {
      Measure.time { _ = try! index.search(queries: queryRows, topK: 10) }
    }
    // Up to DenseIndex.directQueryLimit queries, search dots the vectors itself:
    // the GEMM references then say nothing about it, and only the read is timed.
    let throughGEMM = q > DenseIndex.directQueryLimit
    let block = min(DenseIndex.documentBlock, n)
    let scores = Tensor(zeros: [min(q, DenseIndex.queryBlock), block])  // [Qb, Nb]
    func gemmReference(_ body: () -> Double) -> [BackendKind: Timing] {
      throughGEMM ? Measure.interleaved(backends, policy: policy, body) : [:]
    }
    let gemmTimings = gemmReference {
      let backend = Compute.backend
      return Measure.time {
        for queryStart in stride(from: 0, to: q, by: DenseIndex.queryBlock) {
          let rows = min(DenseIndex.queryBlock, q - queryStart)
          for start in stride(from: 0, to: n, by: block) {
            let columns = min(block, n - start)
            backend.sgemm(
              transposeA: false, transposeB: true, m: rows, n: columns, k: d, alpha: 1,
              a: queries.storage.pointer + queryStart * d, lda: d,
              b: documents.storage.pointer + start * d, ldb: d, beta: 0,
              c: scores.storage.pointer, ldc: columns)
          }
        }
      }
    }
    // The reference of the 70% target: one GEMM over the whole shape.
    let all = Tensor(zeros: [throughGEMM ? q : 0, n])  // [Q, N]
    let fullTimings = gemmReference {
      let backend = Compute.backend
      return Measure.time {
        backend.sgemm(
          transposeA: false, transposeB: true, m: q, n: n, k: d, alpha: 1,
          a: queries.storage.pointer, lda: d, b: documents.storage.pointer, ldb: d, beta: 0,
          c: all.storage.pointer, ldc: n)
      }
    }
    // The reference of the single-query target: reading the vectors once.
    let readTiming = Measure.interleaved(backends, policy: policy) {
      Measure.time { _ = Self.sum(documents.storage.pointer, count: n * d) }
    }
    let flops = 2 * Double(q) * Double(n) * Double(d)
    var profiles: [BackendKind: (share: Double, gflops: Double)] = [:]
    for (kind, gemm) in gemmTimings {
      profiles[kind] = (gemm.median / searchTimings[kind]!.median, flops / gemm.median / 1e9)
    }
    withExtendedLifetime((documents, queries, scores, all)) {}
    return rows(spec, searchTimings, flops: flops, profiles: profiles).map { row in
      var row = row
      let kind = BackendKind(rawValue: row.backend)!
      row.fullGemmGflops = fullTimings[kind].map { flops / $0.median / 1e9 }
      row.readSeconds = readTiming[kind]!.median
      return row
    }
  }

  /// The sum of `count` floats, read once by every thread's share, 8 lanes at a time.
  static func sum(_ values: UnsafePointer<Float>, count: Int) -> Float {
    let slots = Compute.threadCount
    let chunk = (count / slots + 7) / 8 * 8
    let partial = UnsafeMutablePointer<Float>.allocate(capacity: slots)
    defer { partial.deallocate() }
    Parallel.forEach(slots) { slot in
      let lower = min(count, slot * chunk)
      let upper = min(count, lower + chunk)
      var lanes = SIMD8<Float>()
      var i = lower
      while i + 8 <= upper {
        lanes += UnsafeRawPointer(values + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
      }
      var total = lanes.sum()
      while i < upper {
        total += values[i]
        i += 1
      }
      partial[slot] = total
    }
    return (0..<slots).reduce(0) { $0 + partial[$1] }
  }
}
