// `bert info`: what a model directory holds and what the process runs on.

import ArgumentParser
import BERT
import BERTAssets
import Foundation

struct Info: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show a model's configuration and size, the backend, and the asset cache.",
    discussion: """
      Prints the model's architecture and sizes, its parameter count (from the \
      safetensors headers: model.safetensors, or the shards its index names), the \
      fine-tuned task if it has one, the tokenizer, the backend with its kernel and \
      threads, and where the asset cache is.

      Examples:
        bert info
        bert info --model runs/sst --backend swift --threads 1
        bert info --json
      """)

  @OptionGroup var compute: ComputeOptions
  @OptionGroup var modelOptions: ModelOptions

  @Flag(help: "Print the information as one JSON object.")
  var json = false

  func run() throws {
    try reportingErrors("info") {
      try compute.apply()
      let directory = try modelOptions.directory()
      let layout: ModelDirectoryLayout
      do {
        layout = try ModelDirectoryLayout(directory: directory)
      } catch {
        throw CLIError("\(error)")
      }
      let files = layout.transformer
      let config = try BertConfig(contentsOf: files.appendingPathComponent("config.json"))
      let tokenizer = try BertTokenizer(directory: files)
      let weights = try SafeTensorsCheckpoint(directory: files)
      let weightsFile =
        weights.isSharded
        ? "\(weights.files.count) shards of \(weights.url.lastPathComponent)"
        : weights.url.lastPathComponent
      var parameterCount = 0
      var dtypes = Set<String>()
      for name in weights.names {
        guard let info = weights.info(for: name), !name.hasSuffix("position_ids") else {
          continue
        }
        guard [.f32, .f16, .bf16, .f64].contains(info.dtype) else { continue }
        parameterCount += info.elementCount
        dtypes.insert(info.dtype.rawValue)
      }
      let settings = try? TaskSettings.read(directory: directory)
      let inferredTask =
        settings == nil
        ? try? FineTunedTask.task(fromArchitectureOf: config, path: directory.path) : nil
      let embedding = EmbeddingSettings(layout.sentenceTransformers)
      let embeddingLength = min(
        embedding.maxLength ?? Int.max, ModelCheck.positionLimit(config, tokenizer))
      let transformerPath = layout.sentenceTransformers?.transformerPath
      let architecture = config.architectures?.joined(separator: ", ") ?? "BertModel"
      let backend = Compute.backendKind
      let kernel = Compute.backend.kernelName
      let assets = AssetCache.root
      let labels = config.idToLabel.map { map in
        map.sorted { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }.map(\.value)
      }

      if json {
        var task: JSONOut = .null
        if let settings {
          var members: [(String, JSONOut)] = [
            ("task", .string(settings.task)), ("max_length", .int(settings.maxLength)),
          ]
          if let docStride = settings.docStride { members.append(("doc_stride", .int(docStride))) }
          if let labels { members.append(("labels", .strings(labels))) }
          task = .object(members)
        } else if let inferredTask {
          var members: [(String, JSONOut)] = [
            ("task", .string(inferredTask)), ("from", .string("architectures")),
          ]
          if let labels, Self.hasLabels(inferredTask) {
            members.append(("labels", .strings(labels)))
          }
          task = .object(members)
        }
        var sentenceTransformers: JSONOut = .null
        if let st = layout.sentenceTransformers {
          sentenceTransformers = .object([
            ("modules", .strings(st.modules.map(\.type))),
            ("transformer_path", .string(st.transformerPath)),
            ("max_seq_length", st.maxSequenceLength.map { .int($0) } ?? .null),
            ("do_lower_case", .bool(st.lowercasesInput)),
          ])
        }
        let encode = JSONOut.object([
          ("pooling", .strings(embedding.pooling.map(\.rawValue))),
          ("normalize", .bool(embedding.normalize)),
          ("max_length", .int(embeddingLength)),
          (
            "from",
            .string(layout.sentenceTransformers == nil ? "defaults" : "sentence-transformers")
          ),
        ])
        let object = JSONOut.object([
          ("model", .string(directory.path)),
          ("architecture", .string(architecture)),
          ("layers", .int(config.hiddenLayerCount)),
          ("hidden_size", .int(config.hiddenSize)),
          ("attention_heads", .int(config.attentionHeadCount)),
          ("intermediate_size", .int(config.intermediateSize)),
          ("vocabulary_size", .int(config.vocabularySize)),
          ("tokenizer", .string(tokenizer.format.rawValue)),
          ("max_position_embeddings", .int(config.maxPositionEmbeddings)),
          ("parameters", .int(parameterCount)),
          ("weights", .string(weights.url.lastPathComponent)),
          ("shards", .int(weights.isSharded ? weights.files.count : 0)),
          ("warnings", .strings(weights.warnings)),
          ("task", task),
          ("sentence_transformers", sentenceTransformers),
          ("encode", encode),
          ("backend", .string(backend.rawValue)),
          ("kernel", .string(kernel)),
          ("threads", .int(Compute.threadCount)),
          ("int8_kernel", .string(Int8GEMM.kernel.rawValue)),
          ("int8_kernels_available", .strings(Int8GEMM.Kernel.allAvailable.map(\.rawValue))),
          ("backends_available", .strings(BackendKind.allAvailable.map(\.rawValue))),
          ("asset_cache", .string(assets.path)),
        ])
        Console.out(object.pretty)
        return
      }
      var rows: [(String, String)] = [
        ("model", directory.path),
        (
          "architecture",
          architecture
            + (settings == nil && inferredTask == nil
              ? " (no fine-tuned task: a base checkpoint)" : "")
        ),
        (
          "config",
          "\(config.hiddenLayerCount) layers, hidden \(config.hiddenSize), "
            + "\(config.attentionHeadCount) heads, intermediate \(config.intermediateSize), "
            + "\(config.maxPositionEmbeddings) positions, \(config.hiddenActivation.rawValue)"
        ),
        (
          "parameters",
          "\(Format.grouped(parameterCount)) (\(Format.millions(parameterCount)); "
            + "\(dtypes.sorted().joined(separator: ", ")) in \(weightsFile))"
        ),
        (
          "tokenizer",
          "\(tokenizer.vocabulary.count) entries from \(tokenizer.format.rawValue), "
            + (tokenizer.doLowerCase ? "lower-cased" : "cased")
            + ", up to \(ModelCheck.positionLimit(config, tokenizer)) tokens"
        ),
      ]
      rows += weights.warnings.map { ("warning", $0) }
      if let settings {
        var task = "\(settings.task), max length \(settings.maxLength)"
        if let docStride = settings.docStride { task += ", doc stride \(docStride)" }
        if let labels, Self.hasLabels(settings.task) {
          let shown = labels.prefix(12).joined(separator: ", ")
          task += "; \(labels.count) labels: \(shown)" + (labels.count > 12 ? ", …" : "")
        }
        rows.append(("task", task))
      } else if let inferredTask {
        var task = "\(inferredTask) (from architectures; pairs as the input has them)"
        if let labels, Self.hasLabels(inferredTask) {
          let shown = labels.prefix(12).joined(separator: ", ")
          task += "; \(labels.count) labels: \(shown)" + (labels.count > 12 ? ", …" : "")
        }
        rows.append(("task", task))
      }
      var encode =
        embedding.pooling.map(\.rawValue).joined(separator: " + ") + " pooling, "
        + (embedding.normalize ? "normalised" : "not normalised")
        + ", up to \(embeddingLength) tokens"
      if let st = layout.sentenceTransformers {
        encode += " (sentence-transformers: modules.json"
        if let pooling = st.poolingPath { encode += ", \(pooling)/config.json" }
        if st.maxSequenceLength != nil { encode += ", max_seq_length" }
        if st.lowercasesInput { encode += "; do_lower_case" }
        encode += ")"
      } else {
        encode += " (defaults: no sentence-transformers files)"
      }
      rows.append(("encode", encode))
      if let transformerPath, !transformerPath.isEmpty {
        rows.append(("transformer", "\(transformerPath)/ (config, weights and tokenizer)"))
      }
      rows.append(
        (
          "backend",
          "\(backend) (kernel \(kernel)), \(Compute.threadCount) threads; built: "
            + BackendKind.allAvailable.map(\.rawValue).joined(separator: ", ")
        ))
      rows.append(
        (
          "int8",
          "kernel \(Int8GEMM.kernel.rawValue) (--precision int8); available: "
            + Int8GEMM.Kernel.allAvailable.map(\.rawValue).joined(separator: ", ")
        ))
      rows.append(
        (
          "asset cache",
          assets.path
            + (AssetCache.hasDefaultModel ? " (default model present)" : " (no default model)")
        ))
      let width = rows.map(\.0.count).max() ?? 0
      for (key, value) in rows {
        Console.out(key.padding(toLength: width + 2, withPad: " ", startingAt: 0) + value)
      }
    }
  }

  /// Whether the task named `task` has named labels (`id2label`); false for
  /// a name no task has.
  private static func hasLabels(_ task: String) -> Bool {
    (try? TaskKind(named: task))?.definition.hasLabels ?? false
  }
}
