import CLIP
import Foundation
import TestSupport
import Timeline
import XCTest

@testable import CLIPTraining

/// Training with adaptive I-frames: pairs follow each video's layout, so no anchor lies in
/// another shot, and a run is not resumed across placements.
final class AdaptiveTrainingPairsTests: XCTestCase {
    static let cuts = try! ShotStarts([4, 9])

    /// The synthetic videos with shot starts at 4 and 9 (18 frames each).
    static let videos = ResidualTrainingTests.videos.map { v in
        TrainingVideo(
            name: v.name, times: v.times, duration: v.duration, pixels: v.pixels, motion: v.motion, shotStarts: cuts)
    }

    func config(_ iframes: IFramePlacement) -> TokenizerTrainingConfig {
        var c = TokenizerTrainingConfig()
        c.epochs = 1
        c.batchSize = 8
        c.holdout = 0.34
        c.split = .time
        c.strategy = .uniform
        c.loss = .cosine  // pairs, not the loss, are under test
        c.iframes = iframes
        return c
    }

    func testAdaptivePairsNeverCrossACut() throws {
        let model = try TinyCLIP.model.get()
        let pairs = try TokenizerTrainer(model: model, config: config(.adaptive), videos: Self.videos).trainingPairs()
        let expected = [1, 2, 5, 6, 8, 10, 11, 13, 14, 16, 17]  // shots [0,4) [4,9) [9,18), I-frames every 3 from each start
        for v in 0..<2 {
            let mine = pairs.filter { $0.video == v }
            XCTAssertEqual(mine.map(\.frame), expected, "P-frames of video \(v)")
            for p in mine {
                XCTAssertFalse(
                    Self.cuts.frames.contains { p.anchor < $0 && $0 <= p.frame },
                    "frame \(p.frame)'s anchor \(p.anchor) is in another shot")
                XCTAssertEqual(p.anchor, [0, 3, 4, 7, 9, 12, 15].last { $0 <= p.frame })
            }
        }
        // Fixed placement ignores the shot starts: the paper's k - k % (N+1), crossing both cuts.
        let fixed = try TokenizerTrainer(model: model, config: config(.fixed), videos: Self.videos).trainingPairs()
        XCTAssertEqual(fixed.filter { $0.video == 0 }.map(\.frame), (0..<18).filter { $0 % 3 != 0 })
        XCTAssertTrue(fixed.allSatisfy { $0.anchor == $0.frame - $0.frame % 3 })
        XCTAssertTrue(fixed.contains { p in Self.cuts.frames.contains { p.anchor < $0 && $0 <= p.frame } })
    }

    /// A state file written by a fixed run is not continued by an adaptive one (other pairs).
    func testResumeRefusesAnotherPlacement() throws {
        let model = try TinyCLIP.model.get()
        let dir = try TempDirectory.make("train-adaptive")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("a.safetensors")
        try TokenizerTrainer(model: model, config: config(.fixed), videos: Self.videos).run(output: out)
        var more = config(.adaptive)
        more.epochs = 2
        XCTAssertThrowsError(
            try TokenizerTrainer(model: model, config: more, videos: Self.videos).run(output: out, resume: true)
        ) { e in
            guard case .cannotResume(_, let reason) = e as? TrainingError else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("iframes = fixed"), reason)
        }
        more.iframes = .fixed
        XCTAssertNoThrow(
            try TokenizerTrainer(model: model, config: more, videos: Self.videos).run(output: out, resume: true))
    }
}
