import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import XCTest

/// The application as `rstore serve` runs it, over a real socket.
final class LiveSocketTests: XCTestCase {
    func testConcurrentRequestsOverASocket() async throws {
        let f = try await ServerFixture.shared.value
        let server = try f.server { $0.port = 0 }
        let (a, b) = (f.videoA, f.videoB)
        try await server.makeApplication().test(.live) { client in
            try await withThrowingTaskGroup(of: (String, Int).self) { group in
                for i in 0..<24 {
                    let uri: String
                    switch i % 4 {
                    case 0: uri = "/v1/search?q=pattern+\(i)&k=5"
                    case 1: uri = "/v1/videos/\(a)/embeddings?from=0&to=4"
                    case 2: uri = "/v1/videos/\(b)/frames/\(i % 6).jpg"
                    default: uri = "/v1/videos/\(a)/ground?q=bars"
                    }
                    group.addTask { (uri, Int(try await client.execute(uri: uri, method: .get).status.code)) }
                }
                for try await (uri, status) in group { XCTAssertEqual(status, 200, uri) }
            }
            var h = HTTPFields()
            h[.range] = "bytes=10-19"
            let r = try await client.execute(uri: "/v1/videos/\(a)/media", method: .get, headers: h)
            XCTAssertEqual(r.status, .partialContent)
            XCTAssertEqual(r.body.readableBytes, 10)
            let e = try await client.execute(uri: "/v1/videos/\(a)/embeddings?from=x", method: .get)
            XCTAssertEqual(e.status.code, 400)
        }
    }

    /// The path tricks as raw bytes on the wire (no client normalises them here).
    func testRawPathTricksOverASocket() async throws {
        let f = try await ServerFixture.shared.value
        let token = ServerFixture.token
        let server = try f.server(token: token) { $0.port = 0 }
        try await server.makeApplication().test(.live) { client in
            let port = try XCTUnwrap(client.port)
            for uri in pathTricks {
                for method in ["GET", "HEAD", "OPTIONS", "POST"] {
                    let r = try RawHTTP.request(port: port, method, uri)
                    XCTAssertFalse((200..<300).contains(r.status), "\(method) \(uri): \(r.head)")
                    XCTAssertGreaterThanOrEqual(r.status, 400, "\(method) \(uri): \(r.head)")
                    XCTAssertFalse(r.body.contains("a.mp4"), "\(method) \(uri) leaked library data")
                }
            }
            XCTAssertEqual(try RawHTTP.request(port: port, "GET", "//v1/videos").status, 401)
            let ok = try RawHTTP.request(
                port: port, "GET", "//v1/videos", headers: ["Authorization": "Bearer \(token)"])
            XCTAssertEqual(ok.status, 200)
            XCTAssertTrue(ok.body.contains("a.mp4"))
        }
    }

    /// DNS rebinding: a page on another name that resolves to 127.0.0.1 still sends its own
    /// Host, and gets 421, even from the token-less loopback server whose reads are open.
    func testHostAndOriginChecks() async throws {
        let f = try await ServerFixture.shared.value
        let server = try f.server {
            $0.port = 0
            $0.allowedHosts = ["Media.LAN", "other.lan:9999"]
        }
        try await server.makeApplication().test(.live) { client in
            let port = try XCTUnwrap(client.port)
            for host in [
                "evil.example:\(port)", "evil.example", "127.0.0.1.evil.example:\(port)", "localhost.evil.example",
                "127.0.0.2:\(port)", "[::2]:\(port)", "127.0.0.1:x", "a b",
            ] {
                for uri in ["/v1/videos", "/healthz", "/", "/nothing"] {
                    let r = try RawHTTP.request(port: port, "GET", uri, headers: ["Host": host])
                    XCTAssertTrue(r.status == 421 || r.status == 400, "Host \(host) \(uri): \(r.head)")
                    XCTAssertFalse(r.body.contains("a.mp4"))
                }
            }
            let bad = try RawHTTP.request(port: port, "GET", "/v1/videos", headers: ["Host": "evil.example:\(port)"])
            XCTAssertTrue(bad.body.contains("bad_host"), bad.body)
            for host in [
                "127.0.0.1:\(port)", "127.0.0.1", "localhost:\(port)", "LOCALHOST", "[::1]:\(port)",
                "media.lan:\(port)", "other.lan:\(port)", "localhost.",
            ] {
                let r = try RawHTTP.request(port: port, "GET", "/v1/videos", headers: ["Host": host])
                XCTAssertEqual(r.status, 200, "Host \(host): \(r.head)")
            }
            // State-changing requests with a foreign Origin are refused before anything else.
            let post = try RawHTTP.request(
                port: port, "POST", "/v1/index", headers: ["Origin": "http://evil.example", "Content-Length": "0"])
            XCTAssertEqual(post.status, 403)
            XCTAssertTrue(post.body.contains("bad_origin"), post.body)
            let nullOrigin = try RawHTTP.request(
                port: port, "POST", "/v1/session", headers: ["Origin": "null", "Content-Length": "0"])
            XCTAssertTrue(nullOrigin.body.contains("bad_origin"), nullOrigin.body)
        }
        let token = ServerFixture.token
        let tokened = try f.server(token: token) { $0.port = 0 }
        try await tokened.makeApplication().test(.live) { client in
            let port = try XCTUnwrap(client.port)
            let auth = "Bearer \(token)"
            let foreign = try RawHTTP.request(
                port: port, "POST", "/v1/session",
                headers: ["Authorization": auth, "Origin": "http://evil.example", "Content-Length": "0"])
            XCTAssertEqual(foreign.status, 403, foreign.head)
            let own = try RawHTTP.request(
                port: port, "POST", "/v1/session",
                headers: ["Authorization": auth, "Origin": "http://127.0.0.1:\(port)", "Content-Length": "0"])
            XCTAssertEqual(own.status, 200, own.head)
            XCTAssertTrue(own.head.lowercased().contains("set-cookie: rstore_session_"), own.head)
        }
    }
}
