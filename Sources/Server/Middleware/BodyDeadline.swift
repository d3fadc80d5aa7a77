import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request body does not arrive in time.
///
/// Hummingbird's idle timeout (`ServerConfiguration.idleTimeout`) closes a connection that
/// sends no complete request head for that long (a half-sent head counts as nothing), but
/// every body part restarts it: a client dripping one byte of its body every few seconds
/// would hold a connection (and its slot of `maxConnections`) for days. Here the whole body
/// must follow its head within `seconds`. Sits after the HTTP decoder; one per connection.
final class BodyDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(seconds: Double) {
        timeout = .milliseconds(Int64(max(0.001, seconds) * 1000))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: timeout) { loopBound.value.close(promise: nil) }
        case .end:
            deadline?.cancel()
            deadline = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }
}
