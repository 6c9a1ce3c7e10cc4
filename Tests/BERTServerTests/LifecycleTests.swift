import Foundation
import Hummingbird
import HummingbirdTesting
import ServiceLifecycle
import Testing

@testable import BERTServer

/// On a real loopback port: graceful shutdown finishes the requests in flight,
/// a client that disconnects frees its slot, and `bert serve` exits 0 on SIGTERM.
@Suite(.serialized) struct LifecycleTests {
  /// The port the server bound, once it runs.
  final class Port: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int?
    func set(_ port: Int) { lock.withLock { value = port } }
    func wait() async throws -> Int {
      for _ in 0..<1000 {
        if let port = lock.withLock({ value }) { return port }
        try await Task.sleep(for: .milliseconds(10))
      }
      throw ServerError("the server did not start")
    }
  }

  static func waitForQueue(_ server: InferenceServer, depth: Int) async throws {
    for _ in 0..<1000 where server.batcher.queueDepth != depth {
      try await Task.sleep(for: .milliseconds(5))
    }
    #expect(server.batcher.queueDepth == depth)
  }

  /// Runs `server` on a loopback port in a service group, with a connected
  /// client, for `body`; `body` ends the group with a graceful shutdown, and
  /// the group must then return without an error.
  static func withRunningServer(
    _ server: InferenceServer,
    _ body: @Sendable (TestClient, ServiceGroup) async throws -> Void
  ) async throws {
    let port = Port()
    let group = ServiceGroup(
      configuration: .init(
        services: [server.application { port.set($0) }], logger: ServerFixtures.logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      let client = TestClient(host: "127.0.0.1", port: try await port.wait())
      client.connect()
      try await body(client, group)
      try await tasks.next()  // the group returns without an error
      try? await client.close()
    }
  }

  @Test func gracefulShutdownFinishesRequestsInFlight() async throws {
    let server = try ServerFixtures.server(ServerFixtures.embedding) {
      $0.maxWaitMilliseconds = 800
      $0.alwaysWaits = true
    }
    try await Self.withRunningServer(server) { client, group in
      async let response = client.post("/embed", body: ByteBuffer(string: #"{"inputs":"hello"}"#))
      try await Self.waitForQueue(server, depth: 1)
      await group.triggerGracefulShutdown()
      let answered = try await response
      #expect(answered.status == .ok)
      #expect(answered.body.map { String(buffer: $0) }?.hasPrefix("[[") == true)
    }
  }

  @Test func aClientThatDisconnectsFreesItsSlot() async throws {
    let server = try ServerFixtures.server(ServerFixtures.embedding) {
      $0.maxWaitMilliseconds = 20_000
      $0.alwaysWaits = true
    }
    try await Self.withRunningServer(server) { client, group in
      try await client.executeAndDontWaitForResponse(
        .init("/embed", method: .post, body: ByteBuffer(string: #"{"inputs":"hello"}"#)))
      try await Self.waitForQueue(server, depth: 1)
      let start = ContinuousClock.now
      try await client.close(mode: .all)
      try await Self.waitForQueue(server, depth: 0)
      #expect(
        ContinuousClock.now - start < .seconds(10), "the slot stayed taken until the wait ended")
      await group.triggerGracefulShutdown()
    }
  }

  /// The built `bert` beside the test bundle.
  static var executable: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      .appendingPathComponent("bert")
  }

  @Test func bertServeExitsZeroOnSIGTERM() async throws {
    let process = Process()
    process.executableURL = Self.executable
    process.arguments = ["serve", "--model", ServerFixtures.embedding.path, "--port", "0"]
    let stderr = Pipe()
    process.standardError = stderr
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    // "bert serve: <dir> (embedding) on http://127.0.0.1:<port>"
    var log = ""
    var port: Int?
    while port == nil {
      let chunk = stderr.fileHandleForReading.availableData
      guard !chunk.isEmpty else { break }
      log += String(decoding: chunk, as: UTF8.self)
      if let range = log.range(of: #"on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
        port = Int(log[range].split(separator: ":").last!)
      }
    }
    let bound = try #require(port, "no address in: \(log)")
    let client = TestClient(host: "127.0.0.1", port: bound)
    client.connect()
    let response = try await client.post(
      "/v1/embeddings", body: ByteBuffer(string: #"{"input":"hello"}"#))
    #expect(response.status == .ok)
    try? await client.close()
    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
    log += String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(process.terminationReason == .exit)
    #expect(process.terminationStatus == 0, "\(log)")
    #expect(log.contains("bert serve: stopped"), "\(log)")
  }
}
