import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Slow clients cannot starve the server: a half-sent request head is closed after the idle
/// timeout, a dripping body after the body timeout, and open connections are capped, so
/// normal clients keep getting answers. Loopback only; bounded in sockets and seconds.
final class StarvationTests: XCTestCase {
    /// Hundreds of half-sent requests hold sockets; normal requests are answered meanwhile,
    /// and every slow one is closed once the idle timeout passes.
    func testHalfSentRequestsDoNotStarveOthersAndAreClosed() async throws {
        let f = try await ServerFixture.shared.value
        let server = try f.server {
            $0.port = 0
            $0.idleTimeout = 3
            $0.maxConnections = 1000
        }
        try await server.makeApplication().test(.live) { client in
            let port = try XCTUnwrap(client.port)
            let slow = try await RawHTTP.offPool { try (0..<300).map { _ in try RawHTTP.slowClient(port: port) } }
            defer { for fd in slow { close(fd) } }
            for uri in ["/healthz", "/v1/videos", "/v1/videos/\(f.videoA)", "/"] {
                let r = try await RawHTTP.requestOffPool(port: port, "GET", uri)
                XCTAssertEqual(r.status, 200, "\(uri) with 300 slow clients open: \(r.head)")
            }
            let closed = try await RawHTTP.offPool { slow.filter { RawHTTP.isClosed($0, within: 10) }.count }
            XCTAssertEqual(closed, slow.count, "every half-sent request is closed after the idle timeout")
        }
    }

    /// More slow clients than the connection limit: the server holds at most the limit open,
    /// the slow ones are closed in turn, and a normal client still gets its answer.
    func testConnectionLimitWithSlowClients() async throws {
        let f = try await ServerFixture.shared.value
        let server = try f.server {
            $0.port = 0
            $0.idleTimeout = 1
            $0.maxConnections = 16
        }
        try await server.makeApplication().test(.live) { client in
            let port = try XCTUnwrap(client.port)
            let slow = try await RawHTTP.offPool { try (0..<48).map { _ in try RawHTTP.slowClient(port: port) } }
            defer { for fd in slow { close(fd) } }
            let r = try await RawHTTP.requestOffPool(port: port, "GET", "/healthz")
            XCTAssertEqual(r.status, 200, r.head)
            let closed = try await RawHTTP.offPool { slow.filter { RawHTTP.isClosed($0, within: 15) }.count }
            XCTAssertEqual(closed, slow.count)
        }
    }

    /// A body dripped a byte at a time keeps the idle timer alive; the body timeout cuts it.
    func testDrippingBodyIsCut() async throws {
        let f = try await ServerFixture.shared.value
        let token = ServerFixture.token
        let server = try f.server(token: token) {
            $0.port = 0
            $0.idleTimeout = 30
            $0.bodyTimeout = 1.5
        }
        try await server.makeApplication().test(.live) { client in
            let port = try XCTUnwrap(client.port)
            let head =
                """
                POST /v1/index HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Bearer \(token)\r\nContent-Type: \
                application/json\r\nContent-Length: 1000\r\n\r\n{\"path\": \"
                """
            let cut = try await RawHTTP.offPool { () -> Bool in
                let fd = try RawHTTP.slowClient(port: port, head)
                defer { close(fd) }
                for _ in 0..<40 {  // 40 x 0.25 s: long past the body timeout
                    RawHTTP.send(fd, "a")
                    if RawHTTP.isClosed(fd, within: 0.25) { return true }
                }
                return false
            }
            XCTAssertTrue(cut, "the connection of a body still dripping after --body-timeout is closed")
        }
    }

    func testTimeoutOptionsAreChecked() {
        for change in [
            { (c: inout ServerConfiguration) in c.maxConnections = 0 }, { $0.idleTimeout = 0 }, { $0.bodyTimeout = -1 },
            { $0.storeTimeout = .nan }, { $0.storeThreads = 0 },
        ] {
            var c = ServerConfiguration()
            change(&c)
            XCTAssertThrowsError(try c.validate())
        }
    }
}
