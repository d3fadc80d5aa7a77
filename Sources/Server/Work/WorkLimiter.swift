import Foundation
import ResidualStore

/// Runs blocking work on threads of its own (`WorkerThreads`), at most `limit` at once, so Swift concurrency's
/// cooperative threads and the NIO event loops stay free to accept and answer other requests.
/// The server has two: CPU-heavy work (CLIP text encoding, P-feature reconstruction,
/// decoding, JPEG encoding) and short store and file calls (`RStoreServer.blocking`).
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
        let admit: @Sendable (Result<Void, any Error>) -> Void
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
    private let threads: WorkerThreads
    /// Fires deadlines (a serial queue: its blocks are short).
    private let timers = DispatchQueue(label: "rstore.server.deadlines")

    /// A continuation resumed by whichever comes first: the work's result or its timeout.
    private final class ResumeOnce<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<T, any Error>?
        private var done = false
        var isDone: Bool { lock.withLock { done } }
        func set(_ c: CheckedContinuation<T, any Error>) { lock.withLock { continuation = c } }
        /// False when it was already resumed.
        @discardableResult
        func resume(with r: Result<T, any Error>) -> Bool {
            let c: CheckedContinuation<T, any Error>? = lock.withLock {
                guard !done else { return nil }
                done = true
                defer { continuation = nil }
                return continuation
            }
            c?.resume(with: r)
            return c != nil
        }
    }

    /// What runs here, for messages ("heavy requests", "store calls").
    let what: String

    init(limit: Int, queueLimit: Int, retryAfter: Int = 2, what: String = "heavy requests") {
        self.what = what
        self.limit = max(1, limit)
        threads = WorkerThreads(count: self.limit, name: "rstore.\(what.replacingOccurrences(of: " ", with: "-"))")
        self.queueLimit = max(0, queueLimit)
        self.retryAfter = retryAfter
    }

    var stats: Stats {
        lock.withLock {
            Stats(
                running: running, queued: waiters.count, limit: limit, queueLimit: queueLimit, rejected: rejected,
                cancelled: cancelled)
        }
    }

    /// Runs `body` once a slot is free. Throws 503 `busy` when the line is full, and
    /// `QueryError.cancelled` when `control` is cancelled before the work starts.
    ///
    /// With `timeout`, the caller gets `timedOut()` once that many seconds pass, waiting or
    /// running: a blocked call (a stopped database, a hung disk) cannot hold its request
    /// forever. The slot stays taken until `body` really returns, so blocked calls never
    /// take more than `limit` threads; later calls wait in the line, then get `busy`.
    func run<T: Sendable>(
        _ control: QueryControl, timeout: Double? = nil,
        timedOut: @escaping @Sendable () -> any Error = { QueryError.cancelled },
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        let once = ResumeOnce<T>()
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            once.set(c)
            if let timeout {
                timers.asyncAfter(deadline: .now() + timeout) { [weak self] in
                    guard once.resume(with: .failure(timedOut())) else { return }
                    control.cancel()
                    self?.leaveLine(control)
                }
            }
            acquire(control) { [threads] admitted in
                if case .failure(let e) = admitted {
                    once.resume(with: .failure(e))
                    return
                }
                guard !control.isCancelled, !once.isDone else {
                    self.release()
                    once.resume(with: .failure(QueryError.cancelled))
                    return
                }
                threads.submit {
                    let result = Result { try body() }
                    self.release()
                    once.resume(with: result)
                }
            }
        }
    }

    /// Takes `control`'s request out of the line (its client went away). Running work is
    /// stopped by the control itself; this only counts it.
    func abandon(_ control: QueryControl) {
        lock.withLock { cancelled += 1 }
        leaveLine(control)
    }

    private func leaveLine(_ control: QueryControl) {
        let id = ObjectIdentifier(control)
        let waiter: Waiter? = lock.withLock {
            guard let i = waiters.firstIndex(where: { $0.control == id }) else { return nil }
            return waiters.remove(at: i)
        }
        waiter?.admit(.failure(QueryError.cancelled))
    }

    /// Calls `admit` with success once a slot is taken (at once or when one frees), or with
    /// the refusal.
    private func acquire(_ control: QueryControl, _ admit: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        lock.lock()
        if control.isCancelled {
            lock.unlock()
            admit(.failure(QueryError.cancelled))
        } else if running < limit {
            running += 1
            lock.unlock()
            admit(.success(()))
        } else if waiters.count < queueLimit {
            waiters.append(Waiter(control: ObjectIdentifier(control), admit: admit))
            lock.unlock()
        } else {
            rejected += 1
            let (r, q) = (running, waiters.count)
            lock.unlock()
            var e = APIError(
                .serviceUnavailable, "busy",
                """
                the server is busy (\(r) \(what) running, \(q) waiting, the line holds \(queueLimit)); retry after \
                \(retryAfter) s
                """
            )
            e.headers[.retryAfter] = String(retryAfter)
            admit(.failure(e))
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
            next.admit(.success(()))  // the slot passes straight to the next waiter
        }
    }
}
