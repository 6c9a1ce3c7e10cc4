import Foundation
import HummingbirdTesting
import Testing

@testable import BERTServer

/// `docs/openapi.yaml` lists exactly the server's routes and methods, and each
/// listed route answers (not 404 or 405) on a running server.
@Suite struct OpenAPIDocumentTests {
  /// The `paths:` of an OpenAPI document: each path at two spaces' indent, its
  /// methods at four.
  static func operations(_ yaml: String) -> Set<String> {
    var operations: Set<String> = []
    var inPaths = false
    var path: String?
    for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
      if !line.hasPrefix(" ") && !line.isEmpty { inPaths = line == "paths:" }
      guard inPaths else { continue }
      if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") {
        path = String(line.dropFirst(2).dropLast())
      } else if line.hasPrefix("    "), !line.hasPrefix("     "), let path,
        let method = ["get", "post", "put", "delete", "patch", "head", "options"].first(where: {
          line == "    \($0):"
        })
      {
        operations.insert("\(method.uppercased()) \(path)")
      }
    }
    return operations
  }

  @Test func theScannerReadsPathsAndMethods() {
    let yaml =
      "openapi: 3.0.3\npaths:\n  /a:\n    get:\n      summary: x\n    post:\n  /b/c:\n    put:\ncomponents:\n  /d:\n    get:\n"
    #expect(Self.operations(yaml) == ["GET /a", "POST /a", "PUT /b/c"])
  }

  @Test func theDocumentListsExactlyTheServersRoutes() async throws {
    let yaml = try String(
      contentsOf: ServerFixtures.root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
    let documented = Self.operations(yaml)
    let served = Set(InferenceServer.routes.map { "\($0.method.rawValue) \($0.path)" })
    #expect(
      documented == served,
      "documented only: \(documented.subtracting(served).sorted()); served only: \(served.subtracting(documented).sorted())"
    )
    let server = try ServerFixtures.server(ServerFixtures.embedding)
    try await server.test { client in
      for route in InferenceServer.routes {
        let response = try await client.executeRequest(
          uri: route.path, method: route.method, headers: [:],
          body: route.method == .post ? .init(string: "{}") : nil)
        #expect(
          ![404, 405].contains(response.status.code),
          "\(route.method) \(route.path): \(response.status)")
      }
    }
  }
}
