import BERT
import Foundation

extension InferenceServer {
  /// `GET /info`: the model, its task and labels, max length, pooling,
  /// precision, the compute backend with its kernel and threads, and the
  /// batching limits.
  func info() -> OrderedJSON {
    let settings = model.embeddingSettings
    return .object([
      ("model", .string(configuration.modelName)),
      ("model_directory", .string(configuration.modelDirectory.path)),
      ("task", .string(model.taskName)),
      ("labels", .strings(model.labels)),
      ("max_length", .int(model.maxLength)),
      ("hidden_size", .int(model.config.hiddenSize)),
      ("pooling", settings.map { .strings($0.pooling.map(\.rawValue)) } ?? .null),
      ("normalize", settings.map { .bool($0.normalize) } ?? .null),
      ("precision", .string(model.precision.rawValue)),
      ("backend", .string(Compute.backendKind.rawValue)),
      ("kernel", .string(Compute.backend.kernelName)),
      ("int8_kernel", .string(Int8GEMM.kernel.rawValue)),
      ("threads", .int(Compute.threadCount)),
      ("max_batch_tokens", .int(configuration.maxBatchTokens)),
      ("max_batch_sequences", .int(configuration.maxBatchSequences)),
      ("max_wait_ms", .int(configuration.maxWaitMilliseconds)),
      ("max_queue", .int(configuration.maxQueue)),
      ("max_inputs", .int(configuration.maxInputs)),
      ("max_body_bytes", .int(configuration.maxBodyBytes)),
    ])
  }
}
