import Foundation
import Timeline
import Video
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

    /// The decoding budget: candidates are refined in rank order while what their P-frames
    /// would decode fits; the best is refined whatever it costs; frames at hand cost nothing.
    func testTheDecodeBudgetRefinesInRankOrderAndAlwaysTheBest() {
        let video = MomentSearch.VideoContext(
            id: 1, path: "/a.mp4", times: (0..<90).map { Double($0) / 2 }, fps: 2, layout: layout)
        let candidates = [
            candidate(30, 35, peak: 33, score: 0.9), candidate(60, 65, peak: 63, score: 0.8),
            candidate(3, 8, peak: 6, score: 0.7), candidate(75, 80, peak: 78, score: 0.6),
        ]
        // A toy cost: 10 a frame, except frames below 20 (at hand: in the tier, say).
        var asked: [Set<Int>] = []
        let cost = { (_: Int64, frames: Set<Int>) -> Double in
            asked.append(frames)
            return Double(frames.filter { $0 >= 20 && !self.layout.isIFrame($0) }.count) * 10
        }
        let d = candidates.map { Set(search.decisiveFrames($0, layout: layout, frames: 90)) }
        let unbounded = search.plan(candidates, k: 2, videos: [1: video])
        XCTAssertEqual(unbounded.refinements.map(\.refined), [true, true, true, true])

        // Room for the best and the second: the third costs nothing (at hand), the fourth does not fit.
        let room = Double(d[0].union(d[1]).count * 10)
        let plan = search.plan(
            candidates, k: 2, videos: [1: video], decode: .init(budget: room, cost: cost))
        XCTAssertEqual(plan.refinements.map(\.refined), [true, true, true, false])
        XCTAssertEqual(plan.refinements[3].pFrames, [], "a coarse candidate asks no P-frame")
        XCTAssertFalse(asked.isEmpty)

        // No room at all: the best is still refined, the others only where nothing is decoded.
        let none = search.plan(candidates, k: 2, videos: [1: video], decode: .init(budget: 0, cost: cost))
        XCTAssertEqual(none.refinements.map(\.refined), [true, false, true, false])

        // The P-frame budget still applies first.
        let tight = search.plan(
            candidates, k: 2, videos: [1: video], pFrameBudget: 0, decode: .init(budget: .infinity, cost: cost))
        XCTAssertEqual(tight.refinements.map(\.refined), [false, false, false, false])
    }

    /// What a decoder goes through: per keyframe, from it to the furthest frame asked.
    func testDecodeSecondsCountsEachKeyframeToItsFurthestFrame() {
        // 25 fps stream (time base 1/12800, 512 ticks a frame), keyframes every 10 s, sampled at 2 fps.
        let offsets = (0..<60).map { k -> FrameOffset in
            let t = Double(k) / 2
            let pts = Int64((t * 12800).rounded())
            return FrameOffset(index: k, pts: pts, time: t, seekPTS: Int64((t / 10).rounded(.down) * 10 * 12800))
        }
        let source = Reconstructor.Source(
            url: URL(fileURLWithPath: "/a.mp4"), contentHash: "h", fps: 2, offsets: offsets, layout: layout,
            iFeature: { _ in [] })
        XCTAssertEqual(Reconstructor.decodeSeconds(source, frames: []), 0)
        XCTAssertEqual(Reconstructor.decodeSeconds(source, frames: [3]), 1.5, accuracy: 1e-9)
        // Two frames of one GOP: the furthest; a frame of the next GOP: from its own keyframe.
        XCTAssertEqual(Reconstructor.decodeSeconds(source, frames: [3, 9, 25]), 4.5 + 2.5, accuracy: 1e-9)
    }
}
