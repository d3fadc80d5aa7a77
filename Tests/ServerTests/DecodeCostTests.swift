import Foundation
import HummingbirdTesting
import ResidualStore
import Server
import TestSupport
import Video
import XCTest

/// Decoding is charged by what the decoder really outputs: from the seek keyframe to the
/// wanted frame, each frame weighted by its pixels (720p frames, `DecodeCost`), as it goes.
final class DecodeCostTests: XCTestCase {
    /// 10 s at 25 fps, one keyframe (GOP 250, no B-frames: every frame is a reference), at
    /// 320x240 (1/12 of a 720p frame) and at twice that size (1/3).
    struct LongGOP {
        let dir: URL
        let library: Library
        let small: Library.StoredVideo
        let large: Library.StoredVideo
    }

    static let fixture = Task { try await makeFixture() }

    static func makeFixture() async throws -> LongGOP {
        let dir = try TempDirectory.make("decode-cost")
        for (name, size) in [("small", "320x240"), ("large", "640x480")] {
            try ExternalCommand.ffmpeg([
                "-f", "lavfi", "-i", "testsrc2=size=\(size):rate=25", "-t", "10", "-c:v", "libx264",
                "-g", "250", "-bf", "0", "-pix_fmt", "yuv420p", dir.appendingPathComponent("\(name).mp4").path,
            ])
        }
        var config = Library.Configuration()
        config.frameTierBytes = 0  // every P-frame input comes from decoding the file
        let library = try Library(
            store: dir.appendingPathComponent("store.rstore"), model: TinyCLIP.model.get(), configuration: config)
        _ = try await library.index([dir.appendingPathComponent("small.mp4"), dir.appendingPathComponent("large.mp4")])
        return LongGOP(
            dir: dir, library: library, small: try library.video(dir.appendingPathComponent("small.mp4").path),
            large: try library.video(dir.appendingPathComponent("large.mp4").path))
    }

    /// The last sampled frame (9.5 s, source frame 237) decodes the whole GOP before it; twice
    /// the size costs four times as much for the same request.
    func testChargeFollowsKeyframeDistanceAndResolution() async throws {
        let f = try await Self.fixture.value
        XCTAssertEqual(f.small.frameCount, 20)
        let first = QueryControl()
        _ = try f.library.frameImage(f.small, index: 0, control: first)
        XCTAssertLessThanOrEqual(first.usage.decodedFrames, 2, "frame 0 is the keyframe")
        let last = QueryControl()
        _ = try f.library.frameImage(f.small, index: 19, control: last)
        XCTAssertTrue((238...240).contains(last.usage.decodedFrames), "decoded \(last.usage.decodedFrames) frames")
        XCTAssertEqual(last.usage.decodeCost, Double(last.usage.decodedFrames) / 12, accuracy: 1e-9)
        let large = QueryControl()
        _ = try f.library.frameImage(f.large, index: 19, control: large)
        XCTAssertEqual(large.usage.decodedFrames, last.usage.decodedFrames)
        XCTAssertEqual(large.usage.decodeCost, 4 * last.usage.decodeCost, accuracy: 1e-9)
    }

    /// Over the budget, decoding stops mid-way: the meter refuses the frame that passes it.
    func testDecodeStopsAtTheBudget() async throws {
        let f = try await Self.fixture.value
        let c = QueryControl(limits: .init(maxDecodedFrames: 5))
        XCTAssertThrowsError(try f.library.frameImage(f.small, index: 19, control: c)) { e in
            guard case .overBudget(.decoding, _, let limit) = e as? QueryError else { return XCTFail("\(e)") }
            XCTAssertEqual(limit, 5)
        }
        XCTAssertEqual(c.usage.decodedFrames, 60, "5 720p frames are 60 frames of 320x240; the 61st was refused")
    }

    /// A search whose stage 2 would decode past the budget answers coarse moments (flagged),
    /// as past the P-frame budget, instead of failing.
    func testSearchPastTheDecodingBudgetStaysCoarse() async throws {
        let f = try await Self.fixture.value
        let tight = QueryControl(limits: .init(maxDecodedFrames: 0.5))
        let coarse = try f.library.searchReport("a test pattern", k: 2, control: tight)
        XCTAssertFalse(coarse.moments.isEmpty)
        XCTAssertFalse(coarse.refined)
        XCTAssertLessThanOrEqual(tight.usage.decodeCost, 0.5)
        let full = QueryControl()
        let refined = try f.library.searchReport("a test pattern", k: 2, control: full)
        XCTAssertTrue(refined.refined)
        XCTAssertGreaterThan(full.usage.decodeCost, 0.5, "refining needed that decoding")
    }

    /// Thumbnails and ranges that were one sampled frame each are refused by what they decode,
    /// with the error naming the option; the same request on the small video, or nearer the
    /// keyframe on the large one, still answers.
    func testServerRefusesByDecodedFrames() async throws {
        let f = try await Self.fixture.value
        var config = ServerConfiguration(token: nil, libraryRoots: [f.dir])
        config.limits.maxDecodedFrames = 15
        let server = try RStoreServer(library: f.library, configuration: config)
        let (small, large) = (f.small.id!, f.large.id!)
        try await withClient(server) { client in
            // Frame 10 (5 s): ~126 frames decoded, 10.5 720p frames at 320x240, 42 at 640x480.
            let ok = try await client.execute(uri: "/v1/videos/\(small)/frames/10.jpg", method: .get)
            XCTAssertEqual(ok.status, .ok, ok.text)
            let big = try await client.execute(uri: "/v1/videos/\(large)/frames/10.jpg", method: .get)
            assertError(big, 400, "over_limit")
            XCTAssertTrue(big.errorMessage?.contains("--max-decoded-frames") ?? false, big.text)
            XCTAssertTrue(big.errorMessage?.contains("limit of 15 per query") ?? false, big.text)
            let near = try await client.execute(uri: "/v1/videos/\(large)/frames/2.jpg", method: .get)
            XCTAssertEqual(near.status, .ok, near.text)
            // Frame 19 of the small video: one sampled frame, ~238 decoded (19.8 720p frames).
            assertError(
                try await client.execute(uri: "/v1/videos/\(small)/frames/19.jpg", method: .get), 400, "over_limit")
            // A range of two sampled frames (one P-frame) passes the estimate, then its decode
            // from the keyframe stops at the budget.
            let range = try await client.execute(uri: "/v1/videos/\(small)/embeddings?from=9&to=9.5", method: .get)
            assertError(range, 400, "over_limit")
            XCTAssertTrue(range.errorMessage?.contains("--max-decoded-frames") ?? false, range.text)
            let early = try await client.execute(uri: "/v1/videos/\(small)/embeddings?from=0&to=2", method: .get)
            XCTAssertEqual((early.json["frames"] as? [Any])?.count, 5, early.text)
        }
    }
}
