import Foundation

/// Where the real model and data sets live on this machine.
///
/// The root is `$BERT_ASSETS` when set, else `$XDG_CACHE_HOME/bert-swift/assets`
/// (`~/.cache/bert-swift/assets` by default). `scripts/fetch-assets` and
/// `bert demo` fill it; see the README for what it holds.
public enum AssetCache {
  /// The cache root.
  public static var root: URL {
    let environment = ProcessInfo.processInfo.environment
    if let path = environment["BERT_ASSETS"], !path.isEmpty {
      return URL(fileURLWithPath: path, isDirectory: true)
    }
    let cache =
      environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
      ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
    return cache.appendingPathComponent("bert-swift/assets", isDirectory: true)
  }

  /// The default model: all-MiniLM-L6-v2, a 6-layer BERT with hidden size 384.
  public static var defaultModelDirectory: URL {
    root.appendingPathComponent("all-MiniLM-L6-v2", isDirectory: true)
  }

  /// Whether the default model's files are all present.
  public static var hasDefaultModel: Bool {
    ["config.json", "vocab.txt", "model.safetensors"].allSatisfy {
      FileManager.default.fileExists(
        atPath: defaultModelDirectory.appendingPathComponent($0).path)
    }
  }

  /// A data file in the cache, e.g. `polarity.csv`.
  public static func dataFile(_ name: String) -> URL {
    root.appendingPathComponent("data", isDirectory: true).appendingPathComponent(name)
  }
}
