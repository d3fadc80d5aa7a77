import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import XCTest

final class MetaRoutesTests: XCTestCase {
    func testOpenAPIListsExactlyTheRegisteredRoutes() async throws {
        let f = try await ServerFixture.shared.value
        let server = try f.server()
        let registered = Set(server.makeRouter().routes.map { "\($0.method) \($0.path)" })
        try await withClient(server) { client in
            let r = try await client.execute(uri: "/openapi.json", method: .get)
            XCTAssertEqual(r.status, .ok)
            XCTAssertEqual(r.json["openapi"] as? String, "3.1.0")
            let paths = r.json["paths"] as? [String: [String: Any]] ?? [:]
            var documented = Set<String>()
            for (path, ops) in paths {
                for method in ops.keys { documented.insert("\(method.uppercased()) \(path)") }
            }
            XCTAssertEqual(documented, registered, "documented but not served: \(documented.subtracting(registered)); served but not documented: \(registered.subtracting(documented))")
            XCTAssertGreaterThanOrEqual(registered.count, 14)
            // Every $ref resolves.
            let schemas = ((r.json["components"] as? [String: Any])?["schemas"] as? [String: Any]) ?? [:]
            let refs = r.text.components(separatedBy: "#/components/schemas/").dropFirst().map { String($0.prefix { $0 != "\"" }) }
            for ref in refs { XCTAssertNotNil(schemas[ref], "missing schema \(ref)") }
        }
    }

    func testHealthPageAndUnknownRoutes() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            let h = try await client.execute(uri: "/healthz", method: .get)
            XCTAssertEqual(h.status, .ok)
            XCTAssertEqual(h.json["status"] as? String, "ok")
            XCTAssertGreaterThanOrEqual(h.json["readyVideos"] as? Int ?? 0, 2)
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
                "/v1/videos/\(f.videoA)/embeddings?from=1e308&to=1e309", "/v1/videos/\(f.videoA)/frames/99999999999999999999.jpg",
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
