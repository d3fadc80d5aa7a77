import Video
import XCTest

@testable import ResidualStore

final class QueryControlTests: XCTestCase {
    func testChargesUpToTheLimitThenRefusesWithoutRecording() throws {
        let c = QueryControl(limits: .init(maxPFrames: 10, maxDecodedFrames: 5))
        try c.charge(pFrames: 6)
        XCTAssertEqual(c.remainingPFrames, 4)
        XCTAssertThrowsError(try c.charge(pFrames: 5)) { e in
            XCTAssertEqual(e as? QueryError, .overBudget(.pFrames, needed: 11, limit: 10))
            XCTAssertTrue("\(e)".contains("limit of 10"))
        }
        try c.charge(pFrames: 4)
        XCTAssertEqual(c.remainingPFrames, 0)
        // Decoding is charged per frame in 720p frames: 5 of 720p, then a 1080p frame (2.25)
        // is refused and not recorded, a 360p one (0.25) still fits... until 5 is reached.
        for _ in 0..<4 { try c.chargeDecoded(width: 1280, height: 720) }
        XCTAssertThrowsError(try c.chargeDecoded(width: 1920, height: 1080)) { e in
            XCTAssertEqual(e as? QueryError, .overBudget(.decoding, needed: 6.25, limit: 5))
            XCTAssertTrue("\(e)".contains("6.25 decoded 720p frames"), "\(e)")
        }
        for _ in 0..<4 { try c.chargeDecoded(width: 640, height: 360) }
        XCTAssertThrowsError(try c.chargeDecoded(width: 640, height: 360))
        XCTAssertEqual(c.usage.pFrames, 10)
        XCTAssertEqual(c.usage.decodedFrames, 8)
        XCTAssertEqual(c.usage.decodeCost, 5, accuracy: 1e-9)
    }

    /// A tiny frame still costs 1/64 of a 720p frame; hostile sizes do not overflow.
    func testDecodeCostFloorAndBounds() throws {
        XCTAssertEqual(DecodeCost.pixels(width: 2, height: 2), 160 * 90)
        XCTAssertEqual(DecodeCost.pixels(width: 3840, height: 2160), 9 * DecodeCost.unitPixels)
        XCTAssertEqual(DecodeCost.pixels(width: -5, height: 100), 160 * 90)
        XCTAssertEqual(DecodeCost.pixels(width: .max, height: .max), 1 << 32)
        let c = QueryControl(limits: .init(maxDecodedFrames: 1))
        for _ in 0..<64 { try c.chargeDecoded(width: 16, height: 16) }
        XCTAssertThrowsError(try c.chargeDecoded(width: 16, height: 16))
        XCTAssertNoThrow(try QueryControl().chargeDecoded(width: .max, height: .max))
    }

    func testCancelStopsTheNextCheckAndCharge() throws {
        let c = QueryControl()
        try c.checkCancelled()
        c.cancel()
        XCTAssertTrue(c.isCancelled)
        XCTAssertThrowsError(try c.checkCancelled()) { XCTAssertEqual($0 as? QueryError, .cancelled) }
        XCTAssertThrowsError(try c.charge(pFrames: 1)) { XCTAssertEqual($0 as? QueryError, .cancelled) }
    }
}
