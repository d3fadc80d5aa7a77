import Foundation
import PostgresNIO
import Store

/// A file to index, as the queue holds it: a path relative to a named library root, so
/// machines that mount the archive in different places agree on what it is.
public struct IndexJob: Sendable, Equatable {
    public var id: Int64
    public var root: String
    public var path: String
    /// Claims so far, this one included: a job whose workers keep dying is failed, not retried forever.
    public var attempts: Int
}

/// The work queue of `rstore enqueue` / `rstore worker`. A worker claims the oldest job nobody
/// holds with `FOR UPDATE SKIP LOCKED` (workers never wait on each other's claims), under a
/// lease it renews while indexing; a job whose lease expired (the worker died) is claimed again.
/// The video rows have leases of their own, so a re-claimed job resumes the video from its last
/// committed chunk.
extension PostgresStore: IndexQueueing {
    /// A job is failed for good after this many claims (default of `rstore worker --max-attempts`).
    public static let maxAttempts = 5

    /// Queues `paths` (relative to `root`); a path already queued or claimed is not queued
    /// twice. Returns how many were added.
    @discardableResult
    public func enqueue(root: String, paths: [String]) throws -> Int {
        try pool.transaction("queueing \(paths.count) files") { s in
            let now = try now(s)
            var added = 0
            for p in paths {
                added += try s.query(
                    """
                    INSERT INTO index_queue (root, path, status, enqueued_at, updated_at) VALUES (\(root), \(p), 'queued', \(now), \(now))
                    ON CONFLICT (root, path) WHERE status IN ('queued', 'claimed') DO NOTHING
                    """
                ).affected
            }
            return added
        }
    }

    /// Claims the oldest queued job under one of `roots` (those mounted on this machine), or
    /// one whose lease expired; nil when there is none. A job claimed more than `maxAttempts`
    /// times (its workers died, or gave it back past their deadline) is failed for good instead.
    public func claimJob(lease: Lease, roots: [String], maxAttempts: Int = maxAttempts) throws -> IndexJob? {
        try pool.statement("claiming a job") { s in  // one round trip: the claim is one statement
            guard
                let r = try s.rows(
                    """
                    UPDATE index_queue SET status = 'claimed', lease_owner = \(lease.owner),
                        lease_expires_at = extract(epoch FROM clock_timestamp()) + \(lease.seconds),
                        attempts = attempts + 1, updated_at = extract(epoch FROM clock_timestamp())
                    WHERE id = (SELECT id FROM index_queue
                                WHERE root = ANY(\(roots)) AND (status = 'queued' OR (status = 'claimed' AND lease_expires_at < extract(epoch FROM clock_timestamp())))
                                ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                    RETURNING id, root, path, attempts, error
                    """
                ).first
            else { return nil }
            let job = IndexJob(
                id: try r["id"].decode(Int64.self), root: try r["root"].decode(String.self),
                path: try r["path"].decode(String.self), attempts: try r["attempts"].decode(Int.self))
            if job.attempts > maxAttempts {
                let last = try r["error"].decode(String?.self)
                let why =
                    "claimed \(job.attempts - 1) times without finishing (at most \(maxAttempts) attempts)"
                    + (last.map { "; last attempt: \($0)" } ?? "")
                try s.query(
                    """
                    UPDATE index_queue SET status = 'failed', lease_owner = NULL, error = \(why)
                    WHERE id = \(job.id)
                    """)
                return nil
            }
            return job
        }
    }

    /// Extends the job's lease; false when it is no longer ours.
    public func renewJob(_ id: Int64, lease: Lease) throws -> Bool {
        try pool.transaction("renewing job \(id)", retry: true) { s in
            let now = try now(s)
            return try s.query(
                """
                UPDATE index_queue SET lease_expires_at = \(now + lease.seconds)
                WHERE id = \(id) AND lease_owner = \(lease.owner) AND status = 'claimed'
                """
            ).affected > 0
        }
    }

    /// Closes a job this worker holds: done, or failed with `error`.
    public func completeJob(_ id: Int64, lease: Lease, error: String?) throws {
        try pool.statement("closing job \(id)") { s in
            try s.query(
                """
                UPDATE index_queue SET status = \(error == nil ? "done" : "failed"), error = \(error), lease_owner = NULL,
                    lease_expires_at = NULL, updated_at = \(Date().timeIntervalSince1970)
                WHERE id = \(id) AND lease_owner = \(lease.owner) AND status = 'claimed'
                """)
        }
    }

    /// Gives a job this worker holds back to the queue after an attempt that failed for a
    /// reason another attempt may not meet (its deadline passed), keeping `error`; the next
    /// claim counts one more attempt (see `claimJob`'s bound).
    public func releaseJob(_ id: Int64, lease: Lease, error: String) throws {
        try pool.statement("giving back job \(id)") { s in
            try s.query(
                """
                UPDATE index_queue SET status = 'queued', error = \(error), lease_owner = NULL,
                    lease_expires_at = NULL, updated_at = \(Date().timeIntervalSince1970)
                WHERE id = \(id) AND lease_owner = \(lease.owner) AND status = 'claimed'
                """)
        }
    }

    /// The last error recorded for a job (a failed attempt's, or why it failed), if any.
    public func jobError(_ id: Int64) throws -> (status: String, attempts: Int, error: String?)? {
        try read("reading job \(id)") { s in
            try s.rows("SELECT status, attempts, error FROM index_queue WHERE id = \(id)").first.map {
                (
                    try $0["status"].decode(String.self), try $0["attempts"].decode(Int.self),
                    try $0["error"].decode(String?.self)
                )
            }
        }
    }

    public func queueCounts() throws -> QueueCounts {
        try read("counting the queue") { s in
            var c = QueueCounts()
            for r in try s.rows("SELECT status, count(*)::int8 AS n FROM index_queue GROUP BY status") {
                let n = try r["n"].decode(Int.self)
                switch try r["status"].decode(String.self) {
                case "queued": c.queued = n
                case "claimed": c.claimed = n
                case "done": c.done = n
                default: c.failed = n
                }
            }
            return c
        }
    }
}
