import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import TestSupport
import XCTest

/// The spellings of library paths that must never get past authentication: the router
/// collapses some (`//v1/videos` matches `/v1/videos`), others match nothing.
let pathTricks = [
    "//v1/videos", "/v1//videos", "///v1///videos", "//v1/search?q=x", "/v1/videos/", "//v1/videos/1",
    "/v1%2Fvideos", "%2Fv1%2Fvideos", "/v1%2fvideos", "/V1/videos", "/v1/VIDEOS", "/v1/../v1/videos",
    "/./v1/videos", "/v1/./videos", "/x/../v1/videos", "/v1/videos%00", "/v1/videos;x", "/v1/videos?status=ready",
    "http://127.0.0.1/v1/videos", "http://localhost//v1/videos", "/v1/videos#x", "/v1/videos\\",
]

final class AuthTests: XCTestCase {
    func testTokenRequiredForEveryV1Request() async throws {
        let f = try await ServerFixture.shared.value
        let token = ServerFixture.token
        try await withClient(try f.server(token: token)) { client in
            let none = try await client.execute(uri: "/v1/videos", method: .get)
            assertError(none, 401, "missing_token")
            XCTAssertEqual(none.headers[.wwwAuthenticate], "Bearer realm=\"rstore\"")
            assertError(
                try await client.execute(uri: "/v1/videos", method: .get, headers: bearer("wrong")), 401, "bad_token")
            assertError(
                try await client.execute(uri: "/v1/search?q=x", method: .get, headers: bearer(token + "x")), 401,
                "bad_token")
            var basic = HTTPFields()
            basic[.authorization] = "Basic \(token)"
            assertError(try await client.execute(uri: "/v1/videos", method: .get, headers: basic), 401, "bad_token")
            do {
                let resp = try await client.execute(uri: "/v1/videos", method: .get, headers: bearer(token))
                XCTAssertEqual(resp.status, .ok, resp.text)
            }
            assertError(
                try await client.execute(
                    uri: "/v1/index", method: .post, body: ByteBuffer(string: #"{"path":"a.mp4"}"#)), 401,
                "missing_token")
            // The raw token is no cookie: only a session the server issued is.
            var rawCookie = HTTPFields()
            rawCookie[.cookie] = "rstore_session=\(token); rstore_token=\(token)"
            assertError(try await client.execute(uri: "/v1/videos", method: .get, headers: rawCookie), 401)
            // Public routes.
            do {
                let resp = try await client.execute(uri: "/healthz", method: .get)
                XCTAssertEqual(resp.status, .ok, resp.text)
            }
            do {
                let resp = try await client.execute(uri: "/", method: .get)
                XCTAssertEqual(resp.status, .ok, resp.text)
            }
            do {
                let resp = try await client.execute(uri: "/openapi.json", method: .get)
                XCTAssertEqual(resp.status, .ok, resp.text)
            }
        }
    }

    /// The page trades the token for an HttpOnly, SameSite=Strict session cookie; the cookie
    /// authenticates reads from the page's own origin, never writes.
    func testSessionCookie() async throws {
        let f = try await ServerFixture.shared.value
        let token = ServerFixture.token
        try await withClient(try f.server(token: token)) { client in
            assertError(try await client.execute(uri: "/v1/session", method: .post), 401, "missing_token")
            let s = try await client.execute(uri: "/v1/session", method: .post, headers: bearer(token))
            XCTAssertEqual(s.status, .ok, s.text)
            let set = try XCTUnwrap(s.headers[.setCookie])
            for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] { XCTAssertTrue(set.contains(attr), set) }
            XCTAssertFalse(set.contains(token), "the cookie is not the token")
            let pair = String(set.split(separator: ";")[0])
            let cookieName = String(pair.split(separator: "=")[0])
            XCTAssertTrue(
                cookieName.hasPrefix("rstore_session_") && cookieName.count == "rstore_session_".count + 16, cookieName)
            var cookie = HTTPFields()
            cookie[.cookie] = "other=1; \(pair)"
            do {
                let r = try await client.execute(
                    uri: "/v1/videos/\(f.videoA)/frames/0.jpg", method: .get, headers: cookie)
                XCTAssertEqual(r.status, .ok, r.text)
            }
            var sameOrigin = cookie
            sameOrigin[.origin] = "http://localhost"
            do {
                let r = try await client.execute(uri: "/v1/videos", method: .get, headers: sameOrigin)
                XCTAssertEqual(r.status, .ok, r.text)
            }
            var foreign = cookie
            foreign[.origin] = "http://evil.example"
            assertError(try await client.execute(uri: "/v1/videos", method: .get, headers: foreign), 403, "bad_origin")
            // Writes need the header, even with a valid session.
            assertError(
                try await client.execute(
                    uri: "/v1/index", method: .post, headers: cookie, body: ByteBuffer(string: #"{"path":"a.mp4"}"#)),
                401)
            assertError(try await client.execute(uri: "/v1/session", method: .post, headers: cookie), 401)
            // A made-up session of the right shape is refused.
            var forged = HTTPFields()
            forged[.cookie] = "\(cookieName)=" + String(repeating: "ab", count: 32)
            assertError(try await client.execute(uri: "/v1/videos", method: .get, headers: forged), 401)
        }
    }

    /// Browsers send a host's cookies to every port: two servers on one host name their
    /// cookies apart, so neither overwrites (or accepts) the other's session.
    func testSessionCookieNamePerServer() async throws {
        let f = try await ServerFixture.shared.value
        let token = ServerFixture.token
        let (one, two) = (try f.server(token: token), try f.server(token: token))
        func session(_ s: RStoreServer) async throws -> String {
            try await withClient(s) { client in
                let r = try await client.execute(uri: "/v1/session", method: .post, headers: bearer(token))
                return String(try XCTUnwrap(r.headers[.setCookie]).split(separator: ";")[0])
            }
        }
        let (a, b) = (try await session(one), try await session(two))
        XCTAssertNotEqual(a.split(separator: "=")[0], b.split(separator: "=")[0], "one cookie name per server")
        try await withClient(one) { client in
            var both = HTTPFields()
            both[.cookie] = "\(b); \(a)"
            do {
                let r = try await client.execute(uri: "/v1/videos", method: .get, headers: both)
                XCTAssertEqual(r.status, .ok, r.text)
            }
            var other = HTTPFields()
            other[.cookie] = b
            assertError(try await client.execute(uri: "/v1/videos", method: .get, headers: other), 401)
        }
    }

    /// Every path trick, with every method, through the real router: never a 2xx, never data.
    func testPathTricksNeverBypassAuth() async throws {
        let f = try await ServerFixture.shared.value
        let token = ServerFixture.token
        try await withClient(try f.server(token: token)) { client in
            for uri in pathTricks {
                for method in [HTTPRequest.Method.get, .head, .options, .post, .put, .delete] {
                    let r = try await client.execute(uri: uri, method: method)
                    XCTAssertFalse(
                        (200..<300).contains(Int(r.status.code)), "\(method) \(uri): \(r.status.code) \(r.text)")
                    XCTAssertFalse(r.text.contains("a.mp4"), "\(method) \(uri) leaked library data")
                }
            }
            // The router really does match the doubled slashes: with the token it serves them,
            // so it is the route's auth (not a 404) that stopped the requests above.
            let ok = try await client.execute(uri: "//v1/videos", method: .get, headers: bearer(token))
            XCTAssertEqual(ok.status, .ok, ok.text)
            assertError(try await client.execute(uri: "//v1/videos", method: .get), 401, "missing_token")
            assertError(try await client.execute(uri: "/v1//videos", method: .get), 401, "missing_token")
            // Writes too (this server has a library root, so an unauthenticated index would run).
            for uri in ["//v1/index", "/v1//index", "///v1/index"] {
                assertError(
                    try await client.execute(uri: uri, method: .post, body: ByteBuffer(string: #"{"path":"later"}"#)),
                    401, "missing_token")
            }
            let head = try await client.execute(uri: "/v1/videos", method: .head)
            XCTAssertEqual(head.status.code, 401)
            let headOK = try await client.execute(uri: "/v1/videos", method: .head, headers: bearer(token))
            XCTAssertEqual(headOK.status, .ok)
            XCTAssertEqual(headOK.body.readableBytes, 0)
        }
    }

    /// Every route but the allow-list sits behind auth: the route table says so, and each one
    /// answers 401 without credentials.
    func testEveryNonPublicRouteNeedsAuth() async throws {
        let f = try await ServerFixture.shared.value
        let server = try f.server(token: ServerFixture.token)
        let routes = server.makeRouter().routes
        XCTAssertEqual(Set(routes.filter(\.isPublic).map(\.path)), ["/", "/healthz", "/openapi.json"])
        try await withClient(server) { client in
            for r in routes where !r.isPublic {
                let uri = r.path.replacingOccurrences(of: "{id}", with: "\(f.videoA)").replacingOccurrences(
                    of: "{index}", with: "0")
                let resp = try await client.execute(uri: uri, method: r.method == "POST" ? .post : .get)
                assertError(resp, 401)
            }
        }
    }

    func testWithoutTokenReadsAreOpenAndWritesRefused() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            do {
                let resp = try await client.execute(uri: "/v1/videos", method: .get)
                XCTAssertEqual(resp.status, .ok, resp.text)
            }
            let w = try await client.execute(
                uri: "/v1/index", method: .post, body: ByteBuffer(string: #"{"path":"a.mp4"}"#))
            assertError(w, 403, "writes_disabled")
            assertError(try await client.execute(uri: "//v1/index", method: .post), 403, "writes_disabled")
            let health = try await client.execute(uri: "/healthz", method: .get)
            XCTAssertEqual(health.json["auth_required"] as? Bool, false)
            XCTAssertEqual(health.json["writes_enabled"] as? Bool, false)
        }
    }

    func testNonLoopbackBindNeedsToken() throws {
        XCTAssertThrowsError(try ServerConfiguration(host: "0.0.0.0").validate()) { e in
            XCTAssertEqual(e as? ServerSetupError, .tokenRequired(host: "0.0.0.0"))
            XCTAssertTrue("\(e)".contains("--token-file"))
        }
        XCTAssertNoThrow(try ServerConfiguration(host: "0.0.0.0", token: "t").validate())
        XCTAssertNoThrow(try ServerConfiguration(host: "127.0.0.1").validate())
        XCTAssertNoThrow(try ServerConfiguration(host: "::1").validate())
        XCTAssertThrowsError(try ServerConfiguration(host: "192.168.1.5", token: "").validate())
        XCTAssertThrowsError(
            try ServerConfiguration(libraryRoots: [URL(fileURLWithPath: "/nonexistent-root")]).validate())
        var c = ServerConfiguration()
        c.allowedHosts = ["http://x.example/"]
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--allow-host")) }
        c = ServerConfiguration()
        c.limits.maxPFrames = 0
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--max-p-frames")) }
    }

    func testTokenSources() throws {
        let dir = try TempDirectory.make("token")
        defer { TempDirectory.remove(dir) }
        let file = dir.appendingPathComponent("token")
        /// A token file only its owner may read (rstore refuses others, see below).
        func write(_ data: Data) throws {
            try data.write(to: file)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        }
        try write(Data("0123456789abcdef\n".utf8))
        let env = ["RSTORE_TOKEN": "from-the-environment"]

        let fromFile = try TokenSource.resolve(argument: nil, file: file.path, environment: env)
        XCTAssertEqual(fromFile, .init(token: "0123456789abcdef", warning: nil))
        XCTAssertEqual(
            try TokenSource.resolve(argument: nil, file: nil, environment: env),
            .init(token: "from-the-environment", warning: nil))
        XCTAssertEqual(
            try TokenSource.resolve(argument: nil, file: nil, environment: [:]), .init(token: nil, warning: nil))
        let argv = try TokenSource.resolve(argument: "an-argv-token", file: nil, environment: env)
        XCTAssertEqual(argv.token, "an-argv-token")
        XCTAssertTrue(argv.warning?.contains("ps") ?? false)

        func refuses(_ arg: String?, _ path: String?, _ needle: String, line: UInt = #line) {
            XCTAssertThrowsError(try TokenSource.resolve(argument: arg, file: path, environment: [:]), line: line) {
                e in
                XCTAssertTrue("\(e)".contains(needle), "\(e)", line: line)
            }
        }
        refuses("an-argv-token", file.path, "not both")
        refuses(nil, dir.appendingPathComponent("missing").path, "missing")
        // Readable (or writable) by group or others: refused as ssh refuses such a key.
        for mode in [0o644, 0o604, 0o640, 0o620, 0o602] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file.path)
            refuses(nil, file.path, "permissions \(String(format: "%04o", mode)) are too open")
            refuses(nil, file.path, "chmod 600 \(file.path)")
        }
        try write(Data("short".utf8))
        refuses(nil, file.path, "shorter than 8")
        try write(Data("has a space inside".utf8))
        refuses(nil, file.path, "visible ASCII")
        try write(Data(repeating: 0x41, count: 5000))
        refuses(nil, file.path, "1024")
    }
}
