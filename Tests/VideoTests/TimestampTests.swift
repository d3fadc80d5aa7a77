import CFFmpeg
import Foundation
import TestSupport
import XCTest

@testable import Video

/// Crafted timestamps (jumps of hours, values near Int64.max) give a typed error naming the
/// file and the time, never a trap or a flood of samples.
final class TimestampTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TempDirectory.make("timestamps") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// 2 s of 10 fps MJPEG in Matroska (ms time base) whose frames from the 11th on are moved `jump` s later.
    func jumpingVideo(_ name: String, jump: Int) throws -> URL {
        // The source's own duration, not -t: an output -t would cut the frames after the jump.
        let url = dir.appendingPathComponent(name)
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10:duration=2", "-c:v", "mjpeg",
            "-vf", "setpts='if(gte(N,10),PTS+\(jump)/TB,PTS)'", "-fps_mode", "passthrough", url.path,
        ])
        return url
    }

    func testAJumpOfHoursIsATypedErrorNotAFloodOfSamples() throws {
        // 3 h forward: 21,600 copies of one frame at 2 fps before; 31 years: billions (a crash).
        for (name, jump) in [("hours.mkv", 3 * 3600), ("years.mkv", 1_000_000_000)] {
            let url = try jumpingVideo(name, jump: jump)
            var seen: [FrameOffset] = []
            XCTAssertThrowsError(try VideoReader(url: url).forEachOffset(fps: 2) { seen.append($0) }) { e in
                guard case .readFailed(let p, let t, let reason)? = e as? VideoError else { return XCTFail("\(e)") }
                XCTAssertEqual(p, url.path)
                XCTAssertEqual(t ?? -1, 0.9, accuracy: 1e-9, "the time of the last good frame")
                XCTAssertTrue(reason.contains("jump \(jump) s forward"), reason)
                XCTAssertTrue("\(e)".contains(url.path) && "\(e)".contains("0:00.900"), "\(e)")
            }
            // Everything before the jump was sampled, nothing after it.
            XCTAssertEqual(seen.map(\.index), [0, 1])
        }
    }

    func testSparseFramesSpendNoMoreThanTheSampleBudget() throws {
        // 20 frames 20 min apart: each gap is under the one-hour limit, but together they would
        // be 6.3 h of samples (45,600 at 2 fps) from 20 frames. The budget stops it as damage.
        let url = dir.appendingPathComponent("sparse.mkv")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=1:duration=20",
            "-vf", "setpts=N*1200/TB", "-fps_mode", "passthrough", "-c:v", "mjpeg", url.path,
        ])
        var seen = 0
        XCTAssertThrowsError(try VideoReader(url: url).forEachOffset(fps: 2) { _ in seen += 1 }) { e in
            guard case .readFailed(let p, _, let reason)? = e as? VideoError else { return XCTFail("\(e)") }
            XCTAssertEqual(p, url.path)
            XCTAssertTrue(reason.contains("damaged timestamps") && reason.contains("samples"), reason)
        }
        XCTAssertLessThanOrEqual(seen, Int(2 * (30 * 20 + 3600.0)), "within the budget")
        XCTAssertGreaterThan(seen, 2400, "the frames before the budget ran out were sampled")

        // A slideshow of one picture every 30 s is ordinary and stays within it.
        let slides = dir.appendingPathComponent("slides.mkv")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=1:duration=130",
            "-vf", "setpts=N*30/TB", "-fps_mode", "passthrough", "-c:v", "mjpeg", slides.path,
        ])
        XCTAssertEqual(try VideoReader(url: slides).sampleOffsets(fps: 2).count, 129 * 30 * 2 + 1)
    }

    func testAFarStreamStartIsFine() throws {
        // Every pts ~1e12 (31 years of ms): times are relative to the stream start, nothing is refused.
        let url = try DecodeTestSupport.makeVideo(
            dir, "far.mkv", source: "testsrc2=size=64x64:rate=10", seconds: 2,
            codec: ["-c:v", "mjpeg"], extra: ["-output_ts_offset", "1000000000"])
        let offsets = try VideoReader(url: url).sampleOffsets(fps: 2)
        XCTAssertEqual(offsets.map(\.index), [0, 1, 2, 3])
        XCTAssertEqual(offsets.map(\.time), [0, 0.5, 1, 1.5])
        XCTAssertEqual(offsets.first?.pts, 1_000_000_000_000)
    }

    func testClockArithmeticNearInt64LimitsNeverTraps() {
        let tb = AVRational(num: 1, den: 90_000)
        for start in [Int64.min, -1, 0, Int64.max] {
            let clock = SamplingClock(start: start, timeBase: tb, fps: 2)
            for pts in [Int64.min, Int64.min + 1, -1, 0, 1, Int64.max - 1, Int64.max] {
                let up = clock.ceilIndex(pts)
                let down = clock.floorIndex(pts)
                XCTAssertLessThanOrEqual(down, up, "start \(start) pts \(pts)")
                if pts > start { XCTAssertGreaterThanOrEqual(down, 0) }
                if pts < start { XCTAssertLessThanOrEqual(up, 0) }
                XCTAssertTrue(clock.seconds(pts).isFinite)
                let far = abs(Double(pts) - Double(start)) / 90_000 > SamplingClock.maxSeconds
                XCTAssertEqual(clock.check(pts, previous: nil) != nil, far, "start \(start) pts \(pts)")
            }
        }
        let coarse = SamplingClock(start: 0, timeBase: AVRational(num: 1000, den: 1), fps: 2)  // pts x 2000 overflows
        XCTAssertEqual(coarse.ceilIndex(.max), .max, "saturates instead of answering INT64_MIN")
        XCTAssertEqual(coarse.floorIndex(.min), .min)
        let clock = SamplingClock(start: 0, timeBase: tb, fps: 2)
        XCTAssertNil(clock.check(90_000 * 3_000, previous: 0), "a 50 min hold is still video")
        XCTAssertNotNil(clock.check(90_000 * 3_700, previous: 0))
        XCTAssertNil(clock.check(0, previous: 90_000 * 3_700), "backward jumps emit nothing; not an error")
    }
}
