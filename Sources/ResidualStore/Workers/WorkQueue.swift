import Foundation
import Store
import StorePostgres

/// The index queue of a shared (PostgreSQL) library, opened without a model: `rstore enqueue`
/// fills it, `IndexWorker`s serve it. The store it opens is also the one a worker's `Library`
/// indexes into (`store`), so a worker holds one connection pool.
public final class WorkQueue: @unchecked Sendable {
    let postgres: PostgresStore

    /// Opens the queue of the store at `url` (postgres://user@host:port/db).
    public init(url: String) throws {
        postgres = try PostgresStore(url: url)
    }

    /// Claims of one job at most before it is failed for good (`rstore worker --max-attempts`).
    public static let defaultMaxAttempts = PostgresStore.maxAttempts

    /// The store beneath, to open the `Library` a worker indexes through.
    public var store: any FeatureStoring { postgres }

    /// The store's location, password redacted.
    public var path: String { postgres.path }

    /// Queues `files` (folders searched recursively, as `index` does), each as root + relative
    /// path under `roots`; a file already queued or being indexed is not queued twice. Throws
    /// `RootError.underNoRoot` for a file under no root (nothing is queued then).
    public func enqueue(_ paths: [URL], roots: RootMounts) throws -> Library.Enqueued {
        let entries = try roots.queueEntries(Library.expand(paths))
        let added = try postgres.enqueue(entries)
        let given = entries.reduce(0) { $0 + $1.paths.count }
        return Library.Enqueued(queued: added, alreadyQueued: given - added, queue: try postgres.queueCounts())
    }

    /// Counts by status.
    public func counts() throws -> Library.QueueCounts { try postgres.queueCounts() }

    public func close() { postgres.close() }
}
