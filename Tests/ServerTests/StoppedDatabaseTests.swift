import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresTestSupport
import ResidualStore
import Server
import StorePostgres
import TestSupport
import XCTest

/// The database stops answering (SIGSTOP: its sockets stay open, nothing comes back). The
/// server keeps answering what it holds in memory (the page, /openapi.json, /healthz, the
/// records and thumbnails of videos it has served); requests that need the store get 503
/// within --store-timeout, never hang, and never take more threads than the store line has;
/// once the database resumes, everything answers again.
final class StoppedDatabaseTests: XCTestCase {
    func testStoppedDatabase() async throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase("stopped") + "?statement_timeout=2&connect_timeout=2"
        let dir = try TempDirectory.make("stopped")
        defer { TempDirectory.remove(dir) }
        let clip = dir.appendingPathComponent("a.mp4")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "2",
            "-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p", clip.path,
        ])
        var c = Library.Configuration()
        c.frameTierBytes = 0
        let library = try Library(
            opening: { try PostgresStore(url: url, localCache: dir.appendingPathComponent("cache")) },
            model: try TinyCLIP.model.get(), configuration: c)
        let indexed = try await library.index([clip]).indexed
        XCTAssertEqual(indexed, 1)
        let id = try XCTUnwrap(try library.videos().first?.id)
        var config = ServerConfiguration(libraryRoots: [dir])
        config.port = 0
        config.storeTimeout = 1
        config.storeThreads = 2
        config.maxQueuedStoreCalls = 4
        config.countsRefresh = 0.1
        let server = try RStoreServer(library: library, configuration: config)
        try await server.makeApplication().test(.live) { client in
            let port = try XCTUnwrap(client.port)
            func get(_ uri: String) async throws -> RawHTTP.Reply {
                try await RawHTTP.requestOffPool(port: port, "GET", uri)
            }
            for uri in ["/v1/videos", "/v1/videos/\(id)", "/v1/videos/\(id)/frames/0.jpg"] {
                let before = try await get(uri)
                XCTAssertEqual(before.status, 200, uri)
            }

            try cluster.signal("STOP")
            var resumed = false
            defer { if !resumed { try? cluster.signal("CONT") } }
            // Store calls, more than the line holds: each answers 503, none hangs.
            let stuck = try await withThrowingTaskGroup(of: RawHTTP.Reply.self) { group in
                for uri in ["/v1/videos", "/v1/videos/\(id)/frames", "/v1/search?q=x", "/v1/videos/424242"]
                    + (1...8).map({ "/v1/videos?limit=\($0)" })
                {
                    group.addTask { try await get(uri) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for r in stuck {
                XCTAssertEqual(r.status, 503, r.head + r.body)
                XCTAssertTrue(["store_timeout", "busy", "store_unavailable"].contains { r.body.contains($0) }, r.body)
            }
            // Memory-only routes answer meanwhile, /healthz included (it reports the outage
            // once its background refresh gives up, never waiting for it), and so do the
            // record, thumbnail and file of a video served before.
            for uri in [
                "/healthz", "/", "/openapi.json", "/healthz", "/v1/videos/\(id)", "/v1/videos/\(id)/frames/0.jpg",
                "/v1/videos/\(id)/media",
            ] {
                let r = try await get(uri)
                XCTAssertEqual(r.status, 200, uri)
            }
            let health = try await get("/healthz")
            XCTAssertTrue(health.body.contains("\"videos\":1"), health.body)

            try cluster.signal("CONT")
            resumed = true
            var back = 0
            for _ in 0..<60 where back != 200 {
                back = try await get("/v1/videos").status
                if back != 200 { try await Task.sleep(for: .milliseconds(250)) }
            }
            XCTAssertEqual(back, 200, "the store answers again once the database resumes")
        }
    }
}
