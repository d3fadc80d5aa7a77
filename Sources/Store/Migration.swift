import Digest
import Foundation
import GRDB

/// One SQL file of Migrations/, embedded at build time (Tools/embed-migrations.py).
struct Migration: Sendable {
    let version: Int
    let name: String
    let sql: String

    var sha256: String { SHA256.hex(Data(sql.utf8)) }

    static var latestVersion: Int { embedded.last?.version ?? 0 }

    /// Applies the missing migrations in order, each in its own transaction, recording version,
    /// name and checksum. A store from a newer rstore is refused before anything is written.
    static func migrate(_ db: Database, path: String) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, applied_at REAL NOT NULL)
            """)
        let applied = try Row.fetchAll(db, sql: "SELECT version, name, sha256 FROM schema_migrations ORDER BY version")
        if let newest = applied.last?["version"] as Int?, newest > latestVersion {
            throw StoreError.newerSchema(path: path, found: newest, supported: latestVersion)
        }
        let known = Dictionary(uniqueKeysWithValues: embedded.map { ($0.version, $0) })
        for row in applied {
            let v: Int = row["version"]
            if let m = known[v], m.sha256 != (row["sha256"] as String) { throw StoreError.migrationChanged(path: path, name: m.name) }
        }
        let done = Set(applied.map { $0["version"] as Int })
        for m in embedded where !done.contains(m.version) {
            try db.inSavepoint {
                try db.execute(sql: m.sql)
                try db.execute(sql: "INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES (?, ?, ?, ?)",
                               arguments: [m.version, m.name, m.sha256, Date().timeIntervalSince1970])
                return .commit
            }
        }
    }
}
