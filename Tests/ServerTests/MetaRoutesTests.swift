import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import XCTest

final class MetaRoutesTests: XCTestCase {
    // The OpenAPI document against the routes, parameters and fields: ContractTests.

    func testHealthPageAndUnknownRoutes() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            let h = try await client.execute(uri: "/healthz", method: .get)
            XCTAssertEqual(h.status, .ok)
            XCTAssertEqual(h.json["status"] as? String, "ok")
            XCTAssertGreaterThanOrEqual(h.json["ready_videos"] as? Int ?? 0, 2)
            let page = try await client.execute(uri: "/", method: .get)
            XCTAssertEqual(page.status, .ok)
            XCTAssertTrue(page.headers[.contentType]?.hasPrefix("text/html") ?? false)
            for needle in ["<video", "/v1/search", "/curve", "/frames", "URLSearchParams", "/v1/session"] {
                XCTAssertTrue(page.text.contains(needle), "page mentions \(needle)")
            }
            assertError(try await client.execute(uri: "/v1/nothing", method: .get), 404, "no_route")
            assertError(try await client.execute(uri: "/nothing/at/all", method: .get), 404, "no_route")
        }
    }

    /// Odd inputs get a JSON 4xx, never a crash, a 500 or an HTML page.
    func testGarbageNeverCrashes() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            let uris = [
                "/v1/videos/99999999999999999999999", "/v1/videos/%00", "/v1/videos/1e3/embeddings",
                "/v1/videos/\(f.videoA)/embeddings?from=1e308&to=1e309",
                "/v1/videos/\(f.videoA)/frames/99999999999999999999.jpg",
                "/v1/search?q=x&k=%", "/v1/search?k=5&q=", "/v1/videos/\(f.videoA)/ground?k=1",
                "/v1/jobs/" + String(repeating: "j", count: 300), "/v1/videos/\(f.videoA)/curve?q=x&from=-5",
            ]
            for u in uris {
                let r = try await client.execute(uri: u, method: .get)
                XCTAssertTrue((400..<500).contains(Int(r.status.code)), "\(u): \(r.status.code) \(r.text)")
                XCTAssertNotNil(r.errorCode, "\(u): JSON error body, got \(r.text)")
            }
        }
    }
}
