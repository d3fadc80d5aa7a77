import CLIP
import Foundation
import TestSupport
import XCTest

@testable import Video

/// Damaged media with `concealDamage`: corrupt packets are concealed and counted with their
/// times, a file cut short yields everything before the cut; strict readers still throw.
final class DamageTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TempDirectory.make("damage") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// An H.264 MPEG-TS with 6 KB of its middle overwritten (deterministic pattern).
    func corruptedTS() throws -> (intact: URL, bad: URL) {
        let url = try DecodeTestSupport.makeVideo(
            dir, "c.ts", seconds: 8, extra: ["-g", "50", "-bf", "2", "-pix_fmt", "yuv420p"])
        var data = try Data(contentsOf: url)
        let mid = data.count / 2
        for i in mid..<(mid + 6000) { data[i] ^= UInt8(truncatingIfNeeded: i &* 131 &+ 7) }
        let bad = dir.appendingPathComponent("corrupt.ts")
        try data.write(to: bad)
        return (url, bad)
    }

    func sample(_ url: URL, conceal: Bool) throws -> (frames: [SampledFrame], damage: DamageReport?) {
        let reader = try VideoReader(url: url, concealDamage: conceal)
        var frames: [SampledFrame] = []
        try reader.forEachFrame(fps: 2) { frames.append($0) }
        return (frames, reader.damage?.report)
    }

    func testCorruptPacketsAreConcealedCountedAndTimed() throws {
        let (intact, bad) = try corruptedTS()
        let reference = try DecodeTestSupport.sampleAll(intact)
        XCTAssertThrowsError(try sample(bad, conceal: false), "strict decoding fails the damaged file") { e in
            XCTAssertTrue("\(e)".contains(bad.path), "\(e)")
        }
        let (frames, report) = try sample(bad, conceal: true)
        let damage = try XCTUnwrap(report)
        print("concealed: \(damage.summary); \(frames.count)/\(reference.count) samples")
        XCTAssertFalse(damage.isClean)
        XCTAssertGreaterThan(damage.corruptPackets + damage.damagedFrames + damage.decodeErrors, 0)
        XCTAssertNil(damage.truncatedAt, "the file is whole")
        // The timeline goes on past the damage to the end of the file.
        XCTAssertEqual(frames.count, reference.count)
        XCTAssertEqual(frames.last?.offset.time, reference.last?.offset.time)
        // Spans lie around the middle of the 8 s file, and frames far from them are intact.
        let span = try XCTUnwrap(damage.spans.first)
        XCTAssertTrue(span.start > 1 && span.end < 7, "\(damage.spans)")
        let spanTimes = damage.spans.map { ($0.start - 2.5)...($0.end + 2.5) }
        for (g, f) in zip(frames, reference) where !spanTimes.contains(where: { $0.contains(g.offset.time) }) {
            XCTAssertEqual(g.offset.pts, f.offset.pts)
            XCTAssertTrue(g.image == f.image, "frame at \(g.offset.time) s, away from the damage, differs")
        }
    }

    /// Concealment with frame threads depends on thread timing; one decoder thread makes a
    /// damaged span decode to the same pictures every time (what reconstruction uses).
    func testDamagedSpanDecodesTheSameEveryTime() throws {
        let (_, bad) = try corruptedTS()
        let (frames, report) = try sample(bad, conceal: true)
        let damage = try XCTUnwrap(report)
        let span = try XCTUnwrap(damage.spans.first)
        let inSpan = frames.filter { $0.offset.time >= span.start - 1 && $0.offset.time <= span.end + 1 }.map(\.offset)
        XCTAssertFalse(inSpan.isEmpty)
        let first = try VideoReader(url: bad, threads: 1, concealDamage: true).decode(offsets: inSpan)
        let second = try VideoReader(url: bad, threads: 1, concealDamage: true).decode(offsets: inSpan.reversed())
            .reversed()
        XCTAssertEqual(first.count, inSpan.count)
        XCTAssertTrue(zip(first, second).allSatisfy { $0 == $1 }, "random access over a damaged span is deterministic")
    }

    func testTruncatedFastStartMP4IsReadToItsEnd() throws {
        let url = try DecodeTestSupport.makeVideo(
            dir, "fs.mp4", seconds: 6,
            extra: ["-g", "30", "-bf", "2", "-pix_fmt", "yuv420p", "-movflags", "+faststart"])
        let reference = try DecodeTestSupport.sampleAll(url)
        let data = try Data(contentsOf: url)
        let cut = dir.appendingPathComponent("cut.mp4")
        try data.prefix(data.count / 2).write(to: cut)
        XCTAssertThrowsError(try sample(cut, conceal: false))
        let (frames, report) = try sample(cut, conceal: true)
        let damage = try XCTUnwrap(report)
        print("truncated mp4: \(damage.summary); \(frames.count)/\(reference.count) samples")
        let at = try XCTUnwrap(damage.truncatedAt, "the cut is reported")
        XCTAssertGreaterThan(frames.count, 2)
        XCTAssertLessThan(frames.count, reference.count)
        XCTAssertLessThan(at, 5.5)
        XCTAssertEqual(frames.last!.offset.time, at, accuracy: 1.0)
        for (g, f) in zip(frames, reference) where g.offset.time < at - 1 {
            XCTAssertTrue(g.image == f.image, "frame at \(g.offset.time) s before the cut differs")
        }
    }

    func testTruncatedTransportStreamYieldsWhatItHas() throws {
        let url = try DecodeTestSupport.makeVideo(
            dir, "t.ts", seconds: 6, extra: ["-g", "30", "-bf", "2", "-pix_fmt", "yuv420p"])
        let reference = try DecodeTestSupport.sampleAll(url)
        let data = try Data(contentsOf: url)
        let cut = dir.appendingPathComponent("cut.ts")
        try data.prefix(data.count / 2 + 77).write(to: cut)  // mid-packet
        let (frames, _) = try sample(cut, conceal: true)
        XCTAssertGreaterThan(frames.count, 2)
        XCTAssertLessThan(frames.count, reference.count)
    }

    /// `decode(offsets:transform:)` gives exactly what decoding then transforming gives, so the
    /// model's inputs are unchanged while full-size pictures are never held together.
    func testTransformOnDecodeIsBitIdentical() throws {
        let url = try DecodeTestSupport.makeVideo(
            dir, "hd.mp4", source: "testsrc2=size=640x360:rate=25", seconds: 4,
            extra: ["-g", "25", "-bf", "2", "-pix_fmt", "yuv420p"])
        let offsets = try VideoReader(url: url).sampleOffsets(fps: 2)
        let picks = [offsets[5], offsets[1], offsets[6], offsets[2]]
        let plain = try VideoReader(url: url).decode(offsets: picks).map {
            CLIPPreprocessor.resizeAndCrop($0, size: 224)
        }
        var calls = 0
        let mapped = try VideoReader(url: url).decode(offsets: picks) { image -> RGBImage in
            calls += 1
            return CLIPPreprocessor.resizeAndCrop(image, size: 224)
        }
        XCTAssertEqual(mapped.count, 4)
        XCTAssertTrue(zip(plain, mapped).allSatisfy { $0 == $1 })
        XCTAssertTrue(mapped.allSatisfy { $0.width == 224 && $0.height == 224 })
        XCTAssertGreaterThanOrEqual(calls, 4)
    }

    func testReportSummaryAndSpansAreBounded() {
        let log = DamageLog()
        log.record(.damagedFrame, at: 0.5)
        for i in 0..<1000 { log.record(.corruptPacket, at: Double(i) * 3) }
        log.truncated(at: 12, reason: "read error")
        let r = log.report
        XCTAssertEqual(r.corruptPackets, 1000)
        XCTAssertEqual(r.damagedFrames, 1)
        XCTAssertEqual(r.spans.count, DamageLog.maxSpans)
        XCTAssertEqual(r.spans[0].kinds, ["damaged picture", "corrupt packet"])
        XCTAssertEqual(r.truncatedAt, 12)
        XCTAssertTrue(r.summary.contains("1000 corrupt packets"), r.summary)
        XCTAssertTrue(DamageReport().isClean)
    }
}
