import Foundation
import Testing

@testable import BERT

/// `namedParameters` is written by hand in every layer; reflection checks it.
/// Every model and head is walked with `Mirror`: each stored ``Parameter``
/// must be listed exactly once, and each stored projection must be reached by
/// `mapProjections` under the key its parameters are listed with.
@Suite struct ParameterReflectionTests {
  static let config = BertConfig(
    vocabularySize: 20, hiddenSize: 8, hiddenLayerCount: 2, attentionHeadCount: 2,
    intermediateSize: 12, maxPositionEmbeddings: 16)

  @Test func everyModelAndHeadListsWhatItStores() {
    let bert = BertModel(config: Self.config)
    let poolerless = BertModel(config: Self.config, hasPooler: false)
    var checked: [(String, [String], Int)] = [
      ("BertModel", parameterProblems(of: bert), bert.namedParameters.count),
      ("BertModel without pooler", parameterProblems(of: poolerless), poolerless.parameters.count),
    ]
    for head in SequenceClassifierHead.allCases {
      let model = BertForSequenceClassification(
        bert: head == .pooler ? bert : poolerless, labelCount: 3, head: head)
      checked.append(
        ("sequence head \(head.rawValue)", parameterProblems(of: model), model.parameters.count))
    }
    let token = BertForTokenClassification(bert: poolerless, labelCount: 5)
    let qa = BertForQuestionAnswering(bert: poolerless)
    checked += [
      ("BertForTokenClassification", parameterProblems(of: token), token.parameters.count),
      ("BertForQuestionAnswering", parameterProblems(of: qa), qa.parameters.count),
    ]
    for (name, problems, _) in checked {
      #expect(problems.isEmpty, "\(name): \(problems.joined(separator: "; "))")
    }
    // 5 embedding tensors + 2 layers × 16 + 2 pooler tensors, then each head's own.
    #expect(checked.map(\.2) == [39, 37, 41, 41, 39, 39])
  }

  /// A reflection check that finds nothing would pass for any layer: this
  /// one must name each planted fault.
  @Test func theCheckNamesWhatALayerForgets() {
    struct Forgetful: Layer {
      var kept: any LinearProjection
      var forgotten: any LinearProjection
      var loose: Parameter
      var many: [any LinearProjection]
      var listedTwice: any LinearProjection

      var namedParameters: [(key: String, parameter: Parameter)] {
        prefixed("kept", kept) + prefixed("many.0", many[0]) + prefixed("twice", listedTwice)
          + prefixed("again", listedTwice)
      }

      mutating func mapProjections(_ transform: ProjectionTransform) rethrows {
        kept = try transform("kept", kept)
        many[0] = try transform("many.0", many[0])
        listedTwice = try transform("elsewhere", listedTwice)
      }
    }
    var generator = SeededGenerator(seed: 0)
    func linear() -> Linear {
      Linear(inputSize: 2, outputSize: 2, standardDeviation: 1, generator: &generator)
    }
    let layer = Forgetful(
      kept: linear(), forgotten: linear(), loose: Parameter(Tensor(zeros: [3])),
      many: [linear(), linear()], listedTwice: linear())
    let problems = parameterProblems(of: layer)
    let expected = [
      "Forgetful: one parameter is listed 2 times",
      "Forgetful.forgotten.weight is stored but missing from namedParameters",
      "Forgetful.forgotten.bias is stored but missing from namedParameters",
      "Forgetful.loose is stored but missing from namedParameters",
      "Forgetful.many[1].weight is stored but missing from namedParameters",
      "Forgetful.forgotten holds a projection that mapProjections does not reach",
      "Forgetful.many[1] holds a projection that mapProjections does not reach",
      "Forgetful.listedTwice was mapped as elsewhere, but namedParameters has not its weight",
    ]
    for sentence in expected {
      #expect(problems.contains { $0.hasPrefix(sentence) }, "\(sentence) not in \(problems)")
    }
  }
}
