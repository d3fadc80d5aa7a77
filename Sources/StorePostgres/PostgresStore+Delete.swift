import Foundation
import PostgresNIO
import Store

extension PostgresStore {
    /// One transaction under the path's lock (the one `begin` and `finish` take), so a delete
    /// and a re-index of the same file are ordered; the generation moves with it.
    public func delete(video id: Int64) throws -> Bool {
        try pool.transaction("deleting video \(id)") { s in
            guard
                let r = try s.rows(
                    """
                    SELECT path, status, lease_owner, lease_expires_at, extract(epoch FROM clock_timestamp())::float8 AS now
                    FROM (SELECT pg_advisory_xact_lock(hashtextextended(path, 0)) FROM videos WHERE id = \(id) OFFSET 0) l, videos
                    WHERE id = \(id) FOR UPDATE OF videos
                    """
                ).first
            else { return false }
            let path = try r["path"].decode(String.self)
            try StoreRules.checkDeletable(
                store: self.path, id: id, path: path, status: try r["status"].decode(String.self),
                leaseOwner: try r["lease_owner"].decode(String?.self),
                leaseExpiresAt: try r["lease_expires_at"].decode(Double?.self), now: try r["now"].decode(Double.self))
            try s.query("DELETE FROM videos WHERE id = \(id)")  // its chunks go by ON DELETE CASCADE
            try s.query(
                """
                WITH g AS (UPDATE library_state SET generation = generation + 1 WHERE id = 1 RETURNING generation)
                SELECT pg_notify('rstore_library', (SELECT generation FROM g)::text)
                """)
            writing.remove(id)
            return true
        }
    }
}
