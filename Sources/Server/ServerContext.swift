import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core storage plus the connection's
/// channel, so a handler can learn when its client goes away (see `ConnectionWatcher`).
public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Nil under the router test client, which has no real connection.
    public let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
