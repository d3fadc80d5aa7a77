import Foundation

/// A store that also holds a queue of files for ingest workers (PostgreSQL: `index_queue`).
/// The engine hands front ends this side of a shared store without them knowing the backend:
/// `POST /v1/index` queues here instead of indexing in the server process.
public protocol IndexQueueing: AnyObject, Sendable {
    /// Queues `paths` (relative to root `root`); a path already queued or claimed is not
    /// queued twice. Returns how many were added.
    func enqueue(root: String, paths: [String]) throws -> Int
    func queueCounts() throws -> QueueCounts
}

extension IndexQueueing {
    /// Queues groups of root-relative paths; returns how many were added.
    public func enqueue(_ entries: [(root: String, paths: [String])]) throws -> Int {
        try entries.reduce(0) { $0 + (try enqueue(root: $1.root, paths: $1.paths)) }
    }
}

/// Queue counts by status.
public struct QueueCounts: Sendable, Equatable, Codable {
    public var queued = 0, claimed = 0, done = 0, failed = 0
    public init() {}
}
