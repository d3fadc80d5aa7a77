import Timeline
import XCTest

@testable import ResidualStore

/// Stage 2's choice of P-frames on adaptive layouts, where an I-frame can be the last frame of
/// its shot (no P-frames after it): `rstore bench search` crashed on such a candidate.
final class MomentSearchLayoutTests: XCTestCase {
    func testDecisiveFramesWhenTheLastIFrameEndsItsShot() throws {
        // N = 2, shots [0, 4) [4, 10): I-frames 0, 3, 4, 7; frame 3 is followed by the cut at 4.
        let layout = FrameLayout(n: 2, shotStarts: try ShotStarts([4]))
        XCTAssertEqual(layout.lastFrame(anchoredOn: 3), 3)
        let c = MomentSearch.Candidate(videoID: 1, firstFrame: 0, lastFrame: 3, peakFrame: 0, score: 1, threshold: 0)
        XCTAssertEqual(MomentSearch().decisiveFrames(c, layout: layout, frames: 10), [1, 2])
        // An I-frame with P-frames after it still asks for them.
        let d = MomentSearch.Candidate(videoID: 1, firstFrame: 4, lastFrame: 9, peakFrame: 7, score: 1, threshold: 0)
        XCTAssertEqual(MomentSearch().decisiveFrames(d, layout: layout, frames: 10), [2, 5, 6, 8, 9])
    }
}
