import Foundation
import TestSupport
import XCTest

@testable import Video

/// Files whose bytes are playlists or lists (whatever their name) are refused before any
/// demuxer runs, so they cannot pull frames from files outside the library; ordinary
/// containers and single images still open.
final class ContainerPolicyTests: XCTestCase {
    var dir: URL!
    /// A real video outside the "library" folder that a hostile list points at.
    var outside: URL!

    override func setUpWithError() throws {
        dir = try TempDirectory.make("containers")
        let elsewhere = dir.appendingPathComponent("elsewhere", isDirectory: true)
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        outside = elsewhere.appendingPathComponent("secret.ts")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "2",
            "-c:v", "mpeg2video", "-f", "mpegts", outside.path,
        ])
        try FileManager.default.createDirectory(at: library, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        TempDirectory.remove(dir)
    }

    var library: URL { dir.appendingPathComponent("library", isDirectory: true) }

    func write(_ text: String, as name: String) throws -> URL {
        let url = library.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func expectRefused(
        _ url: URL, format: String, file: StaticString = #filePath, line: UInt = #line,
        _ open: (URL) throws -> Void
    ) {
        do {
            try open(url)
            XCTFail("\(url.lastPathComponent) was opened", file: file, line: line)
        } catch let e as VideoError {
            guard case .containerNotAllowed(let p, let f, _) = e else {
                return XCTFail("unexpected error: \(e)", file: file, line: line)
            }
            XCTAssertEqual(p, url.path, file: file, line: line)
            XCTAssertEqual(f, format, file: file, line: line)
            XCTAssertTrue(
                e.description.contains(url.path) && e.description.contains(format),
                "message must name the file and the format: \(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains("opens other files"), "\(e)", file: file, line: line)
        } catch {
            XCTFail("not a VideoError: \(error)", file: file, line: line)
        }
    }

    func sample(_ url: URL) throws {
        _ = try VideoReader(url: url).sampleOffsets()
    }

    func testHLSPlaylistNamedMP4WithAnAbsoluteEntryIsRefused() throws {
        let url = try write(
            """
            #EXTM3U
            #EXT-X-VERSION:3
            #EXT-X-TARGETDURATION:2
            #EXTINF:2.0,
            \(outside.path)
            #EXT-X-ENDLIST

            """, as: "evil.mp4")
        expectRefused(url, format: "hls", sample)
    }

    func testHLSPlaylistWithADotDotEntryIsRefused() throws {
        let url = try write(
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n../elsewhere/secret.ts\n#EXT-X-ENDLIST\n", as: "evil.mkv")
        expectRefused(url, format: "hls", sample)
    }

    func testConcatListIsRefused() throws {
        let url = try write("ffconcat version 1.0\nfile '\(outside.path)'\n", as: "list.mp4")
        expectRefused(url, format: "concat", sample)
    }

    func testAnImageNamedLikeASequencePatternIsReadAsItself() throws {
        // image2 would expand `%d` in the name into a sequence of other files (shot1.png...).
        let other = library.appendingPathComponent("shot1.png")
        try ExternalCommand.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", other.path])
        for name in ["shot%d.jpg", "shot%d.png"] {
            let pattern = library.appendingPathComponent(name)
            try ExternalCommand.ffmpeg([
                "-f", "lavfi", "-i", "testsrc2=size=32x24", "-frames:v", "1", "-update", "1", pattern.path,
            ])
            XCTAssertEqual(try ImageFile.load(pattern).width, 32, "\(name) read literally, not as shot1")
        }
    }

    func testTheOutsideFileItselfStillOpensWhenNamedDirectly() throws {
        // The refusal is about lists, not about MPEG-TS: the target opens when it is the input.
        XCTAssertFalse(try VideoReader(url: outside).sampleOffsets().isEmpty)
    }

    func testEveryAllowedNameIsARealDemuxer() {
        // A typo in the allow-list would silently refuse a whole container family.
        for name in ContainerPolicy.allowed {
            XCTAssertTrue(ContainerPolicy.isKnownDemuxer(name), "\(name) is not a libavformat demuxer")
        }
    }
}
