import Foundation
import Video
import XCTest

/// Decoding JPEG bytes in memory (the decoded-frame tier's mosaics): what the encoder wrote
/// comes back close; anything else is a typed error, never a crash.
final class JPEGDecoderTests: XCTestCase {
    func testRoundTripOfAPatchMosaicIsClose() throws {
        let w = 224
        let h = 32
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            let x = i % w
            let y = i / w
            px[3 * i] = UInt8((x * 3 + y) % 256)
            px[3 * i + 1] = UInt8(y * 8 % 256)
            px[3 * i + 2] = (x / 32) % 2 == 0 ? 220 : 40
        }
        let image = RGBImage(width: w, height: h, pixels: px)
        let back = try JPEGDecoder().decode(try JPEGEncoder(quality: 2).encode(image))
        XCTAssertEqual(back.width, w)
        XCTAssertEqual(back.height, h)
        let mae = zip(back.pixels, px).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
        XCTAssertLessThan(Double(mae) / Double(px.count), 4)
    }

    func testGarbageEmptyAndOversizedAreErrors() throws {
        XCTAssertThrowsError(try JPEGDecoder().decode(Data())) { XCTAssertTrue($0 is JPEGDecodingError) }
        XCTAssertThrowsError(try JPEGDecoder().decode(Data(repeating: 0x41, count: 500))) {
            XCTAssertTrue($0 is JPEGDecodingError)
        }
        let big = try JPEGEncoder(quality: 5).encode(
            RGBImage(width: 64, height: 64, pixels: [UInt8](repeating: 128, count: 64 * 64 * 3)))
        XCTAssertThrowsError(try JPEGDecoder(maxDimension: 32).decode(big)) {
            XCTAssertTrue("\($0)".contains("64x64"), "\($0)")
        }
        // Truncated: an error, or a picture of the right size; never a crash.
        for cut in [20, big.count / 2, big.count - 2] {
            if let img = try? JPEGDecoder().decode(big.prefix(cut)) { XCTAssertEqual(img.width, 64) }
        }
    }
}
