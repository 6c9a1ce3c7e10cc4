import Foundation
import Hummingbird

/// Where one request's time went: how long its sequences waited in the
/// batcher's queue and how long the forward passes that held them took. The
/// server answers them as Text Embeddings Inference does, in milliseconds:
/// `x-queue-time` and `x-inference-time` (with `x-total-time` for the whole
/// request), so a client can tell queueing from compute.
///
/// ``InferenceServer`` binds one to ``current`` for each request it handles;
/// ``DynamicBatcher`` adds to it from its thread.
final class RequestTiming: @unchecked Sendable {
  /// The timing of the request the current task serves.
  @TaskLocal static var current: RequestTiming?

  private let lock = NSLock()
  private var queueSeconds: TimeInterval = 0
  private var inferenceSeconds: TimeInterval = 0
  private var ranModel = false

  /// Adds one batch's share: the time the request waited before it, and the batch's run time.
  func add(queueSeconds: TimeInterval, inferenceSeconds: TimeInterval) {
    lock.lock()
    defer { lock.unlock() }
    self.queueSeconds += queueSeconds
    self.inferenceSeconds += inferenceSeconds
    ranModel = true
  }

  /// `x-total-time`, and `x-queue-time` and `x-inference-time` when the request ran the model.
  func headers(totalSeconds: TimeInterval) -> HTTPFields {
    lock.lock()
    defer { lock.unlock() }
    var fields = HTTPFields()
    fields[.init(Self.total)!] = Self.milliseconds(totalSeconds)
    if ranModel {
      fields[.init(Self.queue)!] = Self.milliseconds(queueSeconds)
      fields[.init(Self.inference)!] = Self.milliseconds(inferenceSeconds)
    }
    return fields
  }

  static let total = "x-total-time"
  static let queue = "x-queue-time"
  static let inference = "x-inference-time"

  private static func milliseconds(_ seconds: TimeInterval) -> String {
    String(format: "%.3f", seconds * 1000)
  }
}
