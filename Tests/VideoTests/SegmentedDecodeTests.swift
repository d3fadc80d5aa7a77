import Foundation
import TestSupport
import XCTest

@testable import Video

/// A motion pass decoded as keyframe-bounded segments on several threads hands on exactly what
/// one pass does: the same offsets, the same decoded pixels and the same codec motion per sample,
/// with closed and open GOPs, and when a segment edge is wrong (it then starts over).
final class SegmentedDecodeTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TempDirectory.make("segments") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// H.264 with B-frames, a keyframe every 2 s, moving content.
    func clip(_ name: String, openGOP: Bool) throws -> URL {
        var codec = [
            "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "50", "-keyint_min", "50",
            "-sc_threshold", "0", "-pix_fmt", "yuv420p",
        ]
        if openGOP { codec += ["-x264-params", "open-gop=1"] }
        return try DecodeTestSupport.makeVideo(
            dir, name, source: "testsrc2=size=320x240:rate=25", seconds: 21, codec: codec)
    }

    struct Sample: Equatable {
        let offset: FrameOffset
        let pixels: [UInt8]
        let motion: PatchMotion?
    }

    func onePass(_ url: URL, grid: MotionGrid) throws -> [Sample] {
        var out: [Sample] = []
        try VideoReader(url: url).forEachFrame(fps: 2, motion: grid) {
            out.append(Sample(offset: $0.offset, pixels: $0.image.pixels, motion: $0.motion))
        }
        return out
    }

    func segmented(_ url: URL, grid: MotionGrid, starts: [Int64]? = nil, workers: Int = 2) async throws -> (
        samples: [Sample], starts: [Int64]
    ) {
        let reader = try VideoReader(url: url)
        let cuts = starts ?? reader.segmentStarts(fps: 2, minSeconds: 4)
        var out: [Sample] = []
        for try await f in reader.segmentedFrames(
            fps: 2, starts: cuts, workers: workers, bufferSize: 4, convertIf: nil, motion: grid, meter: nil)
        {
            out.append(Sample(offset: f.offset, pixels: f.image.pixels, motion: f.motion))
        }
        return (out, cuts)
    }

    func assertSame(_ a: [Sample], _ b: [Sample], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, "\(what): sample count", file: file, line: line)
        for (x, y) in zip(a, b) where x != y {
            XCTFail(
                """
                \(what): sample \(x.offset.index) differs (offset \(x.offset == y.offset), pixels \
                \(x.pixels == y.pixels), motion \(x.motion == y.motion))
                """,
                file: file, line: line)
            return
        }
    }

    func testSegmentsGiveTheFramesAndMotionOfOnePass() async throws {
        let grid = MotionGrid(imageSize: 224, grid: 7)
        for openGOP in [false, true] {
            let url = try clip(openGOP ? "open.mp4" : "closed.mp4", openGOP: openGOP)
            let reference = try onePass(url, grid: grid)
            XCTAssertEqual(reference.count, 42)
            XCTAssertGreaterThan(
                reference.filter { ($0.motion?.vectors ?? 0) > 0 }.count, 30, "moving content has codec motion")
            for workers in [1, 2, 3] {
                let (samples, starts) = try await segmented(url, grid: grid, workers: workers)
                XCTAssertGreaterThanOrEqual(
                    starts.count, 3, "a 21 s clip with a keyframe every 2 s splits at least three times at 4 s")
                assertSame(samples, reference, "open GOP \(openGOP), \(workers) workers")
            }
        }
    }

    func testAWrongSegmentEdgeStartsOverAndStillMatches() async throws {
        let grid = MotionGrid(imageSize: 224, grid: 7)
        let url = try clip("edge.mp4", openGOP: false)
        let reference = try onePass(url, grid: grid)
        let good = try VideoReader(url: url).segmentStarts(fps: 2, minSeconds: 4)
        XCTAssertFalse(good.isEmpty)
        // 5 s is no keyframe (they fall every 2 s): seeking there does not reproduce a full decode.
        let notKey = reference.first { $0.offset.time >= 5 }!.offset.pts
        XCTAssertFalse(reference.contains { $0.offset.seekPTS == notKey })
        let (samples, _) = try await segmented(url, grid: grid, starts: [good[0], notKey].sorted())
        assertSame(samples, reference, "restarted after a wrong edge")
        // An edge past the end of the data: the segment before never reaches it.
        let (late, _) = try await segmented(url, grid: grid, starts: [good[0], reference.last!.offset.pts * 4])
        assertSame(late, reference, "edge past the end")
    }

    func testAShortClipIsNotSplit() throws {
        let url = try DecodeTestSupport.makeVideo(
            dir, "short.mp4", source: "testsrc2=size=160x120:rate=25", seconds: 3,
            codec: ["-c:v", "libx264", "-g", "25", "-pix_fmt", "yuv420p"])
        XCTAssertEqual(try VideoReader(url: url).segmentStarts(fps: 2), [], "segments are at least 10 s by default")
    }
}
