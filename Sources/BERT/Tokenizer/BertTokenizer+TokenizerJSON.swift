import Foundation

extension BertTokenizer {
  /// A `tokenizer.json` for a tokenizer read from `vocab.txt`: the file that
  /// transformers' fast `BertTokenizer` writes for the same `vocab.txt` and
  /// `tokenizer_config.json` (a `BertNormalizer` with this tokenizer's flags,
  /// the `BertPreTokenizer`, WordPiece, BERT's template, and the special tokens
  /// as added tokens that are matched before normalization).
  ///
  /// The keys are written in the order the `tokenizers` library writes them,
  /// and the vocabulary in id order.
  func vocabularyTokenizerJSON() -> Data {
    ensure(format == .vocabularyText, "tokenizer.json is copied, not rebuilt")
    var out: [UInt8] = []
    out.reserveCapacity(vocabulary.count * 16 + 2048)
    func raw(_ text: String) { out.append(contentsOf: text.utf8) }
    func string(_ text: String) { SafeTensors.appendJSONString(text, to: &out) }
    func flag(_ value: Bool?) { raw(value.map { $0 ? "true" : "false" } ?? "null") }

    raw(#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":["#)
    var specials: [(token: String, id: Int)] = []
    for (token, id) in [
      (paddingToken, paddingTokenID), (unknownToken, unknownTokenID),
      (classificationToken, classificationTokenID), (separatorToken, separatorTokenID),
    ] + (maskTokenID.map { [(maskToken, $0)] } ?? [])
    where !specials.contains(where: { $0.id == id }) {
      specials.append((token, id))
    }
    for (k, special) in specials.sorted(by: { $0.id < $1.id }).enumerated() {
      raw(k == 0 ? "{" : ",{")
      raw(#""id":\#(special.id),"content":"#)
      string(special.token)
      raw(#","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}"#)
    }
    raw(#"],"normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":"#)
    flag(tokenizeChineseCharacters)
    raw(#","strip_accents":"#)
    flag(stripAccents)
    raw(#","lowercase":"#)
    flag(doLowerCase)
    raw(
      #"},"pre_tokenizer":{"type":"BertPreTokenizer"},"post_processor":{"type":"TemplateProcessing","#
    )
    func special(_ token: String, _ typeID: Int) {
      raw(#"{"SpecialToken":{"id":"#)
      string(token)
      raw(#","type_id":\#(typeID)}}"#)
    }
    func sequence(_ name: String, _ typeID: Int) {
      raw(#"{"Sequence":{"id":"\#(name)","type_id":\#(typeID)}}"#)
    }
    raw(#""single":["#)
    special(classificationToken, 0)
    raw(",")
    sequence("A", 0)
    raw(",")
    special(separatorToken, 0)
    raw(#"],"pair":["#)
    special(classificationToken, 0)
    raw(",")
    sequence("A", 0)
    raw(",")
    special(separatorToken, 0)
    raw(",")
    sequence("B", 1)
    raw(",")
    special(separatorToken, 1)
    raw(#"],"special_tokens":{"#)
    for (k, (token, id)) in [
      (classificationToken, classificationTokenID), (separatorToken, separatorTokenID),
    ].sorted(by: { $0.0 < $1.0 }).enumerated() {
      if k > 0 { raw(",") }
      string(token)
      raw(#":{"id":"#)
      string(token)
      raw(#","ids":[\#(id)],"tokens":["#)
      string(token)
      raw("]}")
    }
    raw(###"}},"decoder":{"type":"WordPiece","prefix":"##","cleanup":true},"###)
    raw(#""model":{"type":"WordPiece","unk_token":"#)
    string(unknownToken)
    raw(###","continuing_subword_prefix":"##","max_input_chars_per_word":"###)
    raw("\(maxInputCharactersPerWord)")
    raw(#","vocab":{"#)
    for (id, token) in vocabulary.enumerated() {
      if id > 0 { raw(",") }
      string(token)
      raw(":\(id)")
    }
    raw("}}}")
    return Data(out)
  }
}
