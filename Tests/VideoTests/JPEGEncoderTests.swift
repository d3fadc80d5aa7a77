import Foundation
import Video
import XCTest

/// JPEG encoding through libavcodec's MJPEG encoder, checked by decoding the file back.
final class JPEGEncoderTests: XCTestCase {
    /// A smooth gradient with a few flat blocks (what JPEG handles well).
    func pattern(width: Int, height: Int) -> RGBImage {
        var px = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                px[i] = UInt8(x * 255 / max(1, width - 1))
                px[i + 1] = UInt8(y * 255 / max(1, height - 1))
                px[i + 2] = (x / 32 + y / 32) % 2 == 0 ? 200 : 60
            }
        }
        return RGBImage(width: width, height: height, pixels: px)
    }

    func roundTrip(_ jpeg: Data) throws -> RGBImage {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rstore-jpeg-\(getpid())-\(UUID().uuidString).jpg")
        try jpeg.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try ImageFile.load(url)
    }

    func meanAbsError(_ a: RGBImage, _ b: RGBImage) -> Double {
        precondition(a.width == b.width && a.height == b.height)
        var s = 0
        for i in 0..<a.pixels.count { s += abs(Int(a.pixels[i]) - Int(b.pixels[i])) }
        return Double(s) / Double(a.pixels.count)
    }

    func testRoundTripMatchesWithinTolerance() throws {
        let img = pattern(width: 128, height: 96)
        let jpeg = try JPEGEncoder(quality: 3).encode(img)
        XCTAssertEqual(Array(jpeg.prefix(3)), [0xFF, 0xD8, 0xFF], "SOI marker")
        XCTAssertEqual(Array(jpeg.suffix(2)), [0xFF, 0xD9], "EOI marker")
        let back = try roundTrip(jpeg)
        XCTAssertEqual(back.width, 128)
        XCTAssertEqual(back.height, 96)
        let mae = meanAbsError(img, back)
        XCTAssertLessThan(mae, 6, "mean absolute error per channel")
        // No pixel far off (colour conversion or range mistakes show up as large offsets).
        var worst = 0
        for i in 0..<img.pixels.count { worst = max(worst, abs(Int(img.pixels[i]) - Int(back.pixels[i]))) }
        XCTAssertLessThan(worst, 80)
        // Flat colours keep their value (full range, BT.601 both ways).
        let grey = RGBImage(width: 32, height: 32, pixels: [UInt8](repeating: 128, count: 32 * 32 * 3))
        let g = try roundTrip(try JPEGEncoder().encode(grey))
        XCTAssertLessThan(meanAbsError(grey, g), 2)
        let black = RGBImage(width: 16, height: 16, pixels: [UInt8](repeating: 0, count: 16 * 16 * 3))
        XCTAssertLessThan(meanAbsError(black, try roundTrip(try JPEGEncoder().encode(black))), 2)
    }

    func testDownscaleKeepsAspectAndEvenSize() throws {
        let img = pattern(width: 640, height: 360)
        let enc = JPEGEncoder(quality: 5, maxDimension: 320)
        XCTAssertTrue(enc.outputSize(width: 640, height: 360) == (320, 180))
        XCTAssertTrue(enc.outputSize(width: 101, height: 33) == (100, 32))
        let back = try roundTrip(try enc.encode(img))
        XCTAssertEqual(back.width, 320)
        XCTAssertEqual(back.height, 180)
        // Compare against a 2x box-downscaled original.
        var px = [UInt8](repeating: 0, count: 320 * 180 * 3)
        for y in 0..<180 {
            for x in 0..<320 {
                for c in 0..<3 {
                    var s = 0
                    for dy in 0..<2 {
                        for dx in 0..<2 { s += Int(img.pixels[((2 * y + dy) * 640 + 2 * x + dx) * 3 + c]) }
                    }
                    px[(y * 320 + x) * 3 + c] = UInt8(s / 4)
                }
            }
        }
        XCTAssertLessThan(meanAbsError(RGBImage(width: 320, height: 180, pixels: px), back), 8)
        // Higher quality numbers give smaller files.
        XCTAssertLessThan(try JPEGEncoder(quality: 20).encode(img).count, try JPEGEncoder(quality: 2).encode(img).count)
    }

    func testFullChromaKeepsFineColouredDetail() throws {
        // One-pixel red/green stripes: 4:2:0 averages them to brown, 4:4:4 keeps them.
        var px = [UInt8](repeating: 0, count: 64 * 64 * 3)
        for i in 0..<(64 * 64) { px[i * 3 + (i % 2 == 0 ? 0 : 1)] = 220 }
        let img = RGBImage(width: 64, height: 64, pixels: px)
        let full = try roundTrip(try JPEGEncoder(quality: 2, chroma: .full444).encode(img))
        let sub = try roundTrip(try JPEGEncoder(quality: 2).encode(img))
        XCTAssertLessThan(meanAbsError(img, full), 10)
        XCTAssertGreaterThan(meanAbsError(img, sub), 2 * meanAbsError(img, full))
        // Odd sizes are kept as they are (no even rounding without subsampling).
        let odd = try roundTrip(try JPEGEncoder(chroma: .full444).encode(pattern(width: 17, height: 9)))
        XCTAssertEqual(odd.width, 17)
        XCTAssertEqual(odd.height, 9)
    }

    func testOddAndTinySizes() throws {
        for (w, h) in [(1, 1), (3, 5), (17, 9)] {
            let jpeg = try JPEGEncoder().encode(pattern(width: w, height: h))
            let back = try roundTrip(jpeg)
            XCTAssertEqual(back.width, max(2, w & ~1))
            XCTAssertEqual(back.height, max(2, h & ~1))
        }
        XCTAssertThrowsError(try JPEGEncoder().encode(RGBImage(width: 0, height: 0, pixels: [])))
    }
}
