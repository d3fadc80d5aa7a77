import CLIP
import Foundation
import TestSupport
import XCTest

@testable import Video

/// Codec motion vectors as the motion strategy's signal: the sequential (ingest) pass and
/// seek-and-decode (lazy reconstruction) measure the same per-patch motion, so they keep the
/// same patches; intra-only streams give none (the pixel difference is the fallback).
final class MotionVectorTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TempDirectory.make("motion") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// H.264 with B-frames (2 between references, pyramid), a keyframe every 2 s and none in
    /// between (no scene-cut keyframes), moving content.
    func bFrameClip() throws -> URL {
        try DecodeTestSupport.makeVideo(
            dir, "bframes.mp4", source: "testsrc2=size=320x240:rate=25", seconds: 7,
            codec: [
                "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "50",
                "-keyint_min", "50", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
            ])
    }

    /// Picture types in presentation order, from the ffprobe CLI.
    func pictureTypes(_ url: URL) throws -> [String] {
        guard let ff = ExternalCommand.ffmpegPath else { throw XCTSkip("ffmpeg CLI not found") }
        let probe = URL(fileURLWithPath: ff).deletingLastPathComponent().appendingPathComponent("ffprobe").path
        let out = try ExternalCommand.run(
            probe,
            [
                "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pict_type",
                "-of", "csv=p=0", url.path,
            ])
        return String(decoding: out, as: UTF8.self).split(separator: "\n").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    /// Every P-frame's span motion from the sequential pass: sum of the deltas after its anchor.
    func sequentialScores(_ url: URL, fps: Double, n: Int, grid: MotionGrid) throws -> (
        offsets: [FrameOffset], scores: [Int: [Float]?]
    ) {
        let reader = try VideoReader(url: url)
        var offsets: [FrameOffset] = []
        var deltas: [PatchMotion] = []
        try reader.forEachFrame(fps: fps, motion: grid) { f in
            offsets.append(f.offset)
            deltas.append(try XCTUnwrap(f.motion))
        }
        var scores: [Int: [Float]?] = [:]
        for k in offsets.indices where k % (n + 1) != 0 {
            let a = k - k % (n + 1)
            scores[k] = PatchMotion.span(deltas[(a + 1)...k])
        }
        return (offsets, scores)
    }

    func testIngestOrderAndSeekAndDecodeGiveIdenticalScoresOnBFrames() async throws {
        let url = try bFrameClip()
        let types = try pictureTypes(url)
        XCTAssertTrue(types.contains("B"), "the clip must have B-frames: \(types.prefix(20))")
        let n = 2
        let fps = 2.0
        for g in [7, 14, 16] {  // B/32, B/16, L/14 at 224
            let grid = MotionGrid(imageSize: 224, grid: g)
            let (offsets, sequential) = try sequentialScores(url, fps: fps, n: n, grid: grid)
            XCTAssertEqual(offsets.count, 14)
            // Anchor 3 (1.5 s) is not on a keyframe, and its P-frames' spans cross the one at 2 s.
            XCTAssertLessThan(offsets[3].seekPTS, offsets[3].pts)
            XCTAssertGreaterThan(offsets[4].seekPTS, offsets[3].pts)

            // Seek-and-decode: every anchor's span at once, and each P-frame alone, in reverse.
            let reader = try VideoReader(url: url)
            let anchors = Array(stride(from: 0, to: offsets.count, by: n + 1))
            let spans = anchors.map { a in Array(offsets[a...min(offsets.count - 1, a + n)]) }
            let deltas = try reader.motionDeltas(spans: spans, grid: grid)
            let reduction = try TokenReduction(p: 0.85, strategy: .motion)
            var nonEmpty = 0
            for (a, d) in zip(anchors, deltas) {
                for k in (a + 1)..<(a + 1 + d.count) {
                    let random = PatchMotion.span(d[0..<(k - a)])
                    let seq = try XCTUnwrap(sequential[k])
                    XCTAssertEqual(random, seq, "grid \(g), frame \(k): identical scores")
                    XCTAssertEqual(
                        reduction.select(grid: g, patchSize: 224 / g, frameIndex: k, motion: random),
                        reduction.select(grid: g, patchSize: 224 / g, frameIndex: k, motion: seq))
                    if let s = seq, s.contains(where: { $0 > 0 }) { nonEmpty += 1 }
                }
            }
            XCTAssertGreaterThanOrEqual(nonEmpty, 8, "grid \(g): most P-frames have codec motion")
            for k in (1..<offsets.count).reversed() where k % (n + 1) != 0 {
                let a = k - k % (n + 1)
                let alone = try reader.motionDeltas(spans: [Array(offsets[a...k])], grid: grid)[0]
                XCTAssertEqual(PatchMotion.span(alone[...]), sequential[k]!, "grid \(g), frame \(k) decoded alone")
            }
        }
    }

    /// Stage 2 of a `.vectors` video: the pixels and the motion of a request from one decode
    /// per GOP give what the two separate passes give (pixels byte-identical, motion
    /// bit-identical to ingest's), and the decoder outputs fewer frames than the two did.
    func testOneDecodePerGOPGivesThePixelsAndMotionOfTwoPasses() throws {
        let url = try bFrameClip()
        let grid = MotionGrid(imageSize: 224, grid: 7)
        let n = 2
        let (offsets, sequential) = try sequentialScores(url, fps: 2, n: n, grid: grid)
        // Two anchors in the first GOP (0 s, 1.5 s: its span crosses the keyframe at 2 s), one in
        // the third (4.5 s); the pixels of their P-frames and anchors.
        let anchors = [0, 3, 9]
        let spans = anchors.map { a in Array(offsets[a...(a + n)]) }
        let wanted = anchors.flatMap { a in (a...(a + n)).map { offsets[$0] } }
        var separate = 0
        let meterSeparate: DecodeMeter = { _, _ in separate += 1 }
        let pixels = try VideoReader(url: url).decode(offsets: wanted, meter: meterSeparate) { $0 }
        let motion = try VideoReader(url: url).motionDeltas(spans: spans, grid: grid)
        var combined = 0
        let meterCombined: DecodeMeter = { _, _ in combined += 1 }
        let both = try VideoReader(url: url).decode(
            offsets: wanted, motionSpans: spans, grid: grid, meter: meterCombined
        ) { $0 }
        XCTAssertEqual(both.pixels.map(\.pixels), pixels.map(\.pixels), "pixels byte-identical")
        XCTAssertEqual(both.motion, motion)
        for (a, d) in zip(anchors, both.motion) {
            for k in (a + 1)...(a + n) {
                XCTAssertEqual(PatchMotion.span(d[0..<(k - a)]), sequential[k]!, "frame \(k): ingest's scores")
            }
        }
        // The separate pixel decode is not metered for motion: its frames alone already reach
        // the GOPs' anchors; the combined decode adds only the unsampled frames of the spans.
        XCTAssertGreaterThan(combined, 0)
        var motionOnly = 0
        _ = try VideoReader(url: url).decode(
            offsets: [], motionSpans: spans, grid: grid, meter: { _, _ in motionOnly += 1 }
        ) { $0 }
        XCTAssertEqual(combined, motionOnly, "the pixels ride along with the motion decode")
        XCTAssertLessThan(combined, separate + motionOnly, "one decode instead of two")
        // A meter that throws stops the decode there, with its error.
        struct Stop: Error {}
        XCTAssertThrowsError(
            try VideoReader(url: url).decode(
                offsets: wanted, motionSpans: spans, grid: grid, meter: { _, _ in throw Stop() }
            ) {
                $0
            }
        ) { XCTAssertTrue($0 is Stop) }
    }

    func testMotionIsWhereThePictureMoves() throws {
        // A still background with a box moving right across the top-left quadrant only.
        let url = try DecodeTestSupport.makeVideo(
            dir, "box.mp4", source: "color=c=gray:size=320x240:rate=25", seconds: 3,
            codec: ["-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-pix_fmt", "yuv420p"],
            extra: ["-vf", "drawbox=x='10+t*30':y=20:w=40:h=40:color=white:t=fill"])
        let grid = MotionGrid(imageSize: 224, grid: 7)
        let (_, scores) = try sequentialScores(url, fps: 2, n: 2, grid: grid)
        let s = try XCTUnwrap(scores[1] ?? nil)
        let top = s.indices.max { s[$0] < s[$1] }!
        // 320x240 -> 298x224, crop 37 px each side: the box lives in rows 0-2, columns 0-3.
        XCTAssertLessThan(top / 7, 3, "\(s)")
        XCTAssertLessThan(top % 7, 4, "\(s)")
        XCTAssertEqual(s[6 * 7 + 6], 0, "the still bottom-right corner has no motion")
    }

    func testIntraOnlyStreamHasNoVectorsAndFallsBack() throws {
        let url = try DecodeTestSupport.makeVideo(
            dir, "intra.mkv", source: "testsrc2=size=160x120:rate=10", seconds: 3,
            codec: ["-c:v", "mjpeg", "-q:v", "5"])
        let reader = try VideoReader(url: url)
        XCTAssertFalse(reader.exportsMotionVectors, "MJPEG has no motion vectors: its videos record the pixel source")
        let (offsets, scores) = try sequentialScores(url, fps: 2, n: 2, grid: MotionGrid(imageSize: 224, grid: 7))
        XCTAssertGreaterThan(offsets.count, 3)
        XCTAssertFalse(scores.isEmpty)
        XCTAssertTrue(
            scores.values.allSatisfy { $0 == nil }, "no span has vectors: the caller falls back to the pixel difference"
        )
        XCTAssertTrue(
            try reader.motionDeltas(spans: [Array(offsets[0...2])], grid: MotionGrid(imageSize: 224, grid: 7))[0]
                .allSatisfy { $0.vectors == 0 })
        // H.264 exports them.
        XCTAssertTrue(try VideoReader(url: try bFrameClip()).exportsMotionVectors)
    }

    func testMotionScoreFallsBackToPixelsThenCentre() throws {
        let r = try TokenReduction(p: 0.5, strategy: .motion)
        let g = 4
        let ps = 2
        let s = g * ps
        var frame = [Float](repeating: 0, count: 3 * s * s)
        let anchor = frame
        frame[0] = 5  // pixel change in patch 0 only
        let scores: [Float] = (0..<16).map { Float($0) }  // codec motion grows with the index
        frame.withUnsafeBufferPointer { f in
            anchor.withUnsafeBufferPointer { a in
                XCTAssertEqual(
                    r.select(
                        grid: g, patchSize: ps, frameIndex: 1, frame: f.baseAddress, anchor: a.baseAddress,
                        motion: scores),
                    Array(8..<16), "codec motion first")
                XCTAssertTrue(
                    r.select(grid: g, patchSize: ps, frameIndex: 1, frame: f.baseAddress, anchor: a.baseAddress)
                        .contains(0),
                    "pixel difference without motion")
                let still = [Float](repeating: 0, count: 16)
                XCTAssertTrue(
                    r.select(
                        grid: g, patchSize: ps, frameIndex: 1, frame: f.baseAddress, anchor: a.baseAddress,
                        motion: still
                    ).contains(0),
                    "ties of codec motion (a still scene) go to the pixel difference, not to the first rows")
                XCTAssertEqual(
                    r.select(grid: g, patchSize: ps, frameIndex: 1, motion: still), Array(0..<8), "then to the index")
                XCTAssertEqual(
                    r.select(
                        grid: g, patchSize: ps, frameIndex: 1, frame: f.baseAddress, anchor: a.baseAddress,
                        motion: [1, 2]),
                    r.select(grid: g, patchSize: ps, frameIndex: 1, frame: f.baseAddress, anchor: a.baseAddress),
                    "a score of the wrong size is ignored")
            }
        }
    }
}
