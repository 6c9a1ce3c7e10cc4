import NIOCore

/// Cancels a request's work when its client goes away: the connection's input
/// closes (the server keeps half-closed connections open, so a client that
/// disconnects shows first as the end of its input), the channel goes
/// inactive, or it fails. Added at the head of the connection's pipeline for
/// one request and removed after it.
final class DisconnectWatcher: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
  typealias InboundIn = NIOAny
  private let onDisconnect: @Sendable () -> Void

  init(_ onDisconnect: @escaping @Sendable () -> Void) { self.onDisconnect = onDisconnect }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if case ChannelEvent.inputClosed = event { onDisconnect() }
    context.fireUserInboundEventTriggered(event)
  }

  func channelInactive(context: ChannelHandlerContext) {
    onDisconnect()
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    onDisconnect()
    context.fireErrorCaught(error)
  }

  /// Runs `body`, cancelled when the client of `channel` goes away.
  static func run<Value: Sendable>(
    on channel: any Channel, _ body: @escaping @Sendable () async throws -> Value
  ) async throws -> Value {
    let work = Task { try await body() }
    let watcher = DisconnectWatcher { work.cancel() }
    try? await channel.pipeline.addHandler(watcher, position: .first).get()
    defer { _ = channel.pipeline.removeHandler(watcher) }
    return try await withTaskCancellationHandler {
      try await work.value
    } onCancel: {
      work.cancel()
    }
  }
}
