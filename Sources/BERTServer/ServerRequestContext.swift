import Hummingbird
import NIOCore

/// The request context of the server's routes: Hummingbird's core context and
/// the connection's channel, watched for the client going away (``DisconnectWatcher``).
public struct ServerRequestContext: RequestContext {
  public var coreContext: CoreRequestContextStorage
  /// The connection the request came on.
  let channel: any Channel

  public init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    channel = source.channel
  }
}
