import Foundation
import TestSupport
import XCTest

@testable import Video

/// Bad input gives typed errors whose messages name the file (and the time, where known);
/// damaged files never yield garbage frames.
final class BadInputTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try TempDirectory.make("bad")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func expectError(
        _ url: URL, file: StaticString = #filePath, line: UInt = #line,
        _ check: (VideoError) -> Bool
    ) {
        do {
            let r = try VideoReader(url: url)
            _ = try r.sampleOffsets()
            XCTFail("no error for \(url.lastPathComponent)", file: file, line: line)
        } catch let e as VideoError {
            XCTAssertTrue(check(e), "unexpected error: \(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains(url.path), "message must name the file: \(e)", file: file, line: line)
        } catch {
            XCTFail("not a VideoError: \(error)", file: file, line: line)
        }
    }

    func testMissingFile() {
        expectError(dir.appendingPathComponent("nope.mp4")) { if case .fileNotFound = $0 { true } else { false } }
    }

    func testDirectoryIsNotAFile() {
        expectError(dir) { if case .fileNotFound = $0 { true } else { false } }
    }

    func testZeroLengthFile() {
        let url = dir.appendingPathComponent("empty.mp4")
        _ = FileManager.default.createFile(atPath: url.path, contents: Data())
        expectError(url) { if case .emptyFile = $0 { true } else { false } }
    }

    func testTextFileNamedMP4() throws {
        let url = dir.appendingPathComponent("notes.mp4")
        try String(repeating: "this is a text file, not a video\n", count: 50).write(
            to: url, atomically: true, encoding: .utf8)
        expectError(url) { if case .cannotOpen = $0 { true } else { false } }
    }

    func testAudioOnlyFile() throws {
        let url = dir.appendingPathComponent("tone.m4a")
        try ExternalCommand.ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440", "-t", "1", url.path])
        expectError(url) { if case .noVideoStream = $0 { true } else { false } }
    }

    func testUnsupportedCodec() throws {
        // A Matroska file whose video track's codec id libav does not know.
        let mkv = dir.appendingPathComponent("ok.mkv")
        try ExternalCommand.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48", "-t", "1", "-c:v", "libx264", mkv.path])
        var data = try Data(contentsOf: mkv)
        let id = Data("V_MPEG4/ISO/AVC".utf8)
        let fake = Data("V_RSTORE/NOPE/X".utf8)
        let r = try XCTUnwrap(data.range(of: id))
        data.replaceSubrange(r, with: fake)
        let url = dir.appendingPathComponent("unknown-codec.mkv")
        try data.write(to: url)
        expectError(url) { if case .unsupportedCodec = $0 { true } else { false } }
    }

    func testAbsurdDimensions() throws {
        // A hand-written YUV4MPEG2 stream declaring a 100000x100000 picture.
        let url = dir.appendingPathComponent("huge.y4m")
        var d = Data("YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n".utf8)
        d.append(Data(repeating: 128, count: 4096))
        try d.write(to: url)
        expectError(url) { e in
            switch e {
            case .absurdDimensions(_, let w, let h): return w == 100000 && h == 100000
            case .cannotOpen: return true  // libav may refuse the header itself
            default: return false
            }
        }
        // Within libav's limits but beyond any real video (20000 pixels wide): our own check.
        let wide = dir.appendingPathComponent("wide.y4m")
        var wd = Data("YUV4MPEG2 W20000 H16 F25:1 Ip A1:1 C420jpeg\nFRAME\n".utf8)
        wd.append(Data(repeating: 128, count: 20000 * 16 * 3 / 2))
        try wd.write(to: wide)
        expectError(wide) { e in
            if case .absurdDimensions(_, 20000, 16) = e { return true }
            return false
        }
        // Zero size, also hand-written.
        let zero = dir.appendingPathComponent("zero.y4m")
        var z = Data("YUV4MPEG2 W0 H0 F25:1 Ip A1:1 C420jpeg\nFRAME\n".utf8)
        z.append(Data(repeating: 128, count: 64))
        try z.write(to: zero)
        expectError(zero) { e in
            if case .absurdDimensions = e { return true }
            if case .cannotOpen = e { return true }
            return false
        }
    }

    /// A file cut mid-stream: the frames before the cut, identical to the intact file's, then
    /// either a clean end or a typed error naming the file and time — never damaged frames.
    func checkTruncated(_ full: URL, keep fraction: Double) throws {
        let intact = try DecodeTestSupport.sampleAll(full)
        let data = try Data(contentsOf: full)
        let cut = dir.appendingPathComponent("cut-" + full.lastPathComponent)
        try data.prefix(Int(Double(data.count) * fraction)).write(to: cut)
        var got: [SampledFrame] = []
        var failure: VideoError? = nil
        do {
            let reader = try VideoReader(url: cut)
            try reader.forEachFrame(fps: 2) { got.append($0) }
        } catch let e as VideoError {
            failure = e
        }
        let name = full.lastPathComponent
        print("truncated \(name): \(got.count)/\(intact.count) samples, then \(failure?.description ?? "a clean end")")
        XCTAssertGreaterThan(got.count, 0, "\(name): frames before the cut")
        XCTAssertLessThan(got.count, intact.count, "\(name): frames after the cut cannot exist")
        for (g, f) in zip(got, intact) {
            XCTAssertEqual(g.offset, f.offset, name)
            XCTAssertTrue(g.image == f.image, "\(name): sample \(g.offset.index) is damaged")
        }
        if let failure {
            XCTAssertTrue(failure.description.contains(cut.path), "\(failure)")
            XCTAssertNotNil(failure.time, "\(name): error should say when: \(failure)")
            switch failure {
            case .readFailed, .decodeFailed: break
            default: XCTFail("\(name): unexpected error \(failure)")
            }
        }
    }

    func testTruncatedFastStartMP4() throws {
        let url = try DecodeTestSupport.makeVideo(
            dir, "fs.mp4", seconds: 4,
            extra: ["-g", "30", "-bf", "3", "-pix_fmt", "yuv420p", "-movflags", "+faststart"])
        try checkTruncated(url, keep: 0.5)
    }

    func testTruncatedMPEGTS() throws {
        let url = try DecodeTestSupport.makeVideo(
            dir, "t.ts", seconds: 4, extra: ["-g", "30", "-bf", "2", "-pix_fmt", "yuv420p"])
        try checkTruncated(url, keep: 0.55)
    }

    func testTruncatedMatroska() throws {
        let url = try DecodeTestSupport.makeVideo(
            dir, "t.mkv", seconds: 4, extra: ["-g", "30", "-bf", "2", "-pix_fmt", "yuv420p"])
        try checkTruncated(url, keep: 0.6)
    }

    /// An MP4 whose index (moov, written at the end) was cut off cannot be opened at all.
    func testTruncatedMP4WithoutIndex() throws {
        let url = try DecodeTestSupport.makeVideo(dir, "nofs.mp4", seconds: 2, extra: ["-pix_fmt", "yuv420p"])
        let data = try Data(contentsOf: url)
        let cut = dir.appendingPathComponent("nofs-cut.mp4")
        try data.prefix(data.count / 2).write(to: cut)
        expectError(cut) { if case .cannotOpen = $0 { true } else { false } }
    }

    /// Garbage bytes in the middle of a stream: never a damaged frame.
    func testCorruptedMiddle() throws {
        let url = try DecodeTestSupport.makeVideo(
            dir, "c.ts", seconds: 4, extra: ["-g", "60", "-bf", "2", "-pix_fmt", "yuv420p"])
        let intact = try DecodeTestSupport.sampleAll(url)
        var data = try Data(contentsOf: url)
        let mid = data.count / 2
        var rng = SystemRandomNumberGenerator()
        for i in mid..<(mid + 4000) { data[i] = UInt8.random(in: 0...255, using: &rng) }
        let bad = dir.appendingPathComponent("corrupt.ts")
        try data.write(to: bad)
        var got: [SampledFrame] = []
        do {
            try VideoReader(url: bad).forEachFrame(fps: 2) { got.append($0) }
        } catch let e as VideoError {
            print("corrupted middle: \(e)")
            XCTAssertTrue(e.description.contains(bad.path))
        }
        // Every frame returned is a frame of the intact file (same pixels at the same pts).
        let byPTS = Dictionary(intact.map { ($0.offset.pts, $0.image) }, uniquingKeysWith: { a, _ in a })
        for g in got {
            if let ref = byPTS[g.offset.pts] {
                XCTAssertTrue(g.image == ref, "damaged frame at \(g.offset.time) s")
            }
        }
        print("corrupted middle: \(got.count)/\(intact.count) samples")
        XCTAssertGreaterThan(got.count, 0)
    }

    func testErrorMessagesNameFileAndTime() {
        let e = VideoError.decodeFailed(path: "/v/a.mp4", time: 61.5, reason: "Invalid data")
        XCTAssertEqual(e.description, "/v/a.mp4: decoding failed at 1:01.500 (61.500 s): Invalid data")
        XCTAssertEqual(e.time, 61.5)
        XCTAssertEqual(e.path, "/v/a.mp4")
    }
}
