import BERT
import Foundation
import ServiceLifecycle

/// Batches the sequences of concurrent requests into forward passes.
///
/// Requests enter a bounded queue (``ServerConfiguration/maxQueue`` requests;
/// one more is refused with 429). A single batcher, on a thread of its own
/// (not an event loop, not Swift concurrency's pool), waits until the waiting
/// requests hold ``ServerConfiguration/maxBatchTokens`` real tokens or
/// ``ServerConfiguration/maxBatchSequences`` sequences, until the oldest has
/// waited ``ServerConfiguration/maxWaitMilliseconds``, or until no other
/// request is on its way (every request the server is reading or tokenizing
/// counts, ``requestStarted()``): a lone request runs at once instead of
/// waiting for company that is not coming (unless
/// ``ServerConfiguration/alwaysWaits``). It then takes the waiting requests in
/// arrival order up to four token budgets (at least one), sorts their
/// sequences by length into batches of at most a budget of padded tokens and
/// ``ServerConfiguration/maxBatchSequences`` sequences (``Batching``), runs
/// them, and hands each request its rows as soon as the batch holding its last
/// row is done. A request cancelled while it waits (its client went away)
/// leaves the queue at once. On graceful shutdown it refuses new requests,
/// finishes the waiting ones, and stops.
final class DynamicBatcher: Service, @unchecked Sendable {
  private final class Job {
    let encodings: [Encoding]
    let tokens: Int
    let arrival: Date
    let timing = RequestTiming.current
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
  private let alwaysWaits: Bool
  /// Real tokens the batcher takes from the queue at once, at most (one
  /// request at least): four token budgets, so that sorting by length has
  /// enough sequences to choose from and the batches carry little padding.
  private let windowTokens: Int
  private let paddingID: Int

  /// Guards everything below.
  private let condition = NSCondition()
  private var pending: [Job] = []
  /// Requests the server is handling, from their first byte to their response.
  private var inFlight = 0
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
    alwaysWaits = configuration.alwaysWaits
    windowTokens = 4 * configuration.maxBatchTokens
    paddingID = model.tokenizer.paddingTokenID
  }

  /// Requests waiting for the model.
  var queueDepth: Int {
    condition.lock()
    defer { condition.unlock() }
    return pending.count
  }

  /// Counts a request the server has begun to handle: until it is submitted
  /// or answered, a waiting batch may wait for it.
  func requestStarted() {
    condition.lock()
    inFlight += 1
    condition.unlock()
  }

  /// Counts a request the server has answered.
  func requestFinished() {
    condition.lock()
    inFlight -= 1
    condition.signal()
    condition.unlock()
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
      while !stopping && !budgetFull && othersOnTheirWay && Date() < deadline {
        _ = condition.wait(until: deadline)
      }
      var taken: [Job] = []
      var tokens = 0
      while let job = pending.first, taken.isEmpty || tokens + job.tokens <= windowTokens {
        taken.append(pending.removeFirst())
        tokens += job.tokens
      }
      metrics.queue(depth: pending.count)
      condition.unlock()
      run(taken)
      condition.lock()
    }
    stopped = true
    stoppedContinuation?.resume()
    stoppedContinuation = nil
    condition.unlock()
  }

  /// Whether requests are being read or tokenized that are not yet waiting
  /// here (with the lock held). Requests answered but not yet counted out may
  /// make it true for a moment; the wait is bounded by the deadline anyway.
  private var othersOnTheirWay: Bool { alwaysWaits || inFlight > pending.count }

  /// Whether the waiting requests fill a batch (with the lock held).
  private var budgetFull: Bool {
    var (tokens, sequences) = (0, 0)
    for job in pending {
      tokens += job.tokens
      sequences += job.encodings.count
    }
    return tokens >= (batching.maxTokens ?? .max) || sequences >= batching.maxSequences
  }

  /// Runs the jobs' sequences in length-sorted batches, and answers each job
  /// (its rows in order) as soon as the batch holding its last row is done.
  private func run(_ jobs: [Job]) {
    let start = Date()
    var encodings: [Encoding] = []
    var owner: [(job: Int, row: Int)] = []
    for (index, job) in jobs.enumerated() {
      encodings += job.encodings
      owner += job.encodings.indices.map { (index, $0) }
    }
    var rows = jobs.map { [[Float]](repeating: [], count: $0.encodings.count) }
    var remaining = jobs.map(\.encodings.count)
    for indices in batching.batches(lengths: encodings.map(\.count)) {
      let batch = TextBatch(encodings: indices.map { encodings[$0] }, paddingID: paddingID)
      let batchStart = Date()
      let output = model.forward(batch)
      metrics.batch(lengths: batch.lengths, seconds: Date().timeIntervalSince(batchStart))
      for (index, row) in zip(indices, output) {
        let (job, position) = owner[index]
        rows[job][position] = row
        remaining[job] -= 1
        if remaining[job] == 0 { answer(jobs[job], rows[job], runStart: start) }
      }
    }
  }

  /// Hands a job its rows, with the time it waited and the time its batches took.
  private func answer(_ job: Job, _ rows: [[Float]], runStart: Date) {
    job.timing?.add(
      queueSeconds: runStart.timeIntervalSince(job.arrival),
      inferenceSeconds: Date().timeIntervalSince(runStart))
    condition.lock()
    defer { condition.unlock() }
    job.continuation?.resume(returning: rows)
    job.continuation = nil
  }
}
