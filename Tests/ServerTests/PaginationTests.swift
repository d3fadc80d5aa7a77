import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import XCTest

/// Every list answers one bounded page and a cursor to the next; a client that never heard
/// of pages gets the whole list when it fits the default page.
final class PaginationTests: XCTestCase {
    /// Follows `nextCursor` from `uri` (which has a `?`) and returns the items of `key` of every page.
    static func walk(_ client: any TestClientProtocol, _ uri: String, _ key: String, limit: Int) async throws -> (
        items: [[String: Any]], pages: Int
    ) {
        var items: [[String: Any]] = []
        var pages = 0
        var cursor: String?
        repeat {
            let r = try await client.execute(
                uri: uri + "&limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? ""), method: .get)
            XCTAssertEqual(r.status, .ok, r.text)
            let page = r.json[key] as? [[String: Any]] ?? []
            XCTAssertLessThanOrEqual(page.count, limit)
            items += page
            pages += 1
            cursor = r.json["next_cursor"] as? String
            if cursor != nil { XCTAssertEqual(page.count, limit, "only the last page is short") }
        } while cursor != nil && pages < 100
        return (items, pages)
    }

    func testFramesInPages() async throws {
        let f = try await ServerFixture.shared.value
        let server = try f.server { $0.limits.maxPageFrames = 5 }
        try await withClient(server) { client in
            let base = "/v1/videos/\(f.videoA)/frames?x=1"
            let (frames, pages) = try await Self.walk(client, base, "frames", limit: 3)
            XCTAssertEqual(pages, 3)
            XCTAssertEqual(frames.map { $0["index"] as? Int ?? -1 }, Array(0..<8))
            XCTAssertEqual(frames.map { $0["kind"] as? String ?? "" }, ["I", "P", "P", "I", "P", "P", "I", "P"])
            // Without limit: the default (and largest) page.
            let first = try await client.execute(uri: "/v1/videos/\(f.videoA)/frames", method: .get)
            XCTAssertEqual((first.json["frames"] as? [Any])?.count, 5)
            XCTAssertEqual(first.json["next_cursor"] as? String, "4")
            let last = try await client.execute(uri: "/v1/videos/\(f.videoA)/frames?cursor=4", method: .get)
            XCTAssertEqual((last.json["frames"] as? [[String: Any]])?.map { $0["index"] as? Int ?? -1 }, [5, 6, 7])
            XCTAssertNil(last.json["next_cursor"])
            let past = try await client.execute(uri: "/v1/videos/\(f.videoA)/frames?cursor=99", method: .get)
            XCTAssertEqual((past.json["frames"] as? [Any])?.count, 0)
            for bad in ["limit=0", "limit=6", "limit=x", "cursor=-1", "cursor=abc", "cursor=99999999999999999999"] {
                assertError(
                    try await client.execute(uri: "/v1/videos/\(f.videoA)/frames?\(bad)", method: .get), 400,
                    "bad_parameter")
            }
        }
        // The default page holds a short video whole, as before pages.
        try await withClient(try f.server()) { client in
            let r = try await client.execute(uri: "/v1/videos/\(f.videoA)/frames", method: .get)
            XCTAssertEqual((r.json["frames"] as? [Any])?.count, 8)
            XCTAssertNil(r.json["next_cursor"])
        }
    }

    func testVideosInPages() async throws {
        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            let all = try await client.execute(uri: "/v1/videos", method: .get)
            XCTAssertNil(all.json["next_cursor"], "a small library fits the default page")
            let ids = (all.json["videos"] as? [[String: Any]] ?? []).map { $0["id"] as? Int ?? -1 }
            XCTAssertEqual(ids, ids.sorted(), "by id")
            let (paged, pages) = try await Self.walk(client, "/v1/videos?status=ready", "videos", limit: 1)
            XCTAssertEqual(paged.map { $0["id"] as? Int ?? -1 }, ids)
            XCTAssertEqual(pages, ids.count)
            assertError(try await client.execute(uri: "/v1/videos?limit=1001", method: .get), 400, "bad_parameter")
            assertError(try await client.execute(uri: "/v1/videos?cursor=x", method: .get), 400, "bad_parameter")
        }
    }
}
