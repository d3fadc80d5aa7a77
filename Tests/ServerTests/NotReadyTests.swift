import CLIP
import Foundation
import HummingbirdTesting
import ResidualStore
import Server
import Store
import TestSupport
import XCTest

/// A video still indexing (chunks committed, never finished: what a crashed or running indexer
/// leaves) answers 409 `not_ready` on every query route, before its range is weighed against
/// the request's budget: its frame count is still growing, so "too large" would be a guess.
final class NotReadyTests: XCTestCase {
    func testIndexingVideoIsNotReadyBeforeOverLimit() async throws {
        let dir = try TempDirectory.make("notready")
        defer { TempDirectory.remove(dir) }
        let video = dir.appendingPathComponent("a.mp4")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "4", "-c:v", "libx264", "-g", "10",
            "-pix_fmt", "yuv420p", video.path,
        ])
        let storeURL = dir.appendingPathComponent("store.rstore")
        let library = try Library(store: storeURL, model: try TinyCLIP.model.get())
        let indexed = try await library.index([video])
        XCTAssertEqual(indexed.indexed, 1)

        // A second path's ingest, begun and 9 frames committed through the store's own API.
        let store = try SQLiteStore(url: storeURL, readOnly: false)
        let model = try XCTUnwrap(try store.model())
        var record = try library.video(video.path)
        record.path = dir.appendingPathComponent("growing.mp4").path
        record.id = nil
        guard case .resume(let row) = try store.begin(record, model: model), let id = row.id else {
            return XCTFail("expected a new row")
        }
        let offsets = (0..<9).map { FrameOffsetRecord(index: $0, pts: Int64($0) * 5, time: Double($0) / 2, seekPTS: 0) }
        let iFeatures = [0, 3, 6].map { (index: $0, vector: [Float](repeating: 0.1, count: model.embedDim)) }
        try store.append(video: id, offsets: offsets, iFeatures: iFeatures)

        let server = try RStoreServer(
            library: library,
            configuration: {
                var c = ServerConfiguration(token: nil, libraryRoots: [dir])
                c.limits.maxPFrames = 2
                c.limits.maxDecodedFrames = 2
                return c
            }())
        try await withClient(server) { client in
            for uri in [
                "/v1/videos/\(id)/embeddings?from=0&to=4", "/v1/videos/\(id)/ground?q=a",
                "/v1/videos/\(id)/curve?q=a&dense=true",
            ] {
                assertError(try await client.execute(uri: uri, method: .get), 409, "not_ready")
            }
            // The ready video over the same budget is still refused for its size.
            let ready = try XCTUnwrap(try library.video(video.path).id)
            assertError(
                try await client.execute(uri: "/v1/videos/\(ready)/embeddings?from=0&to=4", method: .get), 400,
                "over_limit")
        }
        let after = try XCTUnwrap(try store.video(path: record.path))
        XCTAssertEqual(after.status, .indexing, "a refused query leaves the row as it was")
        XCTAssertEqual(after.frameCount, 9)
    }
}
