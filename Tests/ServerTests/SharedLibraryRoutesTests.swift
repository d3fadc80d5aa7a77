import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresTestSupport
import Server
import Store
import StorePostgres
import TestSupport
import XCTest

@testable import ResidualStore

/// `rstore serve` on a PostgreSQL store shared by machines that mount the archive in different
/// places: videos are stored root-relative and served through this server's own roots, and
/// POST /v1/index puts files on the workers' queue instead of indexing in the server.
final class SharedLibraryRoutesTests: XCTestCase {
    static let token = "shared-s3cret"

    func testVideosFromAnotherMountAndIndexRequestsQueued() async throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase("serve")
        let dir = try TempDirectory.make("sharedserve")
        defer { TempDirectory.remove(dir) }
        let fm = FileManager.default
        let a = dir.appendingPathComponent("machineA")
        let b = dir.appendingPathComponent("machineB/archive")
        let plain = dir.appendingPathComponent("plain")
        let outside = dir.appendingPathComponent("outside")
        for d in [a.appendingPathComponent("clips"), b.deletingLastPathComponent(), plain, outside] {
            try fm.createDirectory(at: d, withIntermediateDirectories: true)
        }
        func video(_ src: String, _ seconds: Int, _ to: URL) throws {
            try ExternalCommand.ffmpeg([
                "-f", "lavfi", "-i", "\(src)=size=160x120:rate=10", "-t", "\(seconds)",
                "-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p", to.path,
            ])
        }
        try video("testsrc2", 4, a.appendingPathComponent("clips/a.mp4"))
        func library(_ roots: [String: URL], _ cache: String) throws -> Library {
            var c = Library.Configuration()
            c.frameTierBytes = 0
            c.frameCacheBytes = 16 << 20
            c.roots = try RootMounts(roots)
            return try Library(
                opening: { try PostgresStore(url: url, localCache: dir.appendingPathComponent(cache)) },
                model: try TinyCLIP.model.get(), configuration: c)
        }

        // Machine A indexes under its mount.
        let libA = try library(["archive": a], "A")
        let indexed = try await libA.index([a.appendingPathComponent("clips/a.mp4")])
        XCTAssertEqual(indexed.indexed, 1)
        let v = try XCTUnwrap(try libA.videos().first)
        XCTAssertEqual(v.path, "archive:clips/a.mp4")
        let id = v.id!
        let dense = try libA.embeddings(v, from: 0, to: v.duration)

        // Machine B: a copy of the archive elsewhere, more files to queue, a symlink out of it.
        try fm.copyItem(at: a, to: b)
        try fm.createDirectory(at: b.appendingPathComponent("new"), withIntermediateDirectories: true)
        try video("smptebars", 2, b.appendingPathComponent("new/q.mp4"))
        try video("testsrc", 2, b.appendingPathComponent("new/r.mp4"))
        try video("rgbtestsrc", 2, outside.appendingPathComponent("secret.mp4"))
        try video("rgbtestsrc", 2, plain.appendingPathComponent("p.mp4"))
        try fm.createSymbolicLink(
            at: b.appendingPathComponent("new/escape.mp4"),
            withDestinationURL: outside.appendingPathComponent("secret.mp4"))
        let libB = try library(["archive": b], "B")
        var configB = ServerConfiguration(token: Self.token, libraryRoots: [b, plain])
        configB.limits.maxIndexPaths = 8
        let serverB = try RStoreServer(library: libB, configuration: configB)
        try await withClient(serverB) { client in
            let h = bearer(Self.token)
            let e = try await client.execute(uri: "/v1/videos/\(id)/embeddings", method: .get, headers: h)
            XCTAssertEqual(e.status, .ok, e.text)
            let frames = e.json["frames"] as? [[String: Any]] ?? []
            XCTAssertEqual(frames.count, dense.count)
            XCTAssertTrue(frames.contains { $0["kind"] as? String == "P" })
            for (f, d) in zip(frames, dense) {
                XCTAssertEqual(
                    (f["embedding"] as? [Double] ?? []).map { Float($0) }, d.vector,
                    "frame \(d.index): same features as machine A")
            }
            let jpg = try await client.execute(uri: "/v1/videos/\(id)/frames/1.jpg", method: .get, headers: h)
            XCTAssertEqual(jpg.status, .ok, jpg.text)
            XCTAssertEqual(jpg.headers[.contentType], "image/jpeg")
            let media = try await client.execute(uri: "/v1/videos/\(id)/media", method: .get, headers: h)
            XCTAssertEqual(media.status, .ok)
            XCTAssertEqual(media.bytes.count, try Data(contentsOf: b.appendingPathComponent("clips/a.mp4")).count)

            // POST /v1/index queues for the workers, root-relative.
            var hj = h
            hj[.contentType] = "application/json"
            func post(_ json: String) async throws -> TestResponse {
                try await client.execute(uri: "/v1/index", method: .post, headers: hj, body: ByteBuffer(string: json))
            }
            let q = try await post(#"{"paths": ["new"]}"#)
            XCTAssertEqual(q.status, .accepted, q.text)
            XCTAssertEqual(q.headers[.location], "/v1/queue")
            XCTAssertEqual(q.json["shared"] as? Bool, true)
            XCTAssertEqual(q.json["files"] as? Int, 2, "the symlink out of the root is not a file of the request")
            XCTAssertEqual(q.json["queued"] as? Int, 2)
            XCTAssertEqual((q.json["queue"] as? [String: Any])?["queued"] as? Int, 2)
            let again = try await post(#"{"path": "new/q.mp4"}"#)
            XCTAssertEqual(again.json["queued"] as? Int, 0)
            XCTAssertEqual(again.json["already_queued"] as? Int, 1)

            // Attacks on the queue path: nothing is queued by any of them.
            assertError(try await post(#"{"path": "../outside/secret.mp4"}"#), 400, "path_traversal")
            assertError(try await post(#"{"path": "new/../../outside/secret.mp4"}"#), 400, "path_traversal")
            assertError(
                try await post("{\"path\": \"\(outside.appendingPathComponent("secret.mp4").path)\"}"), 403,
                "outside_library_roots")
            assertError(try await post(#"{"path": "new/escape.mp4"}"#), 403, "outside_library_roots")
            assertError(try await post(#"{"path": "new/q\u0000.mp4"}"#), 400, "bad_parameter")
            assertError(try await post(#"{"path": "p.mp4"}"#), 403, "outside_named_roots")
            let many = "{\"paths\": [" + Array(repeating: "\"new\"", count: 9).joined(separator: ",") + "]}"
            assertError(try await post(many), 400, "bad_parameter")
            assertError(try await post("{\"path\": \"" + String(repeating: "a/", count: 40_000) + "\"}"), 413)
            assertError(
                try await client.execute(
                    uri: "/v1/index", method: .post, body: ByteBuffer(string: #"{"path": "new"}"#)), 401)

            let counts = try await client.execute(uri: "/v1/queue", method: .get, headers: h)
            XCTAssertEqual(counts.status, .ok)
            XCTAssertEqual(counts.json["queued"] as? Int, 2, counts.text)
        }
        // What a worker claims is root + relative path, whatever this server's mount.
        let pg = try PostgresStore(url: url, localCache: dir.appendingPathComponent("W"))
        defer { pg.close() }
        var claimed: [String] = []
        while let job = try pg.claimJob(lease: Lease.make(), roots: ["archive"]) {
            claimed.append("\(job.root):\(job.path)")
        }
        XCTAssertEqual(claimed.sorted(), ["archive:new/q.mp4", "archive:new/r.mp4"])

        // A server with no roots: search answers from stage 1; what needs the file names the root.
        let serverC = try RStoreServer(
            library: try library([:], "C"), configuration: ServerConfiguration(token: Self.token))
        try await withClient(serverC) { client in
            let h = bearer(Self.token)
            let s = try await client.execute(uri: "/v1/search?q=test%20pattern&k=2", method: .get, headers: h)
            XCTAssertEqual(s.status, .ok, s.text)
            XCTAssertFalse((s.json["moments"] as? [Any] ?? []).isEmpty)
            for uri in ["/v1/videos/\(id)/embeddings", "/v1/videos/\(id)/frames/1.jpg", "/v1/videos/\(id)/media"] {
                let r = try await client.execute(uri: uri, method: .get, headers: h)
                assertError(r, 503, "root_not_mounted")
                XCTAssertTrue(r.errorMessage?.contains("video \(id)") ?? false, "\(uri): \(r.text)")
            }
        }
    }

    func testQueueRouteOnALocalStoreIsNotFound() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server(token: ServerFixture.token)) { client in
            assertError(
                try await client.execute(uri: "/v1/queue", method: .get, headers: bearer(ServerFixture.token)), 404,
                "no_queue")
        }
    }
}
