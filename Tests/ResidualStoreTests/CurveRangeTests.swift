import Foundation
import ResidualStore
import Timeline
import TestSupport
import XCTest

/// The I-frame similarity curve of [from, to] reads only the chunks of that range: a damaged
/// chunk elsewhere in the video does not stop it (before, the whole video was read and decoded).
final class CurveRangeTests: XCTestCase {
    func testCurveReadsOnlyTheAskedRange() async throws {
        let dir = try TempDirectory.make("curve-range")
        defer { TempDirectory.remove(dir) }
        let video = dir.appendingPathComponent("a.mp4")
        try ExternalCommand.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "4", "-c:v", "libx264", "-g", "10",
                                    "-pix_fmt", "yuv420p", video.path])
        var config = Library.Configuration()
        config.chunkFrames = 3   // chunks [0, 1, 2] [3, 4, 5] [6, 7]
        config.iframes = .fixed
        let store = dir.appendingPathComponent("store.rstore")
        let library = try Library(store: store, model: try TinyCLIP.model.get(), configuration: config)
        _ = try await library.index([video])
        let v = try library.video(video.path)
        XCTAssertEqual(v.frameCount, 8)
        let whole = try library.similarityCurve(v, text: "bars", from: 0, to: 1.5)
        XCTAssertEqual(whole.map(\.index), [0, 3])
        XCTAssertEqual(try library.similarityCurve(v, text: "bars", from: 3, to: 3).map(\.index), [6])
        XCTAssertEqual(try library.similarityCurve(v, text: "bars", from: 0, to: 1e300).map(\.index), [0, 3, 6])
        XCTAssertEqual(try library.similarityCurve(v, text: "bars", from: 9, to: 10).map(\.index), [])

        // The last chunk's offsets cut short: only a read of that chunk can notice.
        let r = try ExternalCommand.capture(URL(fileURLWithPath: "/usr/bin/env"), ["sqlite3", "-cmd", ".timeout 20000", store.path,
            "UPDATE chunks SET offsets = substr(offsets, 1, 6) WHERE video_id = \(v.id!) AND first_frame = 6"])
        XCTAssertEqual(r.status, 0, String(decoding: r.stderr, as: UTF8.self))
        let early = try library.similarityCurve(v, text: "bars", from: 0, to: 1.5)
        XCTAssertEqual(early, whole)
        XCTAssertThrowsError(try library.similarityCurve(v, text: "bars", from: 3, to: 4))
    }
}
