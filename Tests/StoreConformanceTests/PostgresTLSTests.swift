import Foundation
import PostgresTestSupport
import Store
import XCTest

@testable import StorePostgres

/// PostgreSQL over TLS, `sslmode` as libpq means it, against a cluster with a self-signed
/// certificate and against the plaintext one; and the deadlines of a server that stops
/// answering.
final class PostgresTLSTests: XCTestCase {
    func cache() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("pgcache-\(UUID().uuidString)")
    }

    /// Whether the store's connection is encrypted, as the server sees it.
    func encrypted(_ store: PostgresStore) throws -> Bool {
        try store.pool.transaction("ssl?", readOnly: true) { s in
            try s.rows("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first?["ssl"].decode(Bool.self)
                ?? false
        }
    }

    func open(_ url: String, _ query: String) throws -> PostgresStore {
        try PostgresStore(url: url + "?" + query, localCache: cache())
    }

    func testSSLModesAgainstATLSServer() throws {
        let cluster = try PostgresCluster.sharedTLS()
        let url = try cluster.createDatabase("tls")
        for (query, tls) in [
            ("sslmode=require", true), ("sslmode=prefer", true), ("sslmode=disable", false), ("sslmode=allow", false),
            ("sslmode=verify-full&sslrootcert=\(cluster.rootCertificate)", true),
            ("sslmode=verify-ca&sslrootcert=\(cluster.rootCertificate)", true),
        ] {
            let store = try open(url, query)
            XCTAssertEqual(try encrypted(store), tls, query)
            store.close()
        }
        // The default is libpq's: prefer.
        let byDefault = try PostgresStore(url: url, localCache: cache())
        XCTAssertTrue(try encrypted(byDefault))
        byDefault.close()
        // A certificate no given root signs is refused by every checking mode, require included
        // (libpq: require with a root certificate checks the chain).
        for mode in ["verify-full", "verify-ca", "require"] {
            XCTAssertThrowsError(try open(url, "sslmode=\(mode)&sslrootcert=\(cluster.otherCertificate)"), mode) { e in
                guard case PostgresStoreError.unreachable(let store, _)? = e as? PostgresStoreError else {
                    return XCTFail("\(mode): \(e)")
                }
                XCTAssertFalse(store.contains(cluster.password))
                XCTAssertFalse("\(e)".contains(cluster.password), "\(e)")
            }
        }
        // Checking modes need a root certificate: said before connecting, naming the option.
        let noRoot = try PostgresLocation(url: url + "?sslmode=verify-full", environment: ["HOME": "/nonexistent"])
        XCTAssertThrowsError(try PostgresStore(location: noRoot, localCache: cache())) { e in
            XCTAssertTrue("\(e)".contains("sslrootcert"), "\(e)")
        }
        XCTAssertThrowsError(try open(url, "sslmode=verify-full&sslrootcert=/nonexistent/root.crt")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/root.crt"), "\(e)")
        }
    }

    func testSSLModesAgainstAPlaintextServer() throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase("notls")
        let preferred = try open(url, "sslmode=prefer")
        XCTAssertFalse(try encrypted(preferred), "prefer falls back to plaintext")
        preferred.close()
        XCTAssertThrowsError(try open(url, "sslmode=require")) { e in
            XCTAssertTrue(e is PostgresStoreError, "\(e)")
            XCTAssertFalse("\(e)".contains(cluster.password), "\(e)")
        }
    }

    func testURLOptions() throws {
        let env = ["HOME": "/nonexistent"]
        XCTAssertEqual(try PostgresLocation(url: "postgres://u@h/d", environment: env).sslMode, .prefer)
        XCTAssertEqual(
            try PostgresLocation(url: "postgres://u@h/d", environment: env.merging(["PGSSLMODE": "require"]) { $1 })
                .sslMode, .require)
        XCTAssertEqual(
            try PostgresLocation(
                url: "postgres://u@h/d?sslmode=disable", environment: env.merging(["PGSSLMODE": "require"]) { $1 }
            ).sslMode, .disable)
        let l = try PostgresLocation(
            url: "postgres://u@h/d?sslmode=verify-full&sslrootcert=/x/root.pem&connect_timeout=3&statement_timeout=7.5",
            environment: env)
        XCTAssertEqual(l.sslMode, .verifyFull)
        XCTAssertEqual(l.sslRootCert, "/x/root.pem")
        XCTAssertEqual(l.connectTimeout, 3)
        XCTAssertEqual(l.statementTimeout, 7.5)
        XCTAssertEqual(
            try PostgresLocation(
                url: "postgres://u@h/d",
                environment: env.merging(["PGSSLROOTCERT": "/y.pem", "PGCONNECT_TIMEOUT": "4"]) { $1 }
            ).sslRootCert, "/y.pem")
        XCTAssertEqual(
            try PostgresLocation(url: "postgres://u@h/d", environment: env.merging(["PGCONNECT_TIMEOUT": "4"]) { $1 })
                .connectTimeout, 4)
        for bad in [
            "sslmode=requir", "connect_timeout=0", "connect_timeout=x", "statement_timeout=-1", "sslcert=/a",
            "ssl=true",
        ] {
            XCTAssertThrowsError(try PostgresLocation(url: "postgres://u:pw@h/d?\(bad)", environment: env), bad) { e in
                XCTAssertFalse("\(e)".contains(":pw@"), "\(e)")
            }
        }
    }

    func testPasswordOnTheCommandLineIsWarnedAbout() {
        for argv in [
            ["rstore", "serve", "--store", "postgres://u:pw@h/d"],
            ["rstore", "worker", "--store=postgresql://u:pw@h:5/d?sslmode=require"],
            ["rstore", "store", "copy", "a.rstore", "postgres://u:pw@h/d"],
        ] {
            let w = PostgresLocation.argvPasswordWarning(argv)
            XCTAssertNotNil(w, "\(argv)")
            XCTAssertFalse(w?.contains("pw") ?? true, "the warning does not repeat the password")
            XCTAssertTrue(w?.contains("PGPASSWORD") ?? false)
        }
        for argv in [
            ["rstore", "serve", "--store", "postgres://u@h/d"], ["rstore", "serve", "--store", "a.rstore"],
            ["rstore", "search", "x:y@z"],
        ] {
            XCTAssertNil(PostgresLocation.argvPasswordWarning(argv), "\(argv)")
        }
    }

    /// A server that stops answering (SIGSTOP: connections stay open, nothing comes back)
    /// costs a statement its deadline, not forever; a new connection its connect timeout.
    /// Once it resumes, the store works again on fresh connections.
    func testStoppedServerTimesOut() throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase("stop")
        let store = try open(url, "statement_timeout=1&connect_timeout=1")
        defer { store.close() }
        XCTAssertEqual(try store.videos().count, 0)
        try cluster.signal("STOP")
        var resumed = false
        defer { if !resumed { try? cluster.signal("CONT") } }
        XCTAssertThrowsError(try store.videos()) { e in
            guard case PostgresStoreError.timedOut(_, _, let seconds)? = e as? PostgresStoreError else {
                return XCTFail("\(e)")
            }
            XCTAssertEqual(seconds, 2, "statement_timeout 1 s + 1 s of grace")
            XCTAssertTrue((e as? StoreOutage)?.isOutage ?? false)
        }
        // A new connection: the TCP connect itself may not complete (the stopped postmaster's
        // backlog) or the startup gets no answer; either way an outage within connect_timeout.
        let t0 = Date()
        XCTAssertThrowsError(try open(url, "statement_timeout=1&connect_timeout=1")) { e in
            switch e as? PostgresStoreError {
            case .timedOut(_, let during, let seconds)?:
                XCTAssertEqual(seconds, 1)
                XCTAssertTrue(during.contains("connecting"), during)
            case .unreachable?: break
            default: XCTFail("\(e)")
            }
            XCTAssertTrue((e as? StoreOutage)?.isOutage ?? false)
        }
        XCTAssertLessThan(Date().timeIntervalSince(t0), 15, "bounded by connect_timeout, not hung")
        try cluster.signal("CONT")
        resumed = true
        XCTAssertEqual(try store.videos().count, 0, "a fresh connection replaces the broken one")
    }

    /// statement_timeout reaches the server: a statement longer than it is cancelled there.
    func testStatementTimeoutIsTheServers() throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase("slow")
        let store = try open(url, "statement_timeout=0.5")
        defer { store.close() }
        XCTAssertThrowsError(try store.pool.statement("sleeping") { s in try s.exec("SELECT pg_sleep(3)") }) { e in
            guard case PostgresStoreError.timedOut? = e as? PostgresStoreError else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(try store.videos().count, 0)
    }

    /// Every connection busy (here: the one allowed, held by a slow statement): a caller waits
    /// at most connect_timeout for one, then gets `timedOut` naming the busy pool.
    func testCheckoutWaitsAtMostTheConnectTimeout() throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase("busy")
        let store = try PostgresStore(
            location: try PostgresLocation(url: url + "?connect_timeout=0.5"), localCache: cache(), maxConnections: 1)
        defer { store.close() }
        let holding = expectation(description: "the slow statement ends")
        DispatchQueue.global().async {
            _ = try? store.pool.statement("holding the only connection") { s in try s.exec("SELECT pg_sleep(2)") }
            holding.fulfill()
        }
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertThrowsError(try store.videos()) { e in
            guard case PostgresStoreError.timedOut(_, let during, _)? = e as? PostgresStoreError else {
                return XCTFail("\(e)")
            }
            XCTAssertTrue(during.contains("busy connections"), during)
        }
        wait(for: [holding], timeout: 30)
        XCTAssertEqual(try store.videos().count, 0)
    }
}
