import BERT
import Foundation
import Testing

extension ModelFixtures {
  /// A temporary copy of the tiny model with both dropout probabilities 0, so
  /// that training is deterministic whatever the batch split. The caller removes it.
  static func tinyModelWithoutDropout() throws -> URL {
    let copy = try ModelFixtures.copy(tinyModel, without: "config.json")
    let data = try Data(contentsOf: tinyModel.appendingPathComponent("config.json"))
    var config = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    config["hidden_dropout_prob"] = 0.0
    config["attention_probs_dropout_prob"] = 0.0
    try JSONSerialization.data(withJSONObject: config)
      .write(to: copy.appendingPathComponent("config.json"))
    return copy
  }

  /// The largest absolute difference between the tensors of two safetensors
  /// files, over every tensor but those `skip` accepts, with its tensor name.
  static func largestDifference(
    _ first: URL, _ second: URL, skip: (String) -> Bool = { _ in false }
  ) throws -> (difference: Float, tensor: String) {
    let a = try SafeTensorsFile(contentsOf: first)
    let b = try SafeTensorsFile(contentsOf: second)
    var worst: (Float, String) = (0, "")
    for name in a.names where !skip(name) {
      let x = try a.tensor(named: name).scalars
      let y = try b.tensor(named: name).scalars
      for (u, v) in zip(x, y) where abs(u - v) > worst.0 { worst = (abs(u - v), name) }
      if x.count != y.count { return (.infinity, name) }
    }
    return worst
  }
}
