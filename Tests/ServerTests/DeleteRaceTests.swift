import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import ResidualStore
import Server
import TestSupport
import XCTest

/// A delete racing searches and an ingest of the same video ends clean: searches answer 200
/// with the old version's moments or without the video, "more like this" on it answers
/// 200, 404 or 409, a delete of a version still being indexed is a 409 `being_indexed`, and
/// nothing answers 500 or traps.
final class DeleteRaceTests: XCTestCase {
    func testDeleteRacingSearchesAndAnIngestOfThatVideoEndsClean() async throws {
        let fixture = try await ServerFixture.shared.value
        let dir = try TempDirectory.make("delete-race")
        defer { TempDirectory.remove(dir) }
        let (library, _, a, b) = try await fixture.privateLibrary(in: dir)
        let fileA = dir.appendingPathComponent("a.mp4")
        let token = ServerFixture.token
        let server = try RStoreServer(
            library: library, configuration: ServerConfiguration(token: token, libraryRoots: []))
        try await withClient(server) { client in
            let auth = bearer(token)
            var json = auth
            json[.contentType] = "application/json"

            // Searches (GET and a like-query on A) in a loop while A is deleted, re-indexed, and
            // deleted while its new version is being indexed.
            async let searches: [(Int, String)] = {
                var out: [(Int, String)] = []
                for i in 0..<16 {
                    let r =
                        i % 2 == 0
                        ? try await client.execute(uri: "/v1/search?q=test+pattern&k=5", method: .get, headers: auth)
                        : try await client.execute(
                            uri: "/v1/search", method: .post, headers: json,
                            body: ByteBuffer(string: "{\"like\": {\"video_id\": \(a), \"time\": 1.0}, \"k\": 5}"))
                    out.append((Int(r.status.code), r.text))
                }
                return out
            }()
            async let churn: (deletes: [Int], reindexed: Int, deleteDuringIngest: [Int]) = {
                let first = try await client.execute(uri: "/v1/videos/\(a)", method: .delete, headers: auth)
                // Re-index A while trying to delete the row being written: 409 while its lease lives.
                let ingest = Task { try await library.index([fileA]) }
                var during: [Int] = []
                for _ in 0..<200 {
                    if let row = try library.videos().first(where: { $0.path == fileA.path && $0.status == .indexing })
                    {
                        during.append(
                            Int(
                                try await client.execute(uri: "/v1/videos/\(row.id!)", method: .delete, headers: auth)
                                    .status.code))
                        break
                    }
                    if try library.videos().contains(where: { $0.path == fileA.path && $0.status == .ready }) { break }
                    try await Task.sleep(nanoseconds: 2_000_000)
                }
                let summary = try await ingest.value
                return ([Int(first.status.code)], summary.indexed, during)
            }()
            let (results, changes) = try await (searches, churn)

            XCTAssertEqual(changes.deletes, [204])
            XCTAssertEqual(changes.reindexed, 1, "the ingest finished: a delete never cuts it short")
            print("delete of the version being indexed answered \(changes.deleteDuringIngest)")
            XCTAssertTrue(
                changes.deleteDuringIngest.allSatisfy { [409, 204, 404].contains($0) }, "\(changes.deleteDuringIngest)")
            let newA = try XCTUnwrap(try library.videos(status: .ready).first { $0.path == fileA.path }?.id)
            XCTAssertNotEqual(newA, a)
            for (i, (status, body)) in results.enumerated() {
                if i % 2 == 0 {
                    XCTAssertEqual(status, 200, body)
                    let ids = Set(
                        ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any])?["moments"]
                            .flatMap { $0 as? [[String: Any]] }?.compactMap {
                                ($0["video_id"] as? NSNumber)?.int64Value
                            } ?? [])
                    XCTAssertTrue(ids.isSubset(of: [a, b, newA]), "\(ids)")
                } else {
                    XCTAssertTrue([200, 404, 409].contains(status), "like on a deleted video: \(status) \(body)")
                }
            }
            // After the churn the library answers as it should: B untouched, A's new version searchable.
            let after = try await client.execute(uri: "/v1/search?q=test+pattern&k=5", method: .get, headers: auth)
            XCTAssertEqual(after.status, .ok, after.text)
            XCTAssertFalse(after.text.contains("\"videoID\":\(a),"), after.text)
            let other = try await client.execute(uri: "/v1/videos/\(b)", method: .get, headers: auth)
            XCTAssertEqual(other.status, .ok)
            let fresh = try await client.execute(
                uri: "/v1/videos/\(newA)/embeddings?from=0&to=2", method: .get, headers: auth)
            XCTAssertEqual(fresh.status, .ok, fresh.text)
        }
    }
}
