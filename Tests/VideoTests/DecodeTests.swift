import Foundation
import TestSupport
import XCTest

@testable import Video

/// Sequential decoding: probing, the sampling rule, pixels, skipping, the async stream.
final class DecodeTests: XCTestCase {
    static var dir: URL { TestVideos.dir }
    static func video(_ name: String) throws -> URL { try TestVideos.video(name) }
    static var generated: [String] { TestVideos.generated }

    func testProbeSampleVideos() throws {
        let samples = try SampleVideos.all()
        let bbb = try XCTUnwrap(samples.first { $0.lastPathComponent == "bigbuckbunny.mp4" })
        let info = try VideoReader(url: bbb).info
        XCTAssertEqual(info.codecName, "h264")
        XCTAssertEqual(info.width, 1280)
        XCTAssertEqual(info.height, 720)
        XCTAssertEqual(info.rotation, 0)
        XCTAssertEqual(info.frameRate, 25, accuracy: 1e-9)
        XCTAssertEqual(info.startTime, 0, accuracy: 1e-9)
        XCTAssertEqual(info.duration, 5.28, accuracy: 0.01)
        XCTAssertEqual(info.frameCountEstimate, 132)
        XCTAssertGreaterThan(info.timeBase.den, 0)
        XCTAssertEqual(info.path, bbb.path)
        // Codable round trip.
        let back = try JSONDecoder().decode(VideoInfo.self, from: JSONEncoder().encode(info))
        XCTAssertEqual(back, info)
    }

    func testNonZeroStartTimeIsProbed() throws {
        let ts = try VideoReader(url: Self.video("start.ts")).info
        XCTAssertGreaterThan(ts.startTime, 1.0)
        let mkv = try VideoReader(url: Self.video("offset.mkv")).info
        XCTAssertEqual(mkv.startTime, 10, accuracy: 0.1)
    }

    /// The sampled pts follow the previous-frame rule, computed independently from ffprobe's
    /// frame list, for every kind of video; times, indices and seek points are consistent.
    func testSamplingRule() throws {
        var files = try SampleVideos.all()
        files += try Self.generated.map { try Self.video($0) }
        for url in files {
            let reader = try VideoReader(url: url)
            let offsets = try reader.sampleOffsets(fps: 2)
            let expected = try DecodeTestSupport.expectedSamplePTS(url, fps: 2)
            XCTAssertEqual(offsets.map(\.pts), expected, url.lastPathComponent)
            XCTAssertEqual(offsets.map(\.index), Array(0..<offsets.count), url.lastPathComponent)
            let (frames, _, _) = try DecodeTestSupport.ffprobeFrames(url)
            let keys = Set(frames.filter(\.key).map(\.ts))
            for o in offsets {
                // (sample 0 may show a first frame that starts after the declared start)
                if o.index > 0 || o.pts != frames.first?.ts {
                    XCTAssertLessThanOrEqual(o.time, Double(o.index) / 2 + 1e-9, "\(url.lastPathComponent) #\(o.index)")
                }
                XCTAssertGreaterThanOrEqual(o.time, 0)
                XCTAssertLessThanOrEqual(o.seekPTS, o.pts)
                XCTAssertTrue(
                    keys.contains(o.seekPTS) || o.seekPTS == frames.first?.ts,
                    "\(url.lastPathComponent) #\(o.index): seek point \(o.seekPTS) is not a keyframe")
            }
            // No samples past the end: the last sample instant is <= the last frame's time.
            if let last = offsets.last, offsets.count > 1 {
                XCTAssertLessThanOrEqual(
                    Double(last.index) / 2, (try reader.sampleTimeOfLastFrame(frames: frames.map(\.ts))) + 1e-9,
                    url.lastPathComponent)
            }
        }
    }

    /// Sample counts for a plain 30 fps video: k / 2 <= last frame time.
    func testSampleCountsAndTimes() throws {
        let url = try Self.video("bframes.mp4")  // 4 s at 30 fps: last frame at 119/30 s
        let offs = try VideoReader(url: url).sampleOffsets(fps: 2)
        XCTAssertEqual(offs.count, 8)
        for o in offs { XCTAssertEqual(o.time, Double(o.index) / 2, accuracy: 1e-6) }
        let offs5 = try VideoReader(url: url).sampleOffsets(fps: 5)
        XCTAssertEqual(offs5.count, 20)
        let url25 = try Self.video("25fps.mp4")  // 3 s at 25 fps: 0.5 s -> frame 12 (0.48 s)
        let o25 = try VideoReader(url: url25).sampleOffsets(fps: 2)
        XCTAssertEqual(o25.count, 6)
        XCTAssertEqual(o25[1].time, 0.48, accuracy: 1e-6)
        XCTAssertThrowsError(try VideoReader(url: url).sampleOffsets(fps: 0))
    }

    /// Pixels of sampled frames equal ffmpeg's own decode + accurate RGB conversion of the same
    /// frames (generated content, so a wrong frame or colour would show).
    func testPixelsMatchFFmpeg() throws {
        for name in ["bframes.mp4", "vfr.mp4", "mpeg4.avi", "start.ts"] {
            let url = try Self.video(name)
            let frames = try DecodeTestSupport.sampleAll(url)
            let (probed, _, _) = try DecodeTestSupport.ffprobeFrames(url)
            let w = frames[0].image.width
            let h = frames[0].image.height
            let raw = try DecodeTestSupport.rawRGB(url, width: w, height: h, vf: "setpts=PTS")
            let frameBytes = w * h * 3
            // ffmpeg outputs every frame (passthrough) in presentation order.
            let all = raw.count / frameBytes
            XCTAssertGreaterThanOrEqual(all, probed.count - 1, name)
            for f in frames {
                guard let pos = probed.firstIndex(where: { $0.ts == f.offset.pts }), pos < all else {
                    XCTFail("\(name): pts \(f.offset.pts) not in ffprobe's list")
                    continue
                }
                let ref = raw[(pos * frameBytes)..<((pos + 1) * frameBytes)]
                var maxDiff = 0
                for (a, b) in zip(f.image.pixels, ref) { maxDiff = max(maxDiff, abs(Int(a) - Int(b))) }
                XCTAssertLessThanOrEqual(maxDiff, 2, "\(name) sample \(f.offset.index)")
            }
        }
    }

    /// Skipping non-reference frames never changes the sampled frames, and does skip some.
    func testSkippingNonReferenceFramesIsExact() throws {
        var files = try SampleVideos.all()
        files += try ["bframes.mp4", "vfr.mp4", "start.ts", "offset.mkv", "mpeg4.avi", "hevc.mp4", "25fps.mp4"].map {
            try Self.video($0)
        }
        var skippedSomewhere = 0
        for url in files {
            let reader = try VideoReader(url: url)
            var a: [SampledFrame] = []
            var b: [SampledFrame] = []
            let sa = try reader.sequentialPass(fps: 2, skipNonReference: true) {
                a.append($0)
                return true
            }
            try reader.sequentialPass(fps: 2, skipNonReference: false) {
                b.append($0)
                return true
            }
            XCTAssertEqual(a.map(\.offset), b.map(\.offset), url.lastPathComponent)
            XCTAssertEqual(a.count, b.count)
            for (x, y) in zip(a, b) where x.image != y.image {
                XCTFail("\(url.lastPathComponent): sample \(x.offset.index) differs when skipping")
            }
            skippedSomewhere += sa.packetsSkipped
            if url.lastPathComponent == "bframes.mp4" {
                XCTAssertGreaterThan(sa.packetsSkipped, 0)
                XCTAssertEqual(sa.conversions, a.count, "only sampled frames are converted")
            }
        }
        XCTAssertGreaterThan(skippedSomewhere, 0)
    }

    func testVariableFrameRateRepeatsHeldFrames() throws {
        let url = try Self.video("vfr.mp4")
        let offs = try VideoReader(url: url).sampleOffsets(fps: 2)
        // The slow stretch (7 fps) and the dropped stretch keep frames on screen across instants:
        let pts = offs.map(\.pts)
        XCTAssertEqual(pts, pts.sorted())
        // 30 fps up to 0.8 s, then frames at 1.0, 1.7, 2.4, 3.07, 3.8 s: instants 1.0 and 1.5 both
        // show the 1.0 s frame, 2.5 and 3.0 the 2.4 s frame; the last instant is 3.5 (<= 3.8).
        XCTAssertEqual(offs.count, 8)
        XCTAssertEqual(offs.map { ($0.time * 10).rounded() / 10 }, [0, 0.5, 1.0, 1.0, 1.7, 2.4, 2.4, 3.1])
        let frames = try DecodeTestSupport.sampleAll(url)
        XCTAssertEqual(frames[2].image, frames[3].image)
        XCTAssertNotEqual(frames[3].image, frames[4].image)
    }

    func testElementaryStreamWithoutContainerTimestamps() throws {
        let url = try Self.video("rawh264.h264")
        let frames = try DecodeTestSupport.sampleAll(url)
        XCTAssertEqual(frames.count, 6)
        XCTAssertEqual(frames.map(\.offset.index), Array(0..<6))
        XCTAssertEqual(frames.map(\.offset.pts), frames.map(\.offset.pts).sorted())
        XCTAssertEqual(Set(frames.map(\.offset.pts)).count, 6)
    }

    /// The async stream yields exactly the synchronous pass's frames; stopping early is fine.
    func testAsyncStreamMatchesSynchronousPass() async throws {
        let url = try Self.video("bframes.mp4")
        let sync = try DecodeTestSupport.sampleAll(url)
        let reader = try VideoReader(url: url)
        var streamed: [SampledFrame] = []
        for try await f in reader.frames(fps: 2) { streamed.append(f) }
        XCTAssertEqual(streamed.map(\.offset), sync.map(\.offset))
        XCTAssertEqual(streamed.map(\.image), sync.map(\.image))

        // Consumer slower than the decoder, buffer of 2: still everything, in order.
        var slow: [FrameOffset] = []
        for try await f in reader.frames(fps: 5, bufferSize: 2) {
            slow.append(f.offset)
            try await Task.sleep(nanoseconds: 2_000_000)
        }
        XCTAssertEqual(slow.map(\.index), Array(0..<slow.count))
        XCTAssertEqual(slow.count, 20)

        // Stop after 2 frames; the decode thread must notice and stop (no hang).
        var n = 0
        for try await _ in reader.frames(fps: 10, bufferSize: 1) {
            n += 1
            if n == 2 { break }
        }
        XCTAssertEqual(n, 2)
    }

    /// `convertIf` converts only the wanted samples; those are unchanged, the rest are empty.
    func testConvertIfSkipsUnwantedConversions() async throws {
        let url = try Self.video("bframes.mp4")
        let sync = try DecodeTestSupport.sampleAll(url)
        var streamed: [SampledFrame] = []
        for try await f in try VideoReader(url: url).frames(fps: 2, convertIf: { $0 % 3 == 0 }) { streamed.append(f) }
        XCTAssertEqual(streamed.map(\.offset), sync.map(\.offset))
        for (a, b) in zip(streamed, sync) {
            if a.offset.index % 3 == 0 {
                XCTAssertEqual(a.image, b.image)
            } else {
                XCTAssertTrue(a.image.pixels.isEmpty)
            }
        }
    }

    /// Rotation side data: the display matrix's rotation is applied exactly (same pixels as the
    /// unrotated decode, rotated) and in the same direction as ffmpeg's autorotate.
    func testRotationIsApplied() throws {
        let base = try DecodeTestSupport.makeVideo(
            Self.dir, "rot0.mp4", source: "testsrc2=size=64x48:rate=10", seconds: 1,
            extra: ["-pix_fmt", "yuv420p"])
        let plain = try DecodeTestSupport.sampleAll(base)
        var seen: Set<Int> = []
        for tag in [90, 180, 270] {
            let url = Self.dir.appendingPathComponent("rot\(tag).mp4")
            try ExternalCommand.ffmpeg(["-i", base.path, "-c", "copy", "-metadata:s:v:0", "rotate=\(tag)", url.path])
            let reader = try VideoReader(url: url)
            let deg = reader.info.rotation
            seen.insert(deg)
            XCTAssertEqual(reader.info.codedWidth, 64)
            XCTAssertEqual(reader.info.width, deg == 180 ? 64 : 48)
            XCTAssertEqual(reader.info.height, deg == 180 ? 48 : 64)
            var rotated: [SampledFrame] = []
            try reader.forEachFrame(fps: 2) { rotated.append($0) }
            XCTAssertEqual(rotated.count, plain.count)
            for (r, p) in zip(rotated, plain) {
                XCTAssertEqual(r.image.width, reader.info.width)
                XCTAssertEqual(r.image.height, reader.info.height)
                XCTAssertTrue(r.image == Self.rotateReference(p.image, deg), "rotation \(deg): not an exact rotation")
            }
            // Same orientation as ffmpeg's autorotate (conversion may differ by rounding only).
            let ff = try DecodeTestSupport.rawRGB(url, width: reader.info.width, height: reader.info.height)
            let n = rotated[0].image.pixels.count
            var diff = 0
            for (a, b) in zip(rotated[0].image.pixels, ff.prefix(n)) { diff += abs(Int(a) - Int(b)) }
            XCTAssertLessThan(Double(diff) / Double(n), 2.0, "rotation \(deg) differs from ffmpeg autorotate")
        }
        XCTAssertEqual(seen, [90, 180, 270])
    }

    /// Reference rotation (clockwise), written plainly.
    static func rotateReference(_ img: RGBImage, _ deg: Int) -> RGBImage {
        let w = img.width
        let h = img.height
        let (ow, oh) = deg == 180 ? (w, h) : (h, w)
        var out = [UInt8](repeating: 0, count: img.pixels.count)
        for y in 0..<oh {
            for x in 0..<ow {
                let (sx, sy): (Int, Int)
                switch deg {
                case 90: (sx, sy) = (y, h - 1 - x)
                case 180: (sx, sy) = (w - 1 - x, h - 1 - y)
                default: (sx, sy) = (w - 1 - y, x)
                }
                for c in 0..<3 { out[(y * ow + x) * 3 + c] = img.pixels[(sy * w + sx) * 3 + c] }
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)
    }

    /// HD video without colour metadata is treated as BT.709, tagged BT.709 is honoured.
    func testColourSpaceFromFrame() throws {
        // A flat colour encoded as BT.709 limited range must come back close to the input RGB.
        let url = try DecodeTestSupport.makeVideo(
            Self.dir, "bt709.mp4", source: "color=c=0x3070C0:size=1280x720:rate=5", seconds: 1,
            extra: [
                "-vf", "scale=out_color_matrix=bt709:out_range=tv", "-pix_fmt", "yuv420p",
                "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
            ])
        let f = try XCTUnwrap(DecodeTestSupport.sampleAll(url).first)
        let p = f.image[640, 360]
        XCTAssertEqual(Int(p.r), 0x30, accuracy: 3)
        XCTAssertEqual(Int(p.g), 0x70, accuracy: 3)
        XCTAssertEqual(Int(p.b), 0xC0, accuracy: 3)
    }
}

extension VideoReader {
    /// Time (seconds since start) of the last frame, given the frames' pts.
    func sampleTimeOfLastFrame(frames: [Int64]) throws -> Double {
        let tb = Double(info.timeBase.num) / Double(info.timeBase.den)
        return Double(frames.max()!) * tb - info.startTime
    }
}
