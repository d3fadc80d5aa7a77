import Foundation
import ResidualStore
import TestSupport
import Timeline
import XCTest

/// Curves and embeddings of [from, to] read only the chunks of that range: a damaged chunk
/// elsewhere in the video does not stop them (before, the whole video was read and decoded),
/// and a window's frames are the same as the whole video's.
final class CurveRangeTests: XCTestCase {
    func testCurveAndEmbeddingsReadOnlyTheAskedRange() async throws {
        let dir = try TempDirectory.make("curve-range")
        defer { TempDirectory.remove(dir) }
        let video = dir.appendingPathComponent("a.mp4")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "8", "-c:v", "libx264", "-g", "10",
            "-pix_fmt", "yuv420p", video.path,
        ])
        var config = Library.Configuration()
        config.recipe.chunkFrames = 3  // chunks [0-2] [3-5] [6-8] [9-11] [12-14] [15]
        config.recipe.iframes = .fixed
        config.frameTierBytes = 0
        let store = dir.appendingPathComponent("store.rstore")
        let library = try Library(store: store, model: try TinyCLIP.model.get(), configuration: config)
        _ = try await library.index([video])
        let v = try library.video(video.path)
        XCTAssertEqual(v.frameCount, 16)
        let early = try library.similarityCurve(v, text: "bars", from: 0, to: 1.5)
        XCTAssertEqual(early.map(\.index), [0, 3])
        XCTAssertEqual(try library.similarityCurve(v, text: "bars", from: 3, to: 3).map(\.index), [6])
        XCTAssertEqual(
            try library.similarityCurve(v, text: "bars", from: 0, to: 1e300).map(\.index), [0, 3, 6, 9, 12, 15])
        XCTAssertEqual(try library.similarityCurve(v, text: "bars", from: 9, to: 10).map(\.index), [])
        // A window (frames 4-6 and their anchor 3) gives the whole video's frames.
        let whole = try library.embeddings(v, from: 0, to: 100)
        let part = try library.embeddings(v, from: 2, to: 3)
        XCTAssertEqual(part.map(\.index), [4, 5, 6])
        XCTAssertEqual(part.map(\.time), whole[4...6].map(\.time))
        XCTAssertEqual(part.map(\.vector), whole[4...6].map(\.vector))
        let denseEarly = try library.similarityCurve(v, text: "bars", from: 2, to: 3, dense: true)

        // Chunk [12-14]'s offsets cut short: only a read of that chunk can notice.
        let r = try ExternalCommand.capture(
            URL(fileURLWithPath: "/usr/bin/env"),
            [
                "sqlite3", "-cmd", ".timeout 20000", store.path,
                "UPDATE chunks SET offsets = substr(offsets, 1, 6) WHERE video_id = \(v.id!) AND first_frame = 12",
            ])
        XCTAssertEqual(r.status, 0, String(decoding: r.stderr, as: UTF8.self))
        XCTAssertEqual(try library.similarityCurve(v, text: "bars", from: 0, to: 1.5), early)
        XCTAssertEqual(try library.embeddings(v, from: 2, to: 3).map(\.vector), part.map(\.vector))
        XCTAssertEqual(try library.similarityCurve(v, text: "bars", from: 2, to: 3, dense: true), denseEarly)
        XCTAssertThrowsError(try library.similarityCurve(v, text: "bars", from: 6, to: 7))
        XCTAssertThrowsError(try library.embeddings(v, from: 6, to: 7))
    }
}
