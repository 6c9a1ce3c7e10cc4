import BERT
import Foundation

/// Everything an ``InferenceServer`` needs: the model directory and how to load
/// it, where to listen, how to batch, and the limits on what a request may ask.
///
/// ```swift
/// var configuration = ServerConfiguration(modelDirectory: URL(fileURLWithPath: "all-MiniLM-L6-v2"))
/// configuration.port = 9000
/// configuration.maxBatchTokens = 4096
/// let server = try InferenceServer(configuration: configuration, logger: logger)
/// try await server.run()  // until SIGTERM or SIGINT
/// ```
public struct ServerConfiguration: Sendable {
  /// The model directory: a Hugging Face BERT directory, a sentence-transformers
  /// directory, or one fine-tuned by this package or by transformers.
  public var modelDirectory: URL
  /// The name `/v1/embeddings` and `/info` report; by default the directory's name.
  public var modelName: String
  /// The projections' precision (``Precision/int8`` quantizes them as the
  /// model loads); nil runs the directory as stored (int8 for one
  /// `bert quantize` wrote, else fp32).
  public var precision: Precision?
  /// The address to bind; `127.0.0.1` keeps the server to this machine.
  public var host: String
  /// The TCP port; 0 lets the system choose one.
  public var port: Int
  /// Padded tokens (sequences × the longest) per forward pass, at most; a
  /// single longer sequence runs alone.
  public var maxBatchTokens: Int
  /// Sequences per forward pass, at most.
  public var maxBatchSequences: Int
  /// How long the first waiting request waits for others before its batch
  /// starts, in milliseconds (a full budget starts it at once, and so does
  /// the end of arrivals unless ``alwaysWaits``).
  public var maxWaitMilliseconds: Int
  /// Whether a batch waits the whole ``maxWaitMilliseconds`` even when no
  /// other request is being read or tokenized. False (the default) runs a lone
  /// request at once, so one client at a time never pays the wait; true waits
  /// for bursts whose requests do not overlap.
  public var alwaysWaits = false
  /// Requests waiting for the model, at most; one more is answered 429.
  public var maxQueue: Int
  /// Inputs (texts, pairs, documents) in one request, at most; more is answered 413.
  public var maxInputs: Int
  /// Bytes of a request body, at most; more is answered 413.
  public var maxBodyBytes: Int

  public init(
    modelDirectory: URL, modelName: String? = nil, precision: Precision? = nil,
    host: String = "127.0.0.1", port: Int = 8080, maxBatchTokens: Int = 8192,
    maxBatchSequences: Int = 64, maxWaitMilliseconds: Int = 5, maxQueue: Int = 512,
    maxInputs: Int = 256, maxBodyBytes: Int = 2 << 20
  ) {
    self.modelDirectory = modelDirectory
    self.modelName = modelName ?? modelDirectory.standardizedFileURL.lastPathComponent
    self.precision = precision
    self.host = host
    self.port = port
    self.maxBatchTokens = maxBatchTokens
    self.maxBatchSequences = maxBatchSequences
    self.maxWaitMilliseconds = maxWaitMilliseconds
    self.maxQueue = maxQueue
    self.maxInputs = maxInputs
    self.maxBodyBytes = maxBodyBytes
  }

  /// A message naming the first setting out of range, or nil when all are usable.
  public var problem: String? {
    let positive: [(String, Int)] = [
      ("maxBatchTokens", maxBatchTokens), ("maxBatchSequences", maxBatchSequences),
      ("maxQueue", maxQueue), ("maxInputs", maxInputs), ("maxBodyBytes", maxBodyBytes),
    ]
    if let (name, value) = positive.first(where: { $0.1 < 1 }) {
      return "\(name) must be at least 1, got \(value)"
    }
    if maxWaitMilliseconds < 0 { return "maxWaitMilliseconds must be at least 0" }
    if !(0...65535).contains(port) { return "port must be in 0...65535, got \(port)" }
    return nil
  }
}
