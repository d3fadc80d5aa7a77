import Foundation
import ResidualStore

/// Runs blocking, CPU-heavy work (CLIP text encoding, P-feature reconstruction, decoding,
/// JPEG encoding) on Dispatch threads, at most `limit` at once, so Swift concurrency's
/// cooperative threads and the NIO event loops stay free to accept and answer other requests.
///
/// At most `queueLimit` requests wait for a slot; one more gets 503 with `Retry-After`, so a
/// burst costs a bounded amount of memory and no request waits behind an unbounded line.
/// A waiting request whose `QueryControl` is abandoned (its client went away) leaves the
/// line at once; a running one stops at the engine's next `checkCancelled()`.
final class WorkLimiter: @unchecked Sendable {
    struct Stats: Encodable, Sendable {
        var running: Int
        var queued: Int
        var limit: Int
        var queueLimit: Int
        /// Requests refused with 503 because the line was full.
        var rejected: Int
        /// Requests whose client went away (waiting or running).
        var cancelled: Int
    }

    private struct Waiter {
        let control: ObjectIdentifier
        let continuation: CheckedContinuation<Void, any Error>
    }

    private let lock = NSLock()
    private var running = 0
    private var waiters: [Waiter] = []
    private var rejected = 0
    private var cancelled = 0
    let limit: Int
    let queueLimit: Int
    /// Seconds a refused client is told to wait.
    let retryAfter: Int
    private let queue = DispatchQueue(label: "rstore.server.work", qos: .userInitiated, attributes: .concurrent)

    init(limit: Int, queueLimit: Int, retryAfter: Int = 2) {
        self.limit = max(1, limit)
        self.queueLimit = max(0, queueLimit)
        self.retryAfter = retryAfter
    }

    var stats: Stats {
        lock.withLock { Stats(running: running, queued: waiters.count, limit: limit, queueLimit: queueLimit, rejected: rejected, cancelled: cancelled) }
    }

    /// Runs `body` once a slot is free. Throws 503 `busy` when the line is full, and
    /// `QueryError.cancelled` when `control` is cancelled before the work starts.
    func run<T: Sendable>(_ control: QueryControl, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await acquire(control)
        defer { release() }
        try control.checkCancelled()
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            queue.async {
                do { c.resume(returning: try body()) } catch { c.resume(throwing: error) }
            }
        }
    }

    /// Takes `control`'s request out of the line (its client went away). Running work is
    /// stopped by the control itself; this only counts it.
    func abandon(_ control: QueryControl) {
        let id = ObjectIdentifier(control)
        let waiter: Waiter? = lock.withLock {
            cancelled += 1
            guard let i = waiters.firstIndex(where: { $0.control == id }) else { return nil }
            return waiters.remove(at: i)
        }
        waiter?.continuation.resume(throwing: QueryError.cancelled)
    }

    private func acquire(_ control: QueryControl) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            lock.lock()
            if control.isCancelled {
                lock.unlock()
                c.resume(throwing: QueryError.cancelled)
            } else if running < limit {
                running += 1
                lock.unlock()
                c.resume()
            } else if waiters.count < queueLimit {
                waiters.append(Waiter(control: ObjectIdentifier(control), continuation: c))
                lock.unlock()
            } else {
                rejected += 1
                let (r, q) = (running, waiters.count)
                lock.unlock()
                var e = APIError(.serviceUnavailable, "busy", "the server is busy (\(r) heavy requests running, \(q) waiting, the line holds \(queueLimit)); retry after \(retryAfter) s")
                e.headers[.retryAfter] = String(retryAfter)
                c.resume(throwing: e)
            }
        }
    }

    private func release() {
        lock.lock()
        if waiters.isEmpty {
            running -= 1
            lock.unlock()
        } else {
            let next = waiters.removeFirst()
            lock.unlock()
            next.continuation.resume()   // the slot passes straight to the next waiter
        }
    }
}
