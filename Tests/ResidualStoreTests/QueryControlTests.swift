import XCTest
@testable import ResidualStore

final class QueryControlTests: XCTestCase {
    func testChargesUpToTheLimitThenRefusesWithoutRecording() throws {
        let c = QueryControl(limits: .init(maxPFrames: 10, maxDecodedFrames: 5))
        try c.charge(pFrames: 6)
        XCTAssertEqual(c.remainingPFrames, 4)
        XCTAssertThrowsError(try c.charge(pFrames: 5)) { e in
            XCTAssertEqual(e as? QueryError, .overBudget(what: "P-frames", needed: 11, limit: 10))
            XCTAssertTrue("\(e)".contains("limit of 10"))
        }
        try c.charge(pFrames: 4)
        XCTAssertEqual(c.remainingPFrames, 0)
        XCTAssertThrowsError(try c.charge(decodedFrames: 6))
        try c.charge(decodedFrames: 5)
        XCTAssertEqual(c.usage.pFrames, 10)
        XCTAssertEqual(c.usage.decodedFrames, 5)
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
