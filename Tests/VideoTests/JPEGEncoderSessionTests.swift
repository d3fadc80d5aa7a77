import Foundation
import Video
import XCTest

/// One JPEG encoder kept open for many pictures (the decoded-frame tier at ingest) gives the
/// bytes a fresh encoder gives each picture, and opens a codec only when the size changes.
final class JPEGEncoderSessionTests: XCTestCase {
    func picture(_ seed: Int, width: Int = 64, height: Int = 48) -> RGBImage {
        var px = [UInt8](repeating: 0, count: width * height * 3)
        for i in px.indices { px[i] = UInt8(truncatingIfNeeded: (i &* 2_654_435_761 &+ seed &* 97) >> 7) }
        return RGBImage(width: width, height: height, pixels: px)
    }

    func testReusedSessionGivesTheBytesOfAFreshEncoderForEveryPicture() throws {
        let settings = JPEGEncoder(quality: 2, chroma: .full444)
        let session = JPEGEncoderSession(settings)
        let pictures = [picture(1), picture(2), picture(1), picture(3, width: 32, height: 32), picture(4)]
        for (i, p) in pictures.enumerated() {
            XCTAssertEqual(try session.encode(p), try settings.encode(p), "picture \(i)")
        }
        XCTAssertEqual(session.encoded, pictures.count)
        XCTAssertEqual(session.opened, 3, "one codec per run of equal sizes: 64x48, 32x32, 64x48")
    }

    func testEmptyPictureIsATypedErrorAndTheSessionGoesOn() throws {
        let session = JPEGEncoderSession(JPEGEncoder(quality: 5))
        XCTAssertThrowsError(try session.encode(RGBImage(width: 0, height: 0, pixels: []))) {
            XCTAssertTrue($0 is JPEGEncodingError)
        }
        XCTAssertEqual(try session.encode(picture(5)), try JPEGEncoder(quality: 5).encode(picture(5)))
    }
}
