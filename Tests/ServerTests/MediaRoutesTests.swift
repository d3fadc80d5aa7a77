import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import XCTest

final class MediaRoutesTests: XCTestCase {
    func testMediaWholeAndRanges() async throws {
        let f = try await ServerFixture.shared.value
        let file = try Data(contentsOf: f.root.appendingPathComponent("a.mp4"))
        let size = file.count
        try await withClient(try f.server()) { client in
            let whole = try await client.execute(uri: "/v1/videos/\(f.videoA)/media", method: .get)
            XCTAssertEqual(whole.status, .ok)
            XCTAssertEqual(whole.headers[.contentType], "video/mp4")
            XCTAssertEqual(whole.headers[.acceptRanges], "bytes")
            XCTAssertEqual(whole.bytes, Array(file))

            func range(_ spec: String) async throws -> TestResponse {
                var h = HTTPFields()
                h[.range] = spec
                return try await client.execute(uri: "/v1/videos/\(f.videoA)/media", method: .get, headers: h)
            }
            let first = try await range("bytes=0-99")
            XCTAssertEqual(first.status, .partialContent)
            XCTAssertEqual(first.headers[.contentRange], "bytes 0-99/\(size)")
            XCTAssertEqual(first.bytes, Array(file[0..<100]))
            let mid = try await range("bytes=100-")
            XCTAssertEqual(mid.status, .partialContent)
            XCTAssertEqual(mid.headers[.contentRange], "bytes 100-\(size - 1)/\(size)")
            XCTAssertEqual(mid.bytes, Array(file[100...]))
            let suffix = try await range("bytes=-10")
            XCTAssertEqual(suffix.headers[.contentRange], "bytes \(size - 10)-\(size - 1)/\(size)")
            XCTAssertEqual(suffix.bytes, Array(file.suffix(10)))
            let past = try await range("bytes=\(size)-")
            assertError(past, 416, "range_not_satisfiable")
            XCTAssertEqual(past.headers[.contentRange], "bytes */\(size)")
            let garbage = try await range("bytes=zz")  // ignored: whole file
            XCTAssertEqual(garbage.status, .ok)
            assertError(try await client.execute(uri: "/v1/videos/77777/media", method: .get), 404, "unknown_video")
        }
    }

    func testMediaReplyIsCapped() async throws {
        let f = try await ServerFixture.shared.value
        let server = try f.server { $0.limits.maxMediaChunk = 1000 }
        try await withClient(server) { client in
            var h = HTTPFields()
            h[.range] = "bytes=0-"
            let r = try await client.execute(uri: "/v1/videos/\(f.videoB)/media", method: .get, headers: h)
            XCTAssertEqual(r.status, .partialContent)
            XCTAssertEqual(r.bytes.count, 1000)
            XCTAssertTrue(r.headers[.contentRange]?.hasPrefix("bytes 0-999/") ?? false)
        }
    }
}
