import Foundation
import XCTest

/// The throwaway PostgreSQL cluster of this test process (Tools/pg-cluster.sh): started on first
/// use under the build folder on a free loopback port, stopped when the test bundle finishes.
/// `nil` (tests skip with the reason) only when the PostgreSQL binaries are absent.
public final class PostgresCluster: NSObject, XCTestObservation, @unchecked Sendable {
    public let dir: URL
    /// The superuser URL of the `postgres` database (with its password).
    public let adminURL: String
    public let port: Int
    public let password: String

    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    public static let script = packageRoot.appendingPathComponent("Tools/pg-cluster.sh").path

    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: Result<PostgresCluster, Error>?
    nonisolated(unsafe) private static var startedTLS: Result<PostgresCluster, Error>?

    public struct Unavailable: Error, CustomStringConvertible { public let description: String }
    public struct StartFailed: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// The cluster, or an XCTSkip naming why there is none.
    public static func shared() throws -> PostgresCluster {
        try lock.withLock { try unwrap(&started, tls: false) }
    }

    /// A second cluster that also speaks TLS, with a self-signed certificate for 127.0.0.1
    /// (`rootCertificate`; `otherCertificate` signs nothing of it). Its own, so the plaintext
    /// cluster above stays plaintext-only.
    public static func sharedTLS() throws -> PostgresCluster {
        try lock.withLock { try unwrap(&startedTLS, tls: true) }
    }

    public var rootCertificate: String { dir.appendingPathComponent("server.crt").path }
    public var otherCertificate: String { dir.appendingPathComponent("other.crt").path }

    private static func unwrap(_ slot: inout Result<PostgresCluster, Error>?, tls: Bool) throws -> PostgresCluster {
        if slot == nil { slot = Result { try PostgresCluster.start(tls: tls) } }
        switch slot! {
        case .success(let c): return c
        case .failure(let e as Unavailable): throw XCTSkip(e.description)
        case .failure(let e): throw e
        }
    }

    /// Stops (`"STOP"`) or resumes (`"CONT"`) every process of the cluster: a database that
    /// stops answering without closing its connections.
    public func signal(_ name: String) throws {
        let (status, _, err) = Self.run([Self.script, "signal", dir.path, name])
        guard status == 0 else { throw StartFailed(description: "signal \(name): \(err)") }
    }

    private static func start(tls: Bool) throws -> PostgresCluster {
        let dir = packageRoot.appendingPathComponent(".build/pg-test-\(getpid())\(tls ? "-tls" : "")")
        let (status, out, err) = run([script, "start", dir.path] + (tls ? ["tls"] : []))
        if status == 3 {
            throw Unavailable(
                description:
                    """
                    PostgreSQL binaries absent (\(err.trimmingCharacters(in: .whitespacesAndNewlines))): PostgreSQL \
                    tests skipped
                    """
            )
        }
        guard status == 0, let url = out.split(separator: "\n").last.map(String.init),
            let c = URLComponents(string: url), let port = c.port, let password = c.password
        else {
            throw StartFailed(description: "could not start a PostgreSQL cluster in \(dir.path): \(err)")
        }
        let cluster = PostgresCluster(dir: dir, adminURL: url, port: port, password: password)
        XCTestObservationCenter.shared.addTestObserver(cluster)
        return cluster
    }

    private init(dir: URL, adminURL: String, port: Int, password: String) {
        self.dir = dir
        self.adminURL = adminURL
        self.port = port
        self.password = password
    }

    public func testBundleDidFinish(_ testBundle: Bundle) { stop() }

    public func stop() { _ = Self.run([Self.script, "stop", dir.path]) }

    /// A fresh database; its URL (with or without the password).
    public func createDatabase(_ prefix: String = "t", withPassword: Bool = true) throws -> String {
        let name = "\(prefix)_\(UInt32.random(in: 0...UInt32.max))"
        let (status, _, err) = Self.run([Self.script, "createdb", dir.path, name])
        guard status == 0 else { throw Unavailable(description: "createdb \(name): \(err)") }
        return withPassword
            ? "postgres://rstore:\(password)@127.0.0.1:\(port)/\(name)" : "postgres://rstore@127.0.0.1:\(port)/\(name)"
    }

    /// Runs SQL in the database of `url` (psql), e.g. to plant a foreign table or kill connections.
    public func psql(_ url: String, _ sql: String) throws {
        let db = String(url.split(separator: "/").last!)
        let (status, _, err) = Self.run([Self.script, "psql", dir.path, db, sql])
        guard status == 0 else { throw StartFailed(description: "psql: \(err)") }
    }

    @discardableResult
    public static func run(_ args: [String], environment: [String: String]? = nil) -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = args
        if let environment { p.environment = environment }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return (127, "", "\(error)") }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}
