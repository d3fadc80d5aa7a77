import CLIP
import Foundation
import Hummingbird
import HummingbirdTesting
import ResidualStore
import Server
import TestSupport
import XCTest

/// A file replaced after indexing: its media, thumbnails and embeddings are refused (409
/// `stale`), and the video's JSON shows damage concealed at ingest.
final class StaleMediaTests: XCTestCase {
    func testReplacedFileIsRefusedAndDamageIsShown() async throws {
        let dir = try TempDirectory.make("stale")
        defer { TempDirectory.remove(dir) }
        let video = dir.appendingPathComponent("a.mp4")
        let cut = dir.appendingPathComponent("cut.mp4")
        for url in [video, cut] {
            try ExternalCommand.ffmpeg([
                "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "4", "-c:v", "libx264", "-g", "10",
                "-movflags", "+faststart", "-pix_fmt", "yuv420p", url.path,
            ])
        }
        let whole = try Data(contentsOf: cut)
        try whole.prefix(whole.count / 2).write(to: cut)
        let model = try TinyCLIP.model.get()
        let library = try Library(store: dir.appendingPathComponent("store.rstore"), model: model)
        let summary = try await library.index([video, cut])
        XCTAssertEqual(summary.indexed, 2)
        let id = try library.video(video.path).id!
        let cutID = try library.video(cut.path).id!
        let server = try RStoreServer(
            library: library, configuration: ServerConfiguration(token: nil, libraryRoots: [dir]))
        try await withClient(server) { client in
            let before = try await client.execute(uri: "/v1/videos/\(id)/media", method: .get)
            XCTAssertEqual(before.status, .ok)
            let detail = try await client.execute(uri: "/v1/videos/\(cutID)", method: .get)
            let damage = (detail.json["video"] as? [String: Any] ?? detail.json)["damage"] as? [String: Any]
            XCTAssertNotNil(damage?["truncated_at"], detail.text)

            try Data("not the indexed video any more".utf8).write(to: video)
            assertError(try await client.execute(uri: "/v1/videos/\(id)/media", method: .get), 409, "stale")
            assertError(try await client.execute(uri: "/v1/videos/\(id)/frames/1.jpg", method: .get), 409, "stale")
            assertError(
                try await client.execute(uri: "/v1/videos/\(id)/embeddings?from=0&to=2", method: .get), 409, "stale")
            try FileManager.default.removeItem(at: video)
            assertError(try await client.execute(uri: "/v1/videos/\(id)/media", method: .get), 404, "file_missing")
        }
    }
}
