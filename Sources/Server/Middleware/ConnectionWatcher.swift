import Foundation
import NIOCore

/// A channel handler that notices when the client goes away: the connection closes, or the
/// client half-closes its side (Hummingbird allows remote half-closure, so a client that
/// closes its socket shows up only as `inputClosed`; like nginx we take that as an abort).
/// Handlers register a callback (`onGone`) that cancels their request's work.
final class ConnectionWatcher: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny

    private let lock = NSLock()
    private var gone = false
    private var callbacks: [Int: @Sendable () -> Void] = [:]
    private var nextID = 0

    /// Runs `body` once when the client goes away (at once if it already has); the returned
    /// token removes it (call when the request is done).
    func onGone(_ body: @escaping @Sendable () -> Void) -> Int? {
        lock.lock()
        if gone {
            lock.unlock()
            body()
            return nil
        }
        nextID += 1
        callbacks[nextID] = body
        lock.unlock()
        return nextID
    }

    func remove(_ id: Int?) {
        guard let id else { return }
        lock.withLock { _ = callbacks.removeValue(forKey: id) }
    }

    private func fire() {
        let pending: [@Sendable () -> Void] = lock.withLock {
            gone = true
            defer { callbacks.removeAll() }
            return Array(callbacks.values)
        }
        for c in pending { c() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { fire() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fire()
        context.fireChannelInactive()
    }
}
