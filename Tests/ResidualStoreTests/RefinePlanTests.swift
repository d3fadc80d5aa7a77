import Timeline
import XCTest

@testable import ResidualStore

/// Stage 2's plan is a value computed from values (`MomentSearch.plan`): what it asks for
/// and what it spends of the P-frame budget can be checked without a library.
final class RefinePlanTests: XCTestCase {
    let layout = FrameLayout(n: 2)
    let search = MomentSearch()

    func candidate(_ first: Int, _ last: Int, peak: Int, score: Float) -> MomentSearch.Candidate {
        MomentSearch.Candidate(
            videoID: 1, firstFrame: first, lastFrame: last, peakFrame: peak, score: score, threshold: 0.1)
    }

    func testThePlanSpendsTheBudgetOnNewPFramesOnlyAndAsksEachVideoOnce() {
        let video = MomentSearch.VideoContext(
            id: 1, path: "/a.mp4", times: (0..<60).map { Double($0) / 2 }, fps: 2, layout: layout)
        let c1 = candidate(30, 35, peak: 33, score: 0.9)
        let c2 = candidate(33, 41, peak: 36, score: 0.8)
        let d1 = Set(search.decisiveFrames(c1, layout: layout, frames: 60))
        let d2 = Set(search.decisiveFrames(c2, layout: layout, frames: 60))
        XCTAssertFalse(d1.isDisjoint(with: d2), "the two candidates share P-frames")
        func pFrames(_ plan: RefinePlan) -> Set<Int> {
            Set(plan.requests.flatMap(\.frameIndices).filter { !layout.isIFrame($0) })
        }

        // A shared P-frame is paid for once: the budget of the union refines both.
        let both = search.plan([c1, c2], k: 1, videos: [1: video], pFrameBudget: d1.union(d2).count)
        XCTAssertEqual(both.refinements.map(\.refined), [true, true])
        XCTAssertEqual(both.requests.map(\.video), [1], "one request a video")
        XCTAssertEqual(pFrames(both), d1.union(d2))
        XCTAssertEqual(both.requests[0].frameIndices, both.requests[0].frameIndices.sorted())

        // One P-frame less: the second candidate keeps coarse boundaries, none of its own P-frames is asked.
        let first = search.plan([c1, c2], k: 1, videos: [1: video], pFrameBudget: d1.union(d2).count - 1)
        XCTAssertEqual(first.refinements.map(\.refined), [true, false])
        XCTAssertEqual(pFrames(first), d1)
        XCTAssertEqual(first.refinements[1].pFrames, [])

        // A video whose file cannot be read here: stored I-frames only, whatever the budget.
        var unmounted = video
        unmounted.refinable = false
        let coarse = search.plan([c1, c2], k: 1, videos: [1: unmounted])
        XCTAssertEqual(coarse.refinements.map(\.refined), [false, false])
        XCTAssertEqual(pFrames(coarse), [])
        XCTAssertFalse(coarse.requests[0].frameIndices.isEmpty)
    }

    func testOnlyTheBestCandidatesArePlannedAndAVanishedVideoIsDropped() {
        let video = MomentSearch.VideoContext(
            id: 1, path: "/a.mp4", times: (0..<60).map { Double($0) / 2 }, fps: 2, layout: layout)
        let candidates = [
            candidate(3, 8, peak: 6, score: 0.9), candidate(21, 26, peak: 24, score: 0.8),
            candidate(45, 50, peak: 48, score: 0.7),
        ]
        let plan = search.plan(candidates, k: 1, videos: [1: video])
        XCTAssertEqual(plan.refinements.map(\.candidate), Array(candidates.prefix(search.candidatesPerResult)))
        XCTAssertEqual(search.plan(candidates, k: 1, videos: [:]).requests, [], "no video: nothing to compute")
    }
}
