/// How special tokens are put around one text or a pair: the `post_processor`
/// of a `tokenizer.json` (`TemplateProcessing` or `BertProcessing`), or BERT's
/// `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` for a `vocab.txt` directory.
struct PostProcessor: Sendable, Equatable {
  /// One element of a template.
  enum Piece: Sendable, Equatable {
    /// The tokens of the first (0) or second (1) text, with this token type.
    case sequence(Int, typeID: Int)
    /// Special token ids, with this token type.
    case special([Int], typeID: Int)
  }

  /// The template for one text, and for a pair.
  var single: [Piece]
  var pair: [Piece]

  /// BERT's template with these `[CLS]` and `[SEP]` ids.
  static func bert(classification: Int, separator: Int) -> PostProcessor {
    PostProcessor(
      single: [
        .special([classification], typeID: 0), .sequence(0, typeID: 0),
        .special([separator], typeID: 0),
      ],
      pair: [
        .special([classification], typeID: 0), .sequence(0, typeID: 0),
        .special([separator], typeID: 0), .sequence(1, typeID: 1), .special([separator], typeID: 1),
      ])
  }

  /// No special tokens: the texts as they are, the second with type 1.
  static let none = PostProcessor(
    single: [.sequence(0, typeID: 0)], pair: [.sequence(0, typeID: 0), .sequence(1, typeID: 1)])

  /// The number of special tokens added to one text, or to a pair.
  func addedTokenCount(pair isPair: Bool) -> Int {
    (isPair ? pair : single).reduce(0) {
      if case .special(let ids, _) = $1 { return $0 + ids.count }
      return $0
    }
  }

  /// Assembles the encoding of one text or a pair from their token ids and offsets.
  func assemble(
    _ first: (ids: [Int], offsets: [Range<Int>]), _ second: (ids: [Int], offsets: [Range<Int>])?
  ) -> Encoding {
    let template = second == nil ? single : pair
    var encoding = Encoding(
      inputIDs: [], tokenTypeIDs: [], attentionMask: [], specialTokensMask: [], offsets: [],
      sequenceIDs: [])
    for piece in template {
      switch piece {
      case .special(let ids, let typeID):
        encoding.inputIDs += ids
        encoding.tokenTypeIDs += repeatElement(typeID, count: ids.count)
        encoding.specialTokensMask += repeatElement(1, count: ids.count)
        encoding.offsets += repeatElement(0..<0, count: ids.count)
        encoding.sequenceIDs += repeatElement(nil, count: ids.count)
      case .sequence(let index, let typeID):
        guard let text = index == 0 ? first : second else { continue }
        encoding.inputIDs += text.ids
        encoding.tokenTypeIDs += repeatElement(typeID, count: text.ids.count)
        encoding.specialTokensMask += repeatElement(0, count: text.ids.count)
        encoding.offsets += text.offsets
        encoding.sequenceIDs += repeatElement(Int?(index), count: text.ids.count)
      }
    }
    encoding.attentionMask = Array(repeating: 1, count: encoding.inputIDs.count)
    return encoding
  }
}
