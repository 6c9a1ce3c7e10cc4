import CoreMetrics
import Foundation
import Metrics
import Prometheus

/// The server's metrics, recorded through swift-metrics into a Prometheus
/// registry of its own (so that several servers in one process keep apart),
/// and rendered in Prometheus' text format for `GET /metrics`:
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `bert_requests_total` | counter | `route`, `status` |
/// | `bert_request_duration_seconds` | histogram | `route` |
/// | `bert_queue_depth` | gauge: requests waiting for the model | |
/// | `bert_batches_total` | counter: forward passes | |
/// | `bert_batch_sequences` | histogram: sequences per forward pass | |
/// | `bert_batch_tokens` | histogram: padded tokens (B × T) per forward pass | |
/// | `bert_batch_padding_share` | histogram: padding / computed tokens per pass | |
/// | `bert_sequences_total`, `bert_real_tokens_total`, `bert_computed_tokens_total` | counters | |
/// | `bert_forward_duration_seconds` | histogram | |
final class ServerMetrics: Sendable {
  let registry = PrometheusCollectorRegistry()
  let factory: PrometheusMetricsFactory
  private let queueDepth: CoreMetrics.Gauge
  private let batches: CoreMetrics.Counter
  private let sequences: CoreMetrics.Counter
  private let realTokens: CoreMetrics.Counter
  private let computedTokens: CoreMetrics.Counter
  private let batchSequences: CoreMetrics.Recorder
  private let batchTokens: CoreMetrics.Recorder
  private let paddingShare: CoreMetrics.Recorder
  private let forwardDuration: Metrics.Timer

  init() {
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.valueHistogramBuckets = [
      "bert_batch_sequences": [1, 2, 4, 8, 16, 32, 64, 128, 256],
      "bert_batch_tokens": [16, 64, 256, 1024, 2048, 4096, 8192, 16384, 32768],
      "bert_batch_padding_share": [0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1],
    ]
    factory.durationHistogramBuckets = [
      "bert_forward_duration_seconds": [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(5),
      ]
    ]
    self.factory = factory
    queueDepth = CoreMetrics.Gauge(label: "bert_queue_depth", factory: factory)
    batches = CoreMetrics.Counter(label: "bert_batches_total", factory: factory)
    sequences = CoreMetrics.Counter(label: "bert_sequences_total", factory: factory)
    realTokens = CoreMetrics.Counter(label: "bert_real_tokens_total", factory: factory)
    computedTokens = CoreMetrics.Counter(label: "bert_computed_tokens_total", factory: factory)
    batchSequences = CoreMetrics.Recorder(label: "bert_batch_sequences", factory: factory)
    batchTokens = CoreMetrics.Recorder(label: "bert_batch_tokens", factory: factory)
    paddingShare = CoreMetrics.Recorder(label: "bert_batch_padding_share", factory: factory)
    forwardDuration = Metrics.Timer(label: "bert_forward_duration_seconds", factory: factory)
    queueDepth.record(0)
  }

  /// One answered request.
  func request(route: String, status: Int, seconds: Double) {
    CoreMetrics.Counter(
      label: "bert_requests_total", dimensions: [("route", route), ("status", String(status))],
      factory: factory
    ).increment()
    Metrics.Timer(
      label: "bert_request_duration_seconds", dimensions: [("route", route)], factory: factory
    ).recordNanoseconds(Int64(seconds * 1e9))
  }

  func queue(depth: Int) { queueDepth.record(depth) }

  /// One forward pass over sequences of these lengths, padded to the longest.
  func batch(lengths: [Int], seconds: Double) {
    let real = lengths.reduce(0, +)
    let computed = lengths.count * (lengths.max() ?? 0)
    batches.increment()
    sequences.increment(by: lengths.count)
    realTokens.increment(by: real)
    computedTokens.increment(by: computed)
    batchSequences.record(lengths.count)
    batchTokens.record(computed)
    paddingShare.record(computed == 0 ? 0 : Double(computed - real) / Double(computed))
    forwardDuration.recordNanoseconds(Int64(seconds * 1e9))
  }

  /// Every metric in Prometheus' text format.
  func render() -> String { registry.emitToString() }
}
