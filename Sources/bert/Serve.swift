// `bert serve`: an HTTP inference server for one model, with dynamic batching.

import ArgumentParser
import BERT
import BERTServer
import Dispatch
import Foundation
import Logging

struct Serve: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Serve one model over HTTP, batching concurrent requests.",
    discussion: """
      Opens the model directory as what it holds: an encoder (embeddings at POST \
      /v1/embeddings, OpenAI's format, and POST /embed, Text Embeddings Inference's) or a \
      fine-tuned task (POST /predict and /rerank for text classification and regression, \
      /tag for tagging, /answer for question answering). Every model answers POST \
      /tokenize, GET /health, /info and /metrics (Prometheus). Requests wait in a queue of \
      --max-queue requests (more get 429 with Retry-After); one batcher forms \
      length-sorted batches of at most --max-batch-tokens padded tokens from whatever \
      waits, once the budget is full, the oldest request has waited --max-wait-ms, or no \
      other request is on its way. \
      SIGTERM or SIGINT stops accepting connections, finishes the requests in flight and \
      exits 0. Logs go to stderr.

      Examples:
        bert serve --model all-MiniLM-L6-v2
        bert serve --model runs/sst --port 9000 --precision int8
        curl -s localhost:8080/v1/embeddings -d '{"input":["A cat sat."]}'
      """)

  @OptionGroup var compute: ComputeOptions
  @OptionGroup var modelOptions: ModelOptions
  @OptionGroup var precisionOptions: PrecisionOptions
  @OptionGroup var batching: BatchingOptions

  @Option(help: ArgumentHelp("The address to listen on.", valueName: "host"))
  var host = "127.0.0.1"

  @Option(help: ArgumentHelp("The TCP port (0: any free port).", valueName: "n"))
  var port = 8080

  @Option(
    help: ArgumentHelp(
      "How long the oldest waiting request waits for others before its batch starts.",
      valueName: "ms"))
  var maxWaitMs = 5

  @Option(help: ArgumentHelp("Requests waiting for the model, at most (then 429).", valueName: "n"))
  var maxQueue = 512

  @Option(help: ArgumentHelp("Inputs in one request, at most (then 413).", valueName: "n"))
  var maxInputs = 256

  @Option(help: ArgumentHelp("Bytes of a request body, at most (then 413).", valueName: "n"))
  var maxBodyBytes = 2 << 20

  func validate() throws {
    for (name, value) in [
      ("--max-queue", maxQueue), ("--max-inputs", maxInputs), ("--max-body-bytes", maxBodyBytes),
    ] where value < 1 {
      throw ValidationError("\(name) must be at least 1, got \(value).")
    }
    if maxWaitMs < 0 {
      throw ValidationError("--max-wait-ms must be at least 0, got \(maxWaitMs).")
    }
    if !(0...65535).contains(port) {
      throw ValidationError("--port must be in 0...65535, got \(port).")
    }
  }

  func run() throws {
    try reportingErrors("serve") {
      try compute.apply()
      let directory = try modelOptions.directory()
      let configuration = ServerConfiguration(
        modelDirectory: directory, precision: precisionOptions.precision, host: host, port: port,
        maxBatchTokens: batching.maxBatchTokens ?? 8192, maxWaitMilliseconds: maxWaitMs,
        maxQueue: maxQueue, maxInputs: maxInputs, maxBodyBytes: maxBodyBytes)
      var logger = Logger(label: "bert-serve") { StreamLogHandler.standardError(label: $0) }
      logger.logLevel = .info
      let server = try InferenceServer(configuration: configuration, logger: logger)
      let (host, model, task) = (host, directory.path, server.task)
      let outcome = Outcome()
      let done = DispatchSemaphore(value: 0)
      Task {
        do {
          try await server.run { port in
            Console.err("bert serve: \(model) (\(task)) on http://\(host):\(port)")
          }
        } catch {
          outcome.error = error
        }
        done.signal()
      }
      done.wait()
      if let error = outcome.error { throw error }
      Console.err("bert serve: stopped")
    }
  }
}

/// The server task's error, read after it has finished.
private final class Outcome: @unchecked Sendable {
  var error: (any Error)?
}
