import Foundation
import PostgresTestSupport
import Store
import StorePostgres
import XCTest

/// Bad input for the PostgreSQL backend: each gives a clear typed error naming the store
/// (never its password) and leaves stored data intact.
final class PostgresFailureTests: XCTestCase {
    func cache() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("pgcache-\(UUID().uuidString)")
    }

    func testUnreachableServer() throws {
        let cluster = try PostgresCluster.shared()
        // A port nobody listens on: the cluster's port + 1 is not ours (checked by trying).
        let url = "postgres://rstore:sekrit123@127.0.0.1:\(cluster.port == 65535 ? 1 : cluster.port + 1)/x"
        XCTAssertThrowsError(try PostgresStore(url: url, localCache: cache())) { e in
            guard case PostgresStoreError.unreachable(let store, _)? = e as? PostgresStoreError else {
                return XCTFail("\(e)")
            }
            XCTAssertEqual(store, "postgres://rstore@127.0.0.1:\(cluster.port == 65535 ? 1 : cluster.port + 1)/x")
            XCTAssertFalse("\(e)".contains("sekrit123"), "the password is never printed: \(e)")
        }
    }

    func testWrongPassword() throws {
        let cluster = try PostgresCluster.shared()
        let good = try cluster.createDatabase()
        let bad = good.replacingOccurrences(of: ":\(cluster.password)@", with: ":wrongpass42@")
        XCTAssertThrowsError(try PostgresStore(url: bad, localCache: cache())) { e in
            guard case PostgresStoreError.authentication? = e as? PostgresStoreError else { return XCTFail("\(e)") }
            XCTAssertFalse("\(e)".contains("wrongpass42"), "\(e)")
            XCTAssertTrue("\(e)".contains("password"), "\(e)")
        }
    }

    func testPasswordFromEnvironmentAndFileNeverPrinted() throws {
        let cluster = try PostgresCluster.shared()
        let bare = try cluster.createDatabase(withPassword: false)
        let fromEnv = try PostgresLocation(url: bare, environment: ["PGPASSWORD": cluster.password])
        XCTAssertTrue(fromEnv.hasPassword)
        XCTAssertFalse(fromEnv.description.contains(cluster.password))
        let store = try PostgresStore(location: fromEnv, localCache: cache())
        XCTAssertFalse(store.path.contains(cluster.password))
        store.close()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID().uuidString)")
        try "# comment\nother:1:*:*:nope\n127.0.0.1:\(cluster.port):*:rstore:\(cluster.password)\n".write(
            to: file, atomically: true, encoding: .utf8)
        let fromFile = try PostgresLocation(url: bare, environment: ["PGPASSFILE": file.path])
        XCTAssertEqual(fromFile, fromEnv)
        XCTAssertNoThrow(try PostgresStore(location: fromFile, localCache: cache()).close())
        XCTAssertFalse(try PostgresLocation(url: bare, environment: ["HOME": "/nonexistent"]).hasPassword)
        XCTAssertEqual(PostgresLocation.redacted("postgres://u:pw@h:1/d"), "postgres://u:***@h:1/d")
        XCTAssertThrowsError(try PostgresLocation(url: "postgres://u:pw@h:99999/d")) { e in
            XCTAssertFalse("\(e)".contains(":pw@"), "\(e)")
        }
        XCTAssertThrowsError(try PostgresLocation(url: "postgres://u@h/d?sslmode=requir")) { e in
            XCTAssertTrue("\(e)".contains("verify-full"), "\(e)")
        }
    }

    func testForeignDatabaseAndNewerSchemaAreRefused() throws {
        let cluster = try PostgresCluster.shared()
        let foreign = try cluster.createDatabase()
        try cluster.psql(foreign, "CREATE TABLE customers (id int)")
        XCTAssertThrowsError(try PostgresStore(url: foreign, localCache: cache())) { e in
            guard case StoreError.notAStore(_, let reason)? = e as? StoreError else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("schema_migrations"), reason)
        }
        let newer = try cluster.createDatabase()
        try PostgresStore(url: newer, localCache: cache()).close()
        try cluster.psql(newer, "INSERT INTO schema_migrations VALUES (99, '0099_future.sql', 'x', 0)")
        XCTAssertThrowsError(try PostgresStore(url: newer, localCache: cache())) { e in
            guard case StoreError.newerSchema(_, 99, _)? = e as? StoreError else { return XCTFail("\(e)") }
        }
    }

    func testMigrationsAreRecordedOnce() throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase()
        // Two processes opening a new database at once: one migrates, the other waits and finds it done.
        let a = ManagedFlag()
        let other = cache()
        let t = Thread { do { try PostgresStore(url: url, localCache: other).close() } catch { a.set() } }
        t.start()
        let s = try PostgresStore(url: url, localCache: cache())
        while t.isExecuting { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertFalse(a.value)
        XCTAssertEqual(s.schemaWarnings, [])
        XCTAssertEqual(try s.generation(), 0)
    }

    func testLostConnectionMidChunkCommitsNothing() throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase()
        let s = try PostgresStore(url: url, localCache: cache())
        let m = try StoreConformance.bind(s)
        let v = try StoreConformance.resumeRow(try s.begin(StoreConformance.record("/v/l.mp4"), model: m, lease: nil))
        let (o, f) = StoreConformance.chunk(0..<6)
        try s.append(video: v.id!, offsets: o, iFeatures: f, lease: nil)
        // Another session holds the row, so the commit waits inside its transaction; then the
        // server drops the waiting connection (a restart, a network cut) mid-chunk.
        let holder = Thread {
            try? cluster.psql(url, "BEGIN; SELECT id FROM videos FOR UPDATE; SELECT pg_sleep(2); COMMIT")
        }
        holder.start()
        Thread.sleep(forTimeInterval: 0.5)
        let killer = Thread {
            for _ in 0..<40 {
                Thread.sleep(forTimeInterval: 0.1)
                try? cluster.psql(
                    url,
                    """
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'
                    """)
            }
        }
        killer.start()
        let (o2, f2) = StoreConformance.chunk(6..<12)
        XCTAssertThrowsError(try s.append(video: v.id!, offsets: o2, iFeatures: f2, lease: nil)) { e in
            guard case PostgresStoreError.connectionLost(_, let during)? = e as? PostgresStoreError else {
                return XCTFail("\(e)")
            }
            XCTAssertTrue(during.contains("frame 6"), during)
        }
        while killer.isExecuting || holder.isExecuting { Thread.sleep(forTimeInterval: 0.05) }
        // Reads retry on a fresh connection; the lost chunk is not there; the ingest resumes.
        XCTAssertEqual(try s.video(id: v.id!).frameCount, 6)
        XCTAssertEqual(try s.rawChunks(of: v).map(\.firstFrame), [0])
        try s.append(video: v.id!, offsets: o2, iFeatures: f2, lease: nil)
        try s.finish(video: v.id!, expectedFrames: 12, lease: nil, damage: nil)
        XCTAssertEqual(try s.verifyBlobs(), [])
    }
}
