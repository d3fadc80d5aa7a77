import Foundation
import GRDB

/// The right to write one `indexing` video row: who holds it (`host:pid:random`, unique per
/// ingest) and for how long without a heartbeat. Claimed in the transaction that picks or
/// creates the row, renewed by every chunk commit and by `heartbeat`; a row whose lease
/// expired (its process died) is taken over by the next ingest, which resumes from the last
/// committed chunk; so is one whose holder is a process of this host that no longer exists.
/// Only the holder may append, finish or fail the row.
public struct Lease: Sendable, Equatable {
    public var owner: String
    /// Seconds a lease lives without a heartbeat.
    public var seconds: Double

    public init(owner: String, seconds: Double) {
        self.owner = owner
        self.seconds = max(0.1, seconds)
    }

    /// A fresh owner id for this process and ingest: host:pid:random.
    public static func make(seconds: Double = defaultSeconds) -> Lease {
        let host = ProcessInfo.processInfo.hostName
        let pid = ProcessInfo.processInfo.processIdentifier
        return Lease(owner: "\(host):\(pid):\(UInt32.random(in: 0...UInt32.max))", seconds: seconds)
    }

    /// 30 s, or `RSTORE_LEASE_SECONDS` (tests shorten it).
    public static var defaultSeconds: Double {
        if let s = ProcessInfo.processInfo.environment["RSTORE_LEASE_SECONDS"], let v = Double(s), v > 0, v.isFinite {
            return v
        }
        return 30
    }
}

extension Lease {
    /// True when `owner` names a process on this host that no longer exists (killed, crashed):
    /// its lease need not be waited out. A reused pid only makes us wait for the expiry.
    static func holderIsGone(_ owner: String) -> Bool {
        let parts = owner.split(separator: ":")
        guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]), pid > 0,
            parts.dropLast(2).joined(separator: ":") == ProcessInfo.processInfo.hostName
        else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}

extension VideoRecord {
    /// Held by someone other than `owner`, not yet expired at `now`, by a process that may
    /// still be alive.
    func leasedByOther(than owner: String?, at now: Double) -> Bool {
        guard let holder = leaseOwner, holder != owner else { return false }
        return (leaseExpiresAt ?? 0) > now && !Lease.holderIsGone(holder)
    }
}

extension SQLiteStore {
    /// Extends `lease` on video `id`; false when the lease is no longer ours (taken over after
    /// it expired, or the row finished or failed).
    public func heartbeat(video id: Int64, lease: Lease) throws -> Bool {
        try write { db in
            let now = Date().timeIntervalSince1970
            try db.execute(
                sql: """
                    UPDATE videos SET lease_heartbeat_at = ?, lease_expires_at = ?
                    WHERE id = ? AND lease_owner = ? AND status = 'indexing'
                    """, arguments: [now, now + lease.seconds, id, lease.owner])
            return db.changesCount > 0
        }
    }

    /// Inside a write: throws `leaseLost` unless the caller may write row `v` (it holds the
    /// lease; or, without one, nobody else holds a live one), then renews a held lease.
    func claimWrite(_ db: Database, _ v: VideoRecord, lease: Lease?) throws {
        let now = Date().timeIntervalSince1970
        if let lease {
            guard v.leaseOwner == lease.owner else {
                throw StoreError.leaseLost(path: path, video: v.path, holder: v.leaseOwner)
            }
            try db.execute(
                sql: "UPDATE videos SET lease_heartbeat_at = ?, lease_expires_at = ? WHERE id = ?",
                arguments: [now, now + lease.seconds, v.id])
        } else if v.leasedByOther(than: nil, at: now) {
            throw StoreError.leaseLost(path: path, video: v.path, holder: v.leaseOwner)
        }
    }
}
