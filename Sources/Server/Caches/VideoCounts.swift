import Foundation
import ResidualStore

/// The video counts `/healthz` shows, held in memory. `/healthz` is public and polled by
/// load balancers: listing every video row per request (as it did) let anyone load the store,
/// and hung with it. A request reads the last counts and, when they are older than `maxAge`,
/// starts one background refresh (never awaited; at most one at a time): a stopped database
/// leaves `/healthz` answering with older counts and the refresh's error, never blocking.
/// The refresh lists the videos only when the store's generation moved or a minute passed.
final class VideoCounts: @unchecked Sendable {
    struct Snapshot: Sendable {
        var videos = 0
        var ready = 0
        /// When the counts were last read from the store (nil: never yet).
        var at: Date?
        /// Why the last refresh failed, if it did.
        var error: String?
    }

    private let library: Library
    private let maxAge: TimeInterval
    private let lock = NSLock()
    private var snapshot = Snapshot()
    private var refreshing = false
    private var lastGeneration: Int64?
    private var lastListing: Date?

    init(library: Library, maxAge: TimeInterval) {
        self.library = library
        self.maxAge = max(0.1, maxAge)
    }

    var current: Snapshot { lock.withLock { snapshot } }

    /// Reads the counts now, on the caller's thread (the server's start).
    func load() {
        lock.withLock { refreshing = true }
        refresh()
    }

    /// Starts a background refresh when the counts are older than `maxAge` and none runs.
    func refreshIfStale(now: Date = Date()) {
        let start: Bool = lock.withLock {
            guard !refreshing else { return false }
            if let at = snapshot.at, now.timeIntervalSince(at) < maxAge, snapshot.error == nil { return false }
            refreshing = true
            return true
        }
        // A thread of its own (one at a time): a refresh stuck on a stopped database must not
        // hold one of libdispatch's few worker threads.
        if start { Thread.detachNewThread { [weak self] in self?.refresh() } }
    }

    private func refresh() {
        do {
            let generation = try library.generation()
            let now = Date()
            let (last, listed) = lock.withLock { (lastGeneration, lastListing) }
            if last == generation, let listed, now.timeIntervalSince(listed) < 60 {
                lock.withLock {
                    snapshot.at = now
                    snapshot.error = nil
                    refreshing = false
                }
                return
            }
            let all = try library.videos()
            let ready = all.reduce(0) { $0 + ($1.status == .ready ? 1 : 0) }
            lock.withLock {
                snapshot = Snapshot(videos: all.count, ready: ready, at: now, error: nil)
                lastGeneration = generation
                lastListing = now
                refreshing = false
            }
        } catch {
            let message = "\(error)"
            lock.withLock {
                snapshot.error = message
                refreshing = false
            }
        }
    }
}
