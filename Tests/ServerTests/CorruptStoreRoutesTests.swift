import Foundation
import Hummingbird
import HummingbirdTesting
import ResidualStore
import Server
import TestSupport
import XCTest

/// Damaged stored bytes under a running server (a library of its own): the damaged video's
/// reads answer 500 `corrupt_store` naming it, search and the other video keep answering.
final class CorruptStoreRoutesTests: XCTestCase {
    static func sql(_ store: URL, _ statement: String) throws {
        let r = try ExternalCommand.capture(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["sqlite3", "-cmd", ".timeout 20000", store.path, statement])
        XCTAssertEqual(r.status, 0, String(decoding: r.stderr, as: UTF8.self))
    }

    func testTheServerKeepsAnsweringAroundADamagedVideo() async throws {
        let fixture = try await ServerFixture.shared.value
        let dir = try TempDirectory.make("corrupt-routes")
        defer { TempDirectory.remove(dir) }
        let (library, store, a, b) = try await fixture.privateLibrary(in: dir)
        let server = try RStoreServer(
            library: library, configuration: ServerConfiguration(token: nil, libraryRoots: []))
        try await withClient(server) { client in
            // Warm: the server has both videos in its stage-1 matrix.
            let before = try await client.execute(uri: "/v1/search?q=colour+bars&k=5", method: .get)
            XCTAssertEqual(before.status, .ok, before.text)

            // Offsets of a cut short while the server runs; then its N made impossible.
            // (The row's updated_at moves as any rewrite's would; an unchanged row is served from
            // the decoded copy the warm search made, which is still the stored version.)
            try Self.sql(
                store,
                "UPDATE chunks SET offsets = substr(offsets, 1, 6) WHERE video_id = \(a); "
                    + "UPDATE videos SET updated_at = updated_at + 1 WHERE id = \(a)")
            let emb = try await client.execute(uri: "/v1/videos/\(a)/embeddings?from=0&to=4", method: .get)
            assertError(emb, 500, "corrupt_store")
            XCTAssertTrue(emb.errorMessage?.contains("a.mp4") ?? false, emb.text)
            let other = try await client.execute(uri: "/v1/videos/\(b)/embeddings?from=0&to=3", method: .get)
            XCTAssertEqual(other.status, .ok, other.text)
            let searched = try await client.execute(uri: "/v1/search?q=a+test+pattern&k=5", method: .get)
            XCTAssertEqual(searched.status, .ok, searched.text)

            try Self.sql(
                store,
                """
                PRAGMA ignore_check_constraints = ON; UPDATE videos SET n = -1, updated_at = updated_at + 2 WHERE id \
                = \(a)
                """
            )
            assertError(try await client.execute(uri: "/v1/videos/\(a)", method: .get), 500, "corrupt_store")
            let search = try await client.execute(uri: "/v1/search?q=a+test+pattern&k=5", method: .get)
            XCTAssertEqual(search.status, .ok, search.text)
            XCTAssertFalse(search.text.contains("a.mp4"), search.text)
            let video = try await client.execute(uri: "/v1/videos/\(b)", method: .get)
            XCTAssertEqual(video.status, .ok, video.text)
            let health = try await client.execute(uri: "/healthz", method: .get)
            XCTAssertEqual(health.status, .ok, health.text)
        }
    }
}
