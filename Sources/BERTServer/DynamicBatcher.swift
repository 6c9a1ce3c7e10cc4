import BERT
import Foundation
import ServiceLifecycle

/// Batches the sequences of concurrent requests into forward passes.
///
/// Requests enter a bounded queue (``ServerConfiguration/maxQueue`` requests;
/// one more is refused with 429). A single batcher, on a thread of its own
/// (not an event loop, not Swift concurrency's pool), waits until the waiting
/// requests hold ``ServerConfiguration/maxBatchTokens`` real tokens or
/// ``ServerConfiguration/maxBatchSequences`` sequences, or until the oldest has
/// waited ``ServerConfiguration/maxWaitMilliseconds``. It then takes the
/// waiting requests in arrival order up to that budget (at least one), sorts
/// their sequences by length into batches of at most that many padded tokens
/// and sequences (``Batching``), runs them, and hands each request its rows.
/// A request cancelled while it waits (its client went away) leaves the queue
/// at once. On graceful shutdown it refuses new requests, finishes the waiting
/// ones, and stops.
final class DynamicBatcher: Service, @unchecked Sendable {
  private final class Job {
    let encodings: [Encoding]
    let tokens: Int
    let arrival: Date
    var continuation: CheckedContinuation<[[Float]], Error>?
    var cancelled = false

    init(_ encodings: [Encoding]) {
      self.encodings = encodings
      tokens = encodings.reduce(0) { $0 + $1.count }
      arrival = Date()
    }
  }

  private let model: ServedModel
  private let metrics: ServerMetrics
  private let batching: Batching
  private let maxQueue: Int
  private let maxWait: TimeInterval
  private let paddingID: Int

  /// Guards everything below.
  private let condition = NSCondition()
  private var pending: [Job] = []
  private var stopping = false
  private var stopped = false
  private var stoppedContinuation: CheckedContinuation<Void, Never>?

  init(model: ServedModel, configuration: ServerConfiguration, metrics: ServerMetrics) {
    self.model = model
    self.metrics = metrics
    batching = Batching(
      maxSequences: configuration.maxBatchSequences, maxTokens: configuration.maxBatchTokens)
    maxQueue = configuration.maxQueue
    maxWait = Double(configuration.maxWaitMilliseconds) / 1000
    paddingID = model.tokenizer.paddingTokenID
  }

  /// Requests waiting for the model.
  var queueDepth: Int {
    condition.lock()
    defer { condition.unlock() }
    return pending.count
  }

  /// The model's output for each encoding (see ``ServedModel/forward(_:)``), in order.
  ///
  /// - Throws: ``APIError`` 429 when the queue is full, 503 while shutting
  ///   down; `CancellationError` when the task is cancelled while it waits.
  func submit(_ encodings: [Encoding]) async throws -> [[Float]] {
    guard !encodings.isEmpty else { return [] }
    let job = Job(encodings)
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        condition.lock()
        defer { condition.unlock() }
        if job.cancelled {
          continuation.resume(throwing: CancellationError())
        } else if stopping {
          continuation.resume(
            throwing: APIError(
              .serviceUnavailable, "the server is shutting down", type: "server_error"))
        } else if pending.count >= maxQueue {
          continuation.resume(
            throwing: APIError(
              .tooManyRequests,
              "the queue is full (\(maxQueue) requests wait for the model); retry shortly",
              type: "rate_limit_exceeded", headers: [.retryAfter: "1"]))
        } else {
          job.continuation = continuation
          pending.append(job)
          metrics.queue(depth: pending.count)
          condition.signal()
        }
      }
    } onCancel: {
      condition.lock()
      defer { condition.unlock() }
      job.cancelled = true
      if let index = pending.firstIndex(where: { $0 === job }) {
        pending.remove(at: index)
        metrics.queue(depth: pending.count)
        job.continuation?.resume(throwing: CancellationError())
        job.continuation = nil
      }
    }
  }

  // MARK: - Service

  func run() async throws {
    let thread = Thread { [self] in loop() }
    thread.name = "bert-batcher"
    thread.start()
    try? await gracefulShutdown()
    beginStopping()
    await withCheckedContinuation { continuation in
      condition.lock()
      defer { condition.unlock() }
      if stopped { continuation.resume() } else { stoppedContinuation = continuation }
    }
  }

  /// Refuses new requests; the thread finishes the waiting ones and exits.
  private func beginStopping() {
    condition.lock()
    stopping = true
    condition.signal()
    condition.unlock()
  }

  // MARK: - The batcher thread

  private func loop() {
    condition.lock()
    while true {
      while pending.isEmpty && !stopping { condition.wait() }
      if pending.isEmpty { break }
      let deadline = pending[0].arrival.addingTimeInterval(maxWait)
      while !stopping && !budgetFull && Date() < deadline { _ = condition.wait(until: deadline) }
      var taken: [Job] = []
      var (tokens, sequences) = (0, 0)
      while let job = pending.first,
        taken.isEmpty
          || (tokens + job.tokens <= (batching.maxTokens ?? .max)
            && sequences + job.encodings.count <= batching.maxSequences)
      {
        taken.append(pending.removeFirst())
        tokens += job.tokens
        sequences += job.encodings.count
      }
      metrics.queue(depth: pending.count)
      condition.unlock()
      let results = run(taken)
      condition.lock()
      for (job, rows) in zip(taken, results) {
        job.continuation?.resume(returning: rows)
        job.continuation = nil
      }
    }
    stopped = true
    stoppedContinuation?.resume()
    stoppedContinuation = nil
    condition.unlock()
  }

  /// Whether the waiting requests fill a batch (with the lock held).
  private var budgetFull: Bool {
    var (tokens, sequences) = (0, 0)
    for job in pending {
      tokens += job.tokens
      sequences += job.encodings.count
    }
    return tokens >= (batching.maxTokens ?? .max) || sequences >= batching.maxSequences
  }

  /// Runs the jobs' sequences in length-sorted batches; each job's rows in order.
  private func run(_ jobs: [Job]) -> [[[Float]]] {
    let encodings = jobs.flatMap(\.encodings)
    let rows = batching.map(lengths: encodings.map(\.count)) { indices -> [[Float]] in
      let batch = TextBatch(encodings: indices.map { encodings[$0] }, paddingID: paddingID)
      let start = Date()
      let output = model.forward(batch)
      metrics.batch(lengths: batch.lengths, seconds: Date().timeIntervalSince(start))
      return output
    }
    var results: [[[Float]]] = []
    var offset = 0
    for job in jobs {
      results.append(Array(rows[offset..<(offset + job.encodings.count)]))
      offset += job.encodings.count
    }
    return results
  }
}
