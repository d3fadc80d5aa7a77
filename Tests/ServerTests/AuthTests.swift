import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import XCTest

final class AuthTests: XCTestCase {
    func testTokenRequiredForEveryV1Request() async throws {
        let f = try await ServerFixture.shared.value
        let token = ServerFixture.token
        try await withClient(try f.server(token: token)) { client in
            let none = try await client.execute(uri: "/v1/videos", method: .get)
            assertError(none, 401, "missing_token")
            XCTAssertEqual(none.headers[.wwwAuthenticate], "Bearer realm=\"rstore\"")
            assertError(try await client.execute(uri: "/v1/videos", method: .get, headers: bearer("wrong")), 401, "bad_token")
            assertError(try await client.execute(uri: "/v1/search?q=x", method: .get, headers: bearer(token + "x")), 401, "bad_token")
            var basic = HTTPFields()
            basic[.authorization] = "Basic \(token)"
            assertError(try await client.execute(uri: "/v1/videos", method: .get, headers: basic), 401, "bad_token")
            do { let resp = try await client.execute(uri: "/v1/videos", method: .get, headers: bearer(token)); XCTAssertEqual(resp.status, .ok, resp.text) }
            // The page's <img>/<video> elements authenticate reads with the cookie...
            var cookie = HTTPFields()
            cookie[.cookie] = "other=1; rstore_token=\(token)"
            do { let resp = try await client.execute(uri: "/v1/videos/\(f.videoA)/frames/0.jpg", method: .get, headers: cookie); XCTAssertEqual(resp.status, .ok, resp.text) }
            // ...but writes need the header.
            assertError(try await client.execute(uri: "/v1/index", method: .post, headers: cookie, body: ByteBuffer(string: #"{"path":"a.mp4"}"#)), 401)
            assertError(try await client.execute(uri: "/v1/index", method: .post, body: ByteBuffer(string: #"{"path":"a.mp4"}"#)), 401, "missing_token")
            // Public routes.
            do { let resp = try await client.execute(uri: "/healthz", method: .get); XCTAssertEqual(resp.status, .ok, resp.text) }
            do { let resp = try await client.execute(uri: "/", method: .get); XCTAssertEqual(resp.status, .ok, resp.text) }
            do { let resp = try await client.execute(uri: "/openapi.json", method: .get); XCTAssertEqual(resp.status, .ok, resp.text) }
        }
    }

    func testWithoutTokenReadsAreOpenAndWritesRefused() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            do { let resp = try await client.execute(uri: "/v1/videos", method: .get); XCTAssertEqual(resp.status, .ok, resp.text) }
            let w = try await client.execute(uri: "/v1/index", method: .post, body: ByteBuffer(string: #"{"path":"a.mp4"}"#))
            assertError(w, 403, "writes_disabled")
            let health = try await client.execute(uri: "/healthz", method: .get)
            XCTAssertEqual(health.json["authRequired"] as? Bool, false)
            XCTAssertEqual(health.json["writesEnabled"] as? Bool, false)
        }
    }

    func testNonLoopbackBindNeedsToken() throws {
        XCTAssertThrowsError(try ServerConfiguration(host: "0.0.0.0").validate()) { e in
            XCTAssertEqual(e as? ServerSetupError, .tokenRequired(host: "0.0.0.0"))
            XCTAssertTrue("\(e)".contains("--token"))
        }
        XCTAssertNoThrow(try ServerConfiguration(host: "0.0.0.0", token: "t").validate())
        XCTAssertNoThrow(try ServerConfiguration(host: "127.0.0.1").validate())
        XCTAssertNoThrow(try ServerConfiguration(host: "::1").validate())
        XCTAssertThrowsError(try ServerConfiguration(host: "192.168.1.5", token: "").validate())
        XCTAssertThrowsError(try ServerConfiguration(libraryRoots: [URL(fileURLWithPath: "/nonexistent-root")]).validate())
    }
}
