// SQuAD v1.1 exact match and F1, with the official evaluation script's
// normalisation, written out on Unicode scalars so that it agrees with Python.

/// SQuAD exact match and F1, both in [0, 100].
public struct SQuADScores: Equatable, Sendable {
  public var exactMatch: Double
  public var f1: Double
  /// Questions scored (the denominator).
  public var total: Int
  /// Questions with no prediction (scored 0, as the official script does).
  public var unanswered: Int
}

extension Metrics {
  /// The official SQuAD v1.1 answer normalisation, in its order:
  /// lower-case (Python's `str.lower`, with its final-sigma rule), remove every
  /// character of Python's ASCII `string.punctuation`, replace the whole words
  /// `a`, `an`, `the` by a space (`re.sub(r"\b(a|an|the)\b", " ", text)`, where
  /// a word character is a letter, a number or `_`), and join the
  /// white-space-separated tokens with single spaces.
  public static func normalizeAnswer(_ text: String) -> String {
    squadTokens(text).joined(separator: " ")
  }

  /// Whether the normalised prediction equals the normalised gold answer.
  public static func squadExactMatch(prediction: String, groundTruth: String) -> Bool {
    normalizeAnswer(prediction) == normalizeAnswer(groundTruth)
  }

  /// The official token F1 between a prediction and one gold answer: tokens
  /// are the normalised text split at white space, the overlap counts each
  /// token as often as it appears in both (a multiset intersection), and the
  /// F1 is 0 when nothing overlaps (also when both are empty).
  public static func squadF1(prediction: String, groundTruth: String) -> Double {
    let predicted = squadTokens(prediction)
    let gold = squadTokens(groundTruth)
    var goldCounts: [String: Int] = [:]
    for token in gold { goldCounts[token, default: 0] += 1 }
    var same = 0
    for token in predicted {
      if let count = goldCounts[token], count > 0 {
        goldCounts[token] = count - 1
        same += 1
      }
    }
    guard same > 0 else { return 0 }
    let precision = Double(same) / Double(predicted.count)
    let recall = Double(same) / Double(gold.count)
    return 2 * precision * recall / (precision + recall)
  }

  /// Exact match and F1 over questions, as the official `evaluate-v1.1.py`:
  /// each question scores the maximum over its gold answers, the scores are
  /// averaged over all questions and multiplied by 100. A missing prediction
  /// scores 0; so does a question with no gold answers (the official script
  /// would fail on it).
  /// - Parameters:
  ///   - predictions: the predicted answer text of each question, by question id.
  ///   - examples: the questions, with their gold answers.
  public static func squad(predictions: [String: String], examples: [QAExample]) -> SQuADScores {
    var exact = 0.0
    var f1 = 0.0
    var unanswered = 0
    for example in examples {
      guard let prediction = predictions[example.id] else {
        unanswered += 1
        continue
      }
      let golds = example.answers.map(\.text)
      exact += golds.contains { squadExactMatch(prediction: prediction, groundTruth: $0) } ? 1 : 0
      f1 += golds.map { squadF1(prediction: prediction, groundTruth: $0) }.max() ?? 0
    }
    let total = examples.count
    return SQuADScores(
      exactMatch: total > 0 ? 100 * exact / Double(total) : 0,
      f1: total > 0 ? 100 * f1 / Double(total) : 0, total: total, unanswered: unanswered)
  }

  /// Exact match and F1 for predictions given in order, each with its gold answers.
  public static func squad(predictions: [String], answers: [[String]]) -> SQuADScores {
    ensure(
      predictions.count == answers.count, "squad: predictions and answers differ in length")
    let examples = answers.enumerated().map { index, golds in
      QAExample(
        id: String(index), title: "", question: "", context: "",
        answers: golds.map { QAExample.Answer(text: $0, start: 0) })
    }
    var byID: [String: String] = [:]
    for (index, prediction) in predictions.enumerated() { byID[String(index)] = prediction }
    return squad(predictions: byID, examples: examples)
  }
}

/// The normalised answer split into tokens (the normalisation's last step
/// joins these with single spaces).
private func squadTokens(_ text: String) -> [String] {
  // 1. Lower-case, 2. drop ASCII punctuation.
  let kept = pythonLowercased(text).filter { !isASCIIPunctuation($0) }
  // 3. Replace whole-word a/an/the by a space: a maximal run of word
  //    characters equal to one of them (\b on both sides of a match made
  //    only of word characters means the match is the whole run).
  var replaced: [Unicode.Scalar] = []
  replaced.reserveCapacity(kept.count)
  var i = 0
  while i < kept.count {
    guard isPythonWordCharacter(kept[i]) else {
      replaced.append(kept[i])
      i += 1
      continue
    }
    var j = i
    while j < kept.count && isPythonWordCharacter(kept[j]) { j += 1 }
    let word = kept[i..<j]
    if word.elementsEqual("a".unicodeScalars) || word.elementsEqual("an".unicodeScalars)
      || word.elementsEqual("the".unicodeScalars)
    {
      replaced.append(" ")
    } else {
      replaced.append(contentsOf: word)
    }
    i = j
  }
  // 4. Split at white space (Python's str.split()).
  return replaced.split(whereSeparator: isPythonWhitespace).map {
    String(String.UnicodeScalarView($0))
  }
}

/// Python's `string.punctuation`: ASCII !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~.
private func isASCIIPunctuation(_ s: Unicode.Scalar) -> Bool {
  switch s.value {
  case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E: return true
  default: return false
  }
}

/// Python's `\w` for str patterns: `str.isalnum()` (a letter, Lu Ll Lt Lm Lo,
/// or a character with a numeric value) or `_`.
private func isPythonWordCharacter(_ s: Unicode.Scalar) -> Bool {
  if s == "_" { return true }
  switch s.properties.generalCategory {
  case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
    return true
  default:
    return s.properties.numericType != nil
  }
}

/// Python's `str.isspace()`: White_Space characters plus the separators U+001C–U+001F.
private func isPythonWhitespace(_ s: Unicode.Scalar) -> Bool {
  s.properties.isWhitespace || (0x1C...0x1F).contains(s.value)
}

/// Python's `str.lower()`: each scalar's full lower-case mapping, except that
/// a capital sigma becomes final sigma (ς) when a cased letter precedes it
/// and none follows it (case-ignorable characters skipped both ways).
private func pythonLowercased(_ text: String) -> [Unicode.Scalar] {
  let scalars = Array(text.unicodeScalars)
  var result: [Unicode.Scalar] = []
  result.reserveCapacity(scalars.count)
  for (index, s) in scalars.enumerated() {
    if s == "\u{03A3}" {
      result.append(isFinalSigma(scalars, at: index) ? "\u{03C2}" : "\u{03C3}")
      continue
    }
    if s.isASCII {
      let value = UInt8(ascii: s)
      result.append(Unicode.Scalar((0x41...0x5A).contains(value) ? value + 0x20 : value))
    } else {
      result.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
    }
  }
  return result
}

private func isFinalSigma(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
  var before = index - 1
  while before >= 0 && scalars[before].properties.isCaseIgnorable { before -= 1 }
  guard before >= 0 && scalars[before].properties.isCased else { return false }
  var after = index + 1
  while after < scalars.count && scalars[after].properties.isCaseIgnorable { after += 1 }
  return !(after < scalars.count && scalars[after].properties.isCased)
}
