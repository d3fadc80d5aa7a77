import Foundation
import Store

extension Library {
    /// The file of a stored video on this machine: every place a stored path becomes a file
    /// (decoding P-frames, thumbnails, frames, freshness, verify, media) goes through here.
    /// Throws `RootError.notMounted` when its root is not mounted in this process.
    public func file(of v: VideoRecord) throws -> URL {
        try configuration.roots.file(for: v.path, video: v.id)
    }

    /// Whether `v`'s file can be named here (its root, if any, is mounted). Stage 1 of search
    /// needs no file; stage 2 refines only videos for which this holds.
    func isMounted(_ v: VideoRecord) -> Bool {
        if case .rooted(let root, _) = StoredPath(v.path) { return configuration.roots.folders[root] != nil }
        return true
    }

    /// Counts of the shared store's ingest queue.
    public typealias QueueCounts = Store.QueueCounts

    /// Whether the store is shared with `rstore worker`s (it has an ingest queue): indexing
    /// requests then go onto the queue.
    public var hasIndexQueue: Bool { store is any IndexQueueing }

    /// What `enqueue` did.
    public struct Enqueued: Sendable, Codable {
        /// Files newly queued, and files given that were already queued or being indexed.
        public var queued: Int
        public var alreadyQueued: Int
        public var queue: QueueCounts
        enum CodingKeys: String, CodingKey {
            case queued
            case alreadyQueued = "already_queued"
            case queue
        }
    }

    /// Queues `files` (local files under the named roots) for the workers of a shared store,
    /// each as root + relative path. Throws `LibraryError.notShared` without a queue and
    /// `RootError.underNoRoot` for a file under no root (nothing is queued then).
    public func enqueue(_ files: [URL]) throws -> Enqueued {
        guard let queue = store as? any IndexQueueing else { throw LibraryError.notShared(store: store.path) }
        let added = try queue.enqueue(try configuration.roots.queueEntries(files))
        return Enqueued(queued: added, alreadyQueued: files.count - added, queue: try queue.queueCounts())
    }

    /// The queue's counts, nil when the store has no queue.
    public func queueCounts() throws -> QueueCounts? {
        try (store as? any IndexQueueing)?.queueCounts()
    }
}
