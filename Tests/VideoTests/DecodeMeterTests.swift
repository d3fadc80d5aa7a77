import Foundation
import TestSupport
import XCTest

@testable import Video

/// Random access reports every frame the decoder outputs (keyframe distance included) to its
/// meter, with the frame's size; a meter that throws stops the decode there, and the reader
/// decodes correctly afterwards.
final class DecodeMeterTests: XCTestCase {
    func testMeterSeesEveryDecodedFrameAndCanStopIt() throws {
        let dir = try TempDirectory.make("decode-meter")
        defer { TempDirectory.remove(dir) }
        let url = dir.appendingPathComponent("gop.mp4")
        // 4 s at 25 fps, one keyframe, no B-frames: sample k (at k/2 s) is source frame 12.5 k.
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "4", "-c:v", "libx264",
            "-g", "250", "-bf", "0", "-pix_fmt", "yuv420p", url.path,
        ])
        let sequential = try DecodeTestSupport.sampleAll(url)
        XCTAssertEqual(sequential.count, 8)
        let reader = try VideoReader(url: url)
        var sizes: [String] = []
        let last = try reader.decode(sequential[7].offset) { w, h in sizes.append("\(w)x\(h)") }
        XCTAssertTrue(last == sequential[7].image)
        // Source frame 87 (3.5 s) is the 88th from the keyframe; the decoder may show one more.
        XCTAssertTrue((88...90).contains(sizes.count), "\(sizes.count) frames metered")
        XCTAssertEqual(Set(sizes), ["320x240"])

        struct Enough: Error {}
        var seen = 0
        XCTAssertThrowsError(
            try reader.decode(sequential[7].offset) { _, _ in
                seen += 1
                if seen == 10 { throw Enough() }
            }
        ) { XCTAssertTrue($0 is Enough, "\($0)") }
        XCTAssertEqual(seen, 10, "decoding stopped at the meter's refusal")
        // The reader is not left mid-stream: the next decode is byte-identical again.
        XCTAssertTrue(try reader.decode(sequential[3].offset) == sequential[3].image)
        XCTAssertTrue(try reader.decode(sequential[0].offset) == sequential[0].image)
    }
}
