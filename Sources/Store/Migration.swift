import Digest
import Foundation
import GRDB

/// One SQL file of the package's top-level Migrations/ folder, compiled into the binary by the
/// EmbedMigrations build-tool plugin (`Migration.embedded` is generated at build time).
struct Migration: Sendable, Equatable {
    let version: Int
    let name: String
    let sql: String

    var sha256: String { SHA256.hex(Data(sql.utf8)) }

    static var latestVersion: Int { embedded.last?.version ?? 0 }

    /// What `schema_migrations` records of a store (empty for a new file).
    struct Applied: Sendable, Equatable {
        var version: Int
        var name: String
        var sha256: String
    }

    /// The migrations recorded in a store, or nil when the file has tables but no
    /// `schema_migrations` (another application's SQLite database).
    static func applied(_ db: Database) throws -> [Applied]? {
        if try db.tableExists("schema_migrations") {
            return try Row.fetchAll(db, sql: "SELECT version, name, sha256 FROM schema_migrations ORDER BY version").map
            {
                Applied(version: $0["version"], name: $0["name"], sha256: $0["sha256"])
            }
        }
        let tables = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'") ?? 0
        return tables == 0 ? [] : nil
    }

    /// Checks a store's recorded migrations against `known`: refuses a store written by a newer
    /// schema or a foreign database; returns the migrations still to apply, and one warning per
    /// applied migration whose SQL differs from ours (migrations are never edited once landed;
    /// the store keeps working with the schema it has).
    static func check(_ db: Database, path: String, known: [Migration] = embedded) throws -> (
        pending: [Migration], warnings: [String]
    ) {
        guard let applied = try applied(db) else {
            throw StoreError.notAStore(
                path: path, reason: "an SQLite database without ResidualStore's schema_migrations table")
        }
        let supported = known.last?.version ?? 0
        if let newest = applied.last?.version, newest > supported {
            throw StoreError.newerSchema(path: path, found: newest, supported: supported)
        }
        let byVersion = Dictionary(uniqueKeysWithValues: known.map { ($0.version, $0) })
        var warnings: [String] = []
        for a in applied {
            guard let m = byVersion[a.version] else {
                warnings.append("\(path): applied migration \(a.version) (\(a.name)) is unknown to this rstore")
                continue
            }
            if m.sha256 != a.sha256 {
                warnings.append(StoreError.migrationChanged(path: path, name: m.name).description)
            }
        }
        let done = Set(applied.map(\.version))
        return (known.filter { !done.contains($0.version) }, warnings)
    }

    /// Applies the missing migrations in version order inside the caller's transaction (all or
    /// none), recording version, name, checksum and time of each. Returns `check`'s warnings.
    @discardableResult
    static func migrate(_ db: Database, path: String, known: [Migration] = embedded) throws -> [String] {
        precondition(db.isInsideTransaction, "migrations run inside one transaction")
        let (pending, warnings) = try check(db, path: path, known: known)
        if pending.isEmpty { return warnings }
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, applied_at REAL NOT NULL)
                """)
        for m in pending {
            do {
                try db.execute(sql: m.sql)
            } catch let e as DatabaseError {
                throw StoreError.migrationFailed(path: path, name: m.name, reason: e.message ?? "\(e)")
            }
            try db.execute(
                sql: "INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES (?, ?, ?, ?)",
                arguments: [m.version, m.name, m.sha256, Date().timeIntervalSince1970])
        }
        return warnings
    }
}
