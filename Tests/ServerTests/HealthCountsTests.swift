import CLIP
import Foundation
import Hummingbird
import HummingbirdTesting
import ResidualStore
import Server
import TestSupport
import XCTest

/// `/healthz` answers from counts held in memory, refreshed in the background: a video
/// indexed after the server started shows up without any request waiting for a listing.
final class HealthCountsTests: XCTestCase {
    func testCountsFollowTheStoreInTheBackground() async throws {
        let dir = try TempDirectory.make("health")
        defer { TempDirectory.remove(dir) }
        let enc = ["-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p"]
        for (i, src) in ["testsrc2", "smptebars"].enumerated() {
            try ExternalCommand.ffmpeg(
                ["-f", "lavfi", "-i", "\(src)=size=160x120:rate=10", "-t", "2"] + enc + [
                    dir.appendingPathComponent("v\(i).mp4").path
                ])
        }
        let library = try Library(store: dir.appendingPathComponent("s.rstore"), model: try TinyCLIP.model.get())
        _ = try await library.index([dir.appendingPathComponent("v0.mp4")])
        var c = ServerConfiguration()
        c.countsRefresh = 0.1
        let server = try RStoreServer(library: library, configuration: c)
        try await withClient(server) { client in
            let first = try await client.execute(uri: "/healthz", method: .get)
            XCTAssertEqual(first.json["videos"] as? Int, 1)
            XCTAssertEqual(first.json["ready_videos"] as? Int, 1)
            XCTAssertNotNil(first.json["counts_age_seconds"])
            _ = try await library.index([dir.appendingPathComponent("v1.mp4")])
            var ready = 0
            for _ in 0..<100 where ready != 2 {
                try await Task.sleep(for: .milliseconds(100))
                ready = try await client.execute(uri: "/healthz", method: .get).json["ready_videos"] as? Int ?? -1
            }
            XCTAssertEqual(ready, 2, "the background refresh saw the new video")
        }
    }
}
