import CLIP
import Foundation
import TestSupport
import XCTest

@testable import CLIPTraining

/// Fresh masks every step (random anew; motion re-ranked with random tie-breaks, a share of
/// samples random), and state files from before these settings still resume.
final class TrainingMasksTests: XCTestCase {
    static let grid = 7, patch = 32

    func masks(_ strategy: ReductionStrategy, _ schedule: MaskSchedule, share: Double = 0.5) throws -> TrainingMasks {
        TrainingMasks(
            schedule: schedule, reduction: try TokenReduction(p: 0.75, strategy: strategy, seed: 1), grid: Self.grid,
            patchSize: Self.patch, randomShare: share, seed: 9)
    }

    func testFreshRandomMasksChangeEveryEpochFixedOnesDoNot() throws {
        let inference = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
        let source = MaskSource(inference: inference, motion: nil)
        let fresh = try masks(.random, .fresh)
        let perEpoch = (0..<6).map { fresh.keep(source, video: 0, frame: 5, epoch: $0) }
        XCTAssertTrue(
            perEpoch.allSatisfy { $0.count == 12 && Set($0).count == 12 && $0.allSatisfy { (0..<49).contains($0) } })
        XCTAssertGreaterThanOrEqual(Set(perEpoch).count, 5, "a new mask each epoch: \(perEpoch)")
        XCTAssertEqual(
            fresh.keep(source, video: 0, frame: 5, epoch: 2), perEpoch[2], "reproducible (a resumed run sees the same)")
        XCTAssertNotEqual(fresh.keep(source, video: 1, frame: 5, epoch: 2), perEpoch[2], "another sample, another mask")
        let fixed = try masks(.random, .fixed)
        XCTAssertEqual(Set((0..<6).map { fixed.keep(source, video: 0, frame: 5, epoch: $0) }), [inference])
        // Deterministic strategies have nothing to draw.
        XCTAssertEqual(try masks(.uniform, .fresh).keep(source, video: 0, frame: 5, epoch: 3), inference)
    }

    /// Motion: the moving patches are always kept (share 0); the still ones fill the rest at
    /// random instead of always by index; share 1 is a random mask every time.
    func testFreshMotionMasksKeepTheMotionAndBreakTiesAtRandom() throws {
        var score = [Float](repeating: 0, count: 49)
        let moving = [3, 10, 17, 24, 31, 38, 45]  // one column moves
        for i in moving { score[i] = 5 }
        let source = MaskSource(inference: [], motion: score)
        let rankOnly = try masks(.motion, .fresh, share: 0)
        let drawn = (0..<8).map { rankOnly.keep(source, video: 0, frame: 4, epoch: $0) }
        for k in drawn {
            XCTAssertEqual(k.count, 12)
            XCTAssertTrue(Set(moving).isSubset(of: k), "moving patches kept: \(k)")
        }
        XCTAssertGreaterThan(Set(drawn).count, 4, "ties broken at random: \(drawn)")
        let randomOnly = try masks(.motion, .fresh, share: 1)
        let r = (0..<8).map { randomOnly.keep(source, video: 0, frame: 4, epoch: $0) }
        XCTAssertTrue(r.contains { !Set(moving).isSubset(of: $0) }, "share 1: random masks")
        // Share 0.5: about half of many draws are motion masks.
        let half = try masks(.motion, .fresh, share: 0.5)
        let motionLike = (0..<400).filter { Set(moving).isSubset(of: half.keep(source, video: 0, frame: $0, epoch: 0)) }
            .count
        XCTAssertTrue((150...260).contains(motionLike), "\(motionLike) of 400 kept every moving patch")
    }

    /// A state file and A file written before text distillation and fresh masks (only the
    /// metadata the trainer wrote then) resume with the settings they were trained with, and
    /// are refused, naming the setting, by a run with the new defaults.
    func testAStateFileFromBeforeTheseSettingsStillResumes() throws {
        let model = try TinyCLIP.model.get()
        let dir = try TempDirectory.make("legacy-state")
        defer { TempDirectory.remove(dir) }
        var old = TokenizerTrainingConfig()
        old.epochs = 1
        old.batchSize = 8
        old.learningRate = 5e-3
        old.holdout = 0.34
        old.split = .time
        old.loss = .cosine
        old.masks = .fixed
        old.weightDecay = 0.01
        old.beta2 = 0.999
        old.eps = 1e-8
        let out = dir.appendingPathComponent("a.safetensors")
        let stateURL = dir.appendingPathComponent("a.state.safetensors")
        let a = try TokenizerTrainer(model: model, config: old, videos: ResidualTrainingTests.videos).run(output: out)
        // Rewrite both files with exactly the keys the trainer wrote before this change.
        let state = try SafeTensorsFile(url: stateURL)
        var w = SafeTensorsWriter()
        for k in [
            "n", "p", "strategy", "seed", "holdout", "split", "loss", "anchor_codec", "clip_sha256", "epochs_done",
            "adamw.step", "adamw.tensors",
        ] {
            w.metadata[k] = try XCTUnwrap(state.metadata[k], k)
        }
        XCTAssertEqual(w.metadata["loss"], "visual cosine", "the name the old trainer wrote")
        for name in [
            "residual_tokenizer.weight", "residual_tokenizer.bias", "adamw.m.0", "adamw.v.0", "adamw.m.1", "adamw.v.1",
        ] {
            w.add(name, shape: try state.shape(name), values: try state.floats(name))
        }
        try w.write(to: stateURL)
        var legacyA = a
        legacyA.training = [:]
        legacyA.anchorCodec = nil
        try legacyA.save(to: out)
        XCTAssertEqual(
            try ResidualTokenizer(contentsOf: out, for: model).training, [:], "an old A file loads, with no recipe")

        var resumed = old
        resumed.epochs = 2
        var after: Int?
        let again = try TokenizerTrainer(model: model, config: resumed, videos: ResidualTrainingTests.videos).run(
            output: out, resume: true
        ) { e in
            if case .resumed(let n) = e { after = n }
        }
        XCTAssertEqual(after, 1)
        XCTAssertNotEqual(again.weight, a.weight, "it trained on")
        XCTAssertEqual(try SafeTensorsFile(url: stateURL).metadata["masks"], "fixed")

        // The new defaults differ in masks (and loss): refused, naming the setting.
        try w.write(to: stateURL)
        var fresh = resumed
        fresh.masks = .fresh
        XCTAssertThrowsError(
            try TokenizerTrainer(model: model, config: fresh, videos: ResidualTrainingTests.videos).run(
                output: out, resume: true)
        ) { e in
            guard case .cannotResume(_, let reason) = e as? TrainingError else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("masks = fixed"), reason)
        }
    }
}
