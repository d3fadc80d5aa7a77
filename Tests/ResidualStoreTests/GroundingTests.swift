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
        XCTAssertEqual(p[0].first, 25)
        XCTAssertEqual(p[0].last, 30)
        XCTAssertEqual(p[0].score, 0.9)
        XCTAssertEqual(p[1].first, 5)
        XCTAssertEqual(p[1].last, 8)
        XCTAssertEqual(p[2].first, 0)
        XCTAssertEqual(p[2].last, 39, "whole video last")
        // A flat curve has no run above its mean: only the whole video.
        XCTAssertEqual(Grounding.proposals(curve: [Float](repeating: 0.3, count: 10)).map(\.first), [0])
    }

    func testIoU() {
        XCTAssertEqual(Grounding.iou((0, 10), (5, 15)), 5.0 / 15.0, accuracy: 1e-12)
        XCTAssertEqual(Grounding.iou((0, 1), (2, 3)), 0)
    }
}

/// The authors' scoring rules, worked by hand on a 10-frame curve: centred moving average,
/// threshold = shift x mean of the smoothed curve, runs strictly above it ranked by peak, the
/// whole video last, ground truth clamped to the duration, IoU strictly above each threshold.
final class GroundingProtocolTests: XCTestCase {
    /// 1 fps, 10 s. Smoothed over 3 frames:
    /// [0.10, 0.20, 0.30, 0.40, 0.30, 0.20, 0.22, 0.22, 0.22, 0.10], sum 2.26, mean 0.226.
    static let curve: [Float] = [0.10, 0.10, 0.40, 0.40, 0.40, 0.10, 0.10, 0.46, 0.10, 0.10]
    static let times = (0..<10).map(Double.init)

    func testPresetsAndOverrides() {
        XCTAssertEqual(
            GroundingProtocol.preset(named: "charades-sta"),
            GroundingProtocol(name: "charades-sta", fps: 3, window: 15, thresholdShift: 1))
        XCTAssertEqual(
            GroundingProtocol.preset(named: "ActivityNet"),
            GroundingProtocol(name: "activitynet", fps: 1, window: 15, thresholdShift: 0.95))
        XCTAssertNil(GroundingProtocol.preset(named: "mad"))
        let o = GroundingProtocol.activityNet.overriding(fps: 2)
        XCTAssertEqual(o.fps, 2)
        XCTAssertEqual(o.thresholdShift, 0.95, "values not given keep the preset's")
        XCTAssertEqual(o.name, "activitynet+overrides")
        XCTAssertEqual(
            GroundingProtocol.charadesSTA.overriding(fps: 3).name, "charades-sta", "the same value is no override")
        XCTAssertNotNil(GroundingProtocol(fps: 1, thresholdShift: 0).problem)
        XCTAssertNotNil(GroundingProtocol(fps: 1, window: 0).problem)
        XCTAssertNotNil(GroundingProtocol(fps: 0).problem)
        XCTAssertNil(GroundingProtocol.charadesSTA.problem)
    }

    func testHandWorkedSmoothing() {
        let expected: [Float] = [0.10, 0.20, 0.30, 0.40, 0.30, 0.20, 0.22, 0.22, 0.22, 0.10]
        for (a, b) in zip(Grounding.smooth(Self.curve, window: 3), expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testHandWorkedProposalsAndRecall() {
        // Shift 1.0: threshold 0.226, only frames 2-4 exceed it; 6-8 (0.22) do not.
        let atMean = GroundingProtocol(fps: 1, window: 3, thresholdShift: 1).rankedSpans(
            curve: Self.curve, times: Self.times, duration: 10)
        XCTAssertEqual(atMean.map { [$0.0, $0.1] }, [[2, 5], [0, 10]])
        // Shift 0.95: threshold 0.2147; frames 6-8 (0.22) now form a second run. 1 and 5 (0.20) stay out.
        let p = GroundingProtocol(fps: 1, window: 3, thresholdShift: 0.95)
        let spans = p.rankedSpans(curve: Self.curve, times: Self.times, duration: 10)
        XCTAssertEqual(
            spans.map { [$0.0, $0.1] }, [[2, 5], [6, 9], [0, 10]], "ranked by peak (0.40, 0.22), whole video last")

        var m = GroundingMetrics()
        // Q1 runs past the video: clamped to (6, 10), [6, 9] has IoU 3/4 (unclamped it would be 3/6 = 0.5,
        // which does not count at 0.5).
        XCTAssertEqual(GroundingProtocol.clamped((6, 12), duration: 10).1, 10)
        m.add(ranked: spans, truth: GroundingProtocol.clamped((6, 12), duration: 10))  // IoUs [0, 0.75, 0.4]
        m.add(ranked: spans, truth: GroundingProtocol.clamped((3, 5), duration: 10))  // IoUs [2/3, 0, 0.2]
        m.add(ranked: spans, truth: GroundingProtocol.clamped((2, 8), duration: 10))  // IoUs [0.5, 2/7, 0.6]
        // R@1: 0.3 by Q2 and Q3; 0.5 by Q2 only (Q3's 0.5 is not strictly above); 0.7 by none.
        XCTAssertEqual(m.recall(at: 1, 0), 200.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(m.recall(at: 1, 1), 100.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(m.recall(at: 1, 2), 0, accuracy: 1e-9)
        // R@5: every query at 0.3 and 0.5 (Q3 by the whole video, 0.6); 0.7 by Q1 only.
        XCTAssertEqual(m.recall(at: 5, 0), 100, accuracy: 1e-9)
        XCTAssertEqual(m.recall(at: 5, 1), 100, accuracy: 1e-9)
        XCTAssertEqual(m.recall(at: 5, 2), 100.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(m.mIoU, 100 * (0 + 2.0 / 3 + 0.5) / 3, accuracy: 1e-9)
        // Without the clamp Q1 would miss R@5 at 0.5 and 0.7.
        var raw = GroundingMetrics()
        raw.add(ranked: spans, truth: (6, 12))
        XCTAssertEqual(raw.recall(at: 5, 1), 0)
    }
}
