import Foundation
import Hummingbird
import HummingbirdTesting
import ResidualStore
import Server
import TestSupport
import XCTest

/// `DELETE /v1/videos/{id}` on a library of its own (the shared fixture's videos stay): a
/// write that needs the bearer token, removes one version, leaves the other video alone.
final class DeleteVideoTests: XCTestCase {
    func testDeleteNeedsTheTokenAndRemovesOneVideo() async throws {
        let fixture = try await ServerFixture.shared.value
        let dir = try TempDirectory.make("delete")
        defer { TempDirectory.remove(dir) }
        let (library, _, a, b) = try await fixture.privateLibrary(in: dir)
        let token = ServerFixture.token

        // No token configured: writes are off.
        try await withClient(
            try RStoreServer(library: library, configuration: ServerConfiguration(token: nil, libraryRoots: []))
        ) { client in
            assertError(try await client.execute(uri: "/v1/videos/\(a)", method: .delete), 403, "writes_disabled")
        }
        let server = try RStoreServer(
            library: library, configuration: ServerConfiguration(token: token, libraryRoots: []))
        try await withClient(server) { client in
            assertError(try await client.execute(uri: "/v1/videos/\(a)", method: .delete), 401)
            assertError(
                try await client.execute(uri: "/v1/videos/\(a)", method: .delete, headers: bearer("wrong")), 401,
                "bad_token")
            assertError(try await client.execute(uri: "/v1/videos/x", method: .delete, headers: bearer(token)), 400)
            let gone = try await client.execute(uri: "/v1/videos/\(a)", method: .delete, headers: bearer(token))
            XCTAssertEqual(gone.status, .noContent, gone.text)
            assertError(try await client.execute(uri: "/v1/videos/\(a)", method: .get, headers: bearer(token)), 404)
            assertError(
                try await client.execute(uri: "/v1/videos/\(a)", method: .delete, headers: bearer(token)), 404,
                "unknown_video")
            let other = try await client.execute(uri: "/v1/videos/\(b)", method: .get, headers: bearer(token))
            XCTAssertEqual(other.status, .ok)
            let search = try await client.execute(
                uri: "/v1/search?q=colour+bars&k=5", method: .get, headers: bearer(token))
            XCTAssertEqual(search.status, .ok, search.text)
            XCTAssertFalse(search.text.contains("a.mp4"), search.text)
        }
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: dir.appendingPathComponent("a.mp4").path), "the file stays")
    }
}
