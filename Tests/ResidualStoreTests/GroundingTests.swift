import ResidualStore
import XCTest

final class GroundingTests: XCTestCase {
    func testSmoothingIsACentredMovingAverage() {
        XCTAssertEqual(Grounding.smooth([0, 0, 3, 0, 0], window: 3), [0, 1, 1, 1, 0])
        XCTAssertEqual(Grounding.smooth([1, 2, 3], window: 15), [2, 2, 2])
        XCTAssertEqual(Grounding.smooth([], window: 15), [])
    }

    func testProposalsAreRunsAboveTheMeanRankedByPeakThenWholeVideo() {
        // Two bumps; the second is higher.
        var curve = [Float](repeating: 0, count: 40)
        for i in 5..<9 { curve[i] = 0.5 }
        for i in 25..<31 { curve[i] = 0.9 }
        let p = Grounding.proposals(curve: curve, window: 1)
        XCTAssertEqual(p.count, 3)
        XCTAssertEqual(p[0].first, 25); XCTAssertEqual(p[0].last, 30); XCTAssertEqual(p[0].score, 0.9)
        XCTAssertEqual(p[1].first, 5); XCTAssertEqual(p[1].last, 8)
        XCTAssertEqual(p[2].first, 0); XCTAssertEqual(p[2].last, 39, "whole video last")
        // A flat curve has no run above its mean: only the whole video.
        XCTAssertEqual(Grounding.proposals(curve: [Float](repeating: 0.3, count: 10)).map(\.first), [0])
    }

    func testIoU() {
        XCTAssertEqual(Grounding.iou((0, 10), (5, 15)), 5.0 / 15.0, accuracy: 1e-12)
        XCTAssertEqual(Grounding.iou((0, 1), (2, 3)), 0)
    }
}
