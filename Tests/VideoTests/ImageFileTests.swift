import Foundation
import TestSupport
import XCTest

@testable import Video

final class ImageFileTests: XCTestCase {
    func testPNGIsLosslessRGB() throws {
        let dir = try TempDirectory.make("img")
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = dir.appendingPathComponent("a.png")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1",
            "-pix_fmt", "rgb24", png.path,
        ])
        let img = try ImageFile.load(png)
        XCTAssertEqual(img.width, 64)
        XCTAssertEqual(img.height, 48)
        let ref = try DecodeTestSupport.rawRGB(png, width: 64, height: 48)
        XCTAssertEqual(img.pixels, ref, "PNG (rgb24) must decode losslessly")
    }

    func testPNGWithAlphaAndGray() throws {
        let dir = try TempDirectory.make("img")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rgba = dir.appendingPathComponent("rgba.png")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=32x16", "-frames:v", "1",
            "-pix_fmt", "rgba", rgba.path,
        ])
        let gray = dir.appendingPathComponent("gray.png")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=32x16", "-frames:v", "1",
            "-pix_fmt", "gray", gray.path,
        ])
        let a = try ImageFile.load(rgba)
        XCTAssertEqual(a.pixels.count, 32 * 16 * 3)
        XCTAssertEqual(a.pixels, try DecodeTestSupport.rawRGB(rgba, width: 32, height: 16))
        let g = try ImageFile.load(gray)
        XCTAssertEqual(g.pixels.count, 32 * 16 * 3)
        for i in stride(from: 0, to: g.pixels.count, by: 3) {
            XCTAssertEqual(g.pixels[i], g.pixels[i + 1])
            XCTAssertEqual(g.pixels[i], g.pixels[i + 2])
        }
    }

    func testJPEGMatchesFFmpegConversion() throws {
        let dir = try TempDirectory.make("img")
        defer { try? FileManager.default.removeItem(at: dir) }
        let jpg = dir.appendingPathComponent("a file with % and spaces.jpg")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=96x64", "-frames:v", "1",
            "-q:v", "2", jpg.path,
        ])
        let img = try ImageFile.load(jpg)
        XCTAssertEqual(img.width, 96)
        XCTAssertEqual(img.height, 64)
        let ref = try DecodeTestSupport.rawRGB(jpg, width: 96, height: 64)
        XCTAssertEqual(ref.count, img.pixels.count)
        var maxDiff = 0
        for (a, b) in zip(img.pixels, ref) { maxDiff = max(maxDiff, abs(Int(a) - Int(b))) }
        XCTAssertLessThanOrEqual(
            maxDiff, 2, "JPEG (full-range BT.601) conversion should match ffmpeg's accurate conversion")
    }

    func testImageErrors() throws {
        let dir = try TempDirectory.make("img")
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try ImageFile.load(dir.appendingPathComponent("missing.png"))) { e in
            guard case VideoError.fileNotFound = e else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("missing.png"))
        }
        let empty = dir.appendingPathComponent("empty.png")
        _ = FileManager.default.createFile(atPath: empty.path, contents: Data())
        XCTAssertThrowsError(try ImageFile.load(empty)) { e in
            guard case VideoError.emptyFile = e else { return XCTFail("\(e)") }
        }
        let text = dir.appendingPathComponent("text.png")
        try "this is not a picture\n".write(to: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ImageFile.load(text)) { e in
            XCTAssertTrue(e is VideoError, "\(e)")
            XCTAssertTrue("\(e)".contains("text.png"), "\(e)")
        }
    }
}
