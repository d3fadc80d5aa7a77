import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import XCTest

/// The same application over a real socket: concurrent requests of every heavy kind at once.
final class LiveSocketTests: XCTestCase {
    func testConcurrentRequestsOverASocket() async throws {
        let f = try await ServerFixture.shared.value
        let server = try f.server { $0.port = 0 }
        let app = Application(router: server.makeRouter().router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let (a, b) = (f.videoA, f.videoB)
        try await app.test(.live) { client in
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
}
