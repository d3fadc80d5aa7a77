import Digest
import Foundation
import PostgresNIO
import Store

/// One SQL file of Migrations/postgres/, compiled in by the EmbedMigrations plugin
/// (`PostgresMigration.embedded` is generated at build time). Applied like SQLite's: in version
/// order, all pending ones in one transaction, each recorded with its checksum.
struct PostgresMigration: Sendable, Equatable {
    let version: Int
    let name: String
    let sql: String

    var sha256: String { SHA256.hex(Data(sql.utf8)) }

    /// Any fixed key: every process migrating the same database serialises on it.
    static let lockKey: Int64 = 0x7273_746f_7265_0001

    /// Inside the caller's transaction: refuses another application's database (tables but no
    /// `schema_migrations`) and a newer schema, applies what is pending, and returns a warning
    /// per applied migration whose SQL differs from ours.
    static func migrate(_ s: PostgresSession, known: [PostgresMigration] = embedded) throws -> [String] {
        try s.query("SELECT pg_advisory_xact_lock(\(lockKey))")
        let hasTable = try s.rows("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")[0]["present"]
            .decode(Bool.self)
        var applied: [(version: Int, name: String, sha256: String)] = []
        if hasTable {
            applied = try s.rows("SELECT version, name, sha256 FROM schema_migrations ORDER BY version").map {
                (
                    try $0["version"].decode(Int.self), try $0["name"].decode(String.self),
                    try $0["sha256"].decode(String.self)
                )
            }
        } else {
            let tables = try s.rows("SELECT count(*)::int8 AS n FROM pg_tables WHERE schemaname = current_schema()")[0][
                "n"
            ].decode(Int.self)
            if tables > 0 {
                throw StoreError.notAStore(
                    path: s.store,
                    reason:
                        """
                        a PostgreSQL database with \(tables) tables but without ResidualStore's schema_migrations \
                        table
                        """
                )
            }
        }
        let supported = known.last?.version ?? 0
        if let newest = applied.last?.version, newest > supported {
            throw StoreError.newerSchema(path: s.store, found: newest, supported: supported)
        }
        let byVersion = Dictionary(uniqueKeysWithValues: known.map { ($0.version, $0) })
        var warnings: [String] = []
        for a in applied {
            guard let m = byVersion[a.version] else {
                warnings.append("\(s.store): applied migration \(a.version) (\(a.name)) is unknown to this rstore")
                continue
            }
            if m.sha256 != a.sha256 {
                warnings.append(StoreError.migrationChanged(path: s.store, name: m.name).description)
            }
        }
        let done = Set(applied.map(\.version))
        let pending = known.filter { !done.contains($0.version) }
        guard !pending.isEmpty else { return warnings }
        try s.exec(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)
            """)
        for m in pending {
            do {
                try s.script(m.sql)
            } catch let e as PSQLError {
                throw StoreError.migrationFailed(
                    path: s.store, name: m.name, reason: e.serverInfo?[.message] ?? "\(e.code)")
            }
            try s.query(
                """
                INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES (\(m.version), \(m.name), \
                \(m.sha256), \(Date().timeIntervalSince1970))
                """
            )
        }
        return warnings
    }
}
