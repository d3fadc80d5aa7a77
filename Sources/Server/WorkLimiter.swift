import Foundation

/// Runs blocking, CPU-heavy work (CLIP text encoding, P-feature reconstruction, decoding,
/// JPEG encoding) on Dispatch threads, at most `limit` at once, so Swift concurrency's
/// cooperative threads and the NIO event loops stay free to accept and answer other requests.
final class WorkLimiter: @unchecked Sendable {
    private let lock = NSLock()
    private var running = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    let limit: Int
    private let queue = DispatchQueue(label: "rstore.server.work", qos: .userInitiated, attributes: .concurrent)

    init(limit: Int) { self.limit = max(1, limit) }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            queue.async {
                do { c.resume(returning: try body()) } catch { c.resume(throwing: error) }
            }
        }
    }

    private func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            if running < limit {
                running += 1
                lock.unlock()
                c.resume()
            } else {
                waiters.append(c)
                lock.unlock()
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
            next.resume()   // the slot passes straight to the next waiter
        }
    }
}
