import Foundation
import ResidualStore
import TestSupport
import XCTest

/// `Configuration.refineDecodeBudget`: what stage 2 of a search may decode from originals.
/// Past it, candidates keep coarse boundaries (flagged), the best always refined; frames at
/// hand (the tier, memory) cost nothing, so a tier that holds them refines everything
/// (`RefinePlanTests` checks the planner's rule on values).
final class RefineDecodeBudgetTests: XCTestCase {
    func testBudgetBoundsDecodingButNotWhatIsAtHand() async throws {
        let dir = try TempDirectory.make("decode-budget")
        let store = dir.appendingPathComponent("lib.rstore")
        // Three scenes, 4 s each at 10 fps, one keyframe every 4 s.
        let url = try SceneVideos.threeScenes(in: dir)
        let model = try TinyCLIP.model.get()
        let indexed = try Library(store: store, model: model)  // the tier on: ingest fills it
        let summary = try await indexed.index([url])
        XCTAssertEqual(summary.failed, 0)
        let text = "a colourful test pattern"

        func open(tier: Bool, budget: Double) throws -> Library {
            var config = Library.Configuration()
            if !tier { config.frameTierBytes = 0 }
            config.refineDecodeBudget = budget
            return try Library(store: store, model: model, configuration: config)
        }
        // Everything from the originals, no budget: every moment refined.
        let all = try open(tier: false, budget: .infinity).searchReport(text, k: 3)
        XCTAssertTrue(all.refined)
        XCTAssertGreaterThan(all.moments.count, 1)

        // No decoding budget, nothing at hand: the best candidate alone is refined.
        let bounded = try open(tier: false, budget: 0)
        let first = try bounded.searchReport(text, k: 3)
        XCTAssertEqual(first.moments.count, all.moments.count)
        XCTAssertTrue(first.moments.contains(where: \.refined), "the best is always refined")
        XCTAssertFalse(first.refined, "the others keep coarse boundaries, flagged")
        XCTAssertLessThan(first.pFrames, all.pFrames)
        XCTAssertLessThan(first.decodedFrames, all.decodedFrames)

        // The tier holds every P-frame: nothing to decode, so nothing is held back.
        let tiered = try open(tier: true, budget: 0).searchReport(text, k: 3)
        XCTAssertTrue(tiered.refined)
        XCTAssertEqual(tiered.decodedFrames, 0)
        XCTAssertEqual(tiered.pFrames, all.pFrames)
    }
}
