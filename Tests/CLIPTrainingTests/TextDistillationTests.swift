import CLIP
import Foundation
import Tensor
import TestSupport
import XCTest

@testable import CLIPTraining

/// Text distillation, the default loss for A: its gradient, the text bank (shipped prompts,
/// cached embeddings) and what a run records.
final class TextDistillationTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TempDirectory.make("textdist") }
    override func tearDownWithError() throws { TempDirectory.remove(dir) }

    /// d loss / d student by central differences in Double on random features, for both
    /// direction settings and at the text loss's logit scale 100.
    func testTextLossGradientMatchesFiniteDifferences() {
        var rng = SplitMix(seed: 25)
        let dim = 6
        let n = 4
        let m = 9
        let student = (0..<(n * dim)).map { _ in rng.normal() }
        let teacher = (0..<(n * dim)).map { _ in rng.normal() }
        let bank = (0..<(m * dim)).map { _ in rng.normal() }
        for directions in TextDirections.allCases {
            // Scale 10 here: at 100 the softmaxes of 6-dim random vectors saturate and float
            // differences lose the signal; the formula does not depend on the scale's size.
            let r = DistillationLosses.softTarget(
                student: student, teacher: teacher, bank: bank, dim: dim, scale: 10, directions: directions)
            XCTAssertTrue(r.value.isFinite && r.value > 0)
            for i in [0, 5, 7, 13, 23] {
                let h: Float = 1e-3
                var plus = student
                var minus = student
                plus[i] += h
                minus[i] -= h
                let lp = DistillationLosses.softTarget(
                    student: plus, teacher: teacher, bank: bank, dim: dim, scale: 10, directions: directions
                ).value
                let lm = DistillationLosses.softTarget(
                    student: minus, teacher: teacher, bank: bank, dim: dim, scale: 10, directions: directions
                ).value
                let numeric = Double(lp - lm) / Double(2 * h)
                XCTAssertEqual(
                    numeric, Double(r.gradient[i]), accuracy: 2e-2 * max(1, abs(numeric)),
                    "\(directions) coordinate \(i)")
            }
        }
        // Image-to-text is one of the two terms: adding the other changes the value.
        let one = DistillationLosses.softTarget(
            student: student, teacher: teacher, bank: bank, dim: dim, scale: 10, directions: .imageToText)
        let both = DistillationLosses.softTarget(
            student: student, teacher: teacher, bank: bank, dim: dim, scale: 10, directions: .both)
        XCTAssertGreaterThan(both.value, one.value)
        // A student equal to the teacher is at the minimum of the image-to-text term: zero gradient.
        let same = DistillationLosses.softTarget(
            student: teacher, teacher: teacher, bank: bank, dim: dim, scale: 100, directions: .imageToText)
        XCTAssertLessThan(same.gradient.map(abs).max()!, 1e-5)
    }

    /// Through the frozen ViT to A (the torch fixture's batch and texts), image-to-text only:
    /// A's gradient against central differences of the whole forward pass.
    func testImageToTextGradientThroughTheStudentMatchesFiniteDifferences() throws {
        let model = try TinyCLIP.model.get()
        let r = try ResidualTrainingBackwardTests.reference()
        let stride = 3 * model.config.imageSize * model.config.imageSize
        let b = model.config.embedDim
        func run(_ a: ResidualTokenizer) -> (Double, TokenizerGradient) {
            r.pixels.withUnsafeBufferPointer { px in
                let pass = StudentPass(
                    model: model, tokenizer: a, pixels: (0..<r.cases.keeps.count).map { px.baseAddress! + $0 * stride },
                    keeps: r.cases.keeps, anchors: r.anchors)
                let l = DistillationLosses.softTarget(
                    student: pass.features, teacher: r.teacher, bank: r.texts, dim: b,
                    scale: r.cases.scale, directions: .imageToText)
                return (Double(l.value), pass.gradient(featureGradient: l.gradient))
            }
        }
        let grad = run(r.tokenizer).1
        let eps: Float = 1e-2
        for i in grad.bias.indices.sorted(by: { abs(grad.bias[$0]) > abs(grad.bias[$1]) }).prefix(3) {
            var plus = r.tokenizer
            var minus = r.tokenizer
            plus.bias[i] += eps
            minus.bias[i] -= eps
            let numeric = (run(plus).0 - run(minus).0) / Double(2 * eps)
            let analytic = Double(grad.bias[i])
            XCTAssertLessThan(
                abs(numeric - analytic) / max(abs(numeric), abs(analytic), 1e-6), 2e-2,
                "bias[\(i)]: \(numeric) vs \(analytic)")
        }
    }

    /// The proxy: the teacher's first text, ranked under the student. A student equal to the
    /// teacher ranks it first; one pointing elsewhere ranks it lower, by the count of texts
    /// it prefers.
    func testTextRetrievalProxyRanksTheTeachersFirstText() {
        // Unit texts along the axes of a 4-dim space.
        let bank: [Float] = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
        let teacher: [Float] = [0.9, 0.1, 0, 0, 0, 0, 2, 0.5]  // first texts: 0 and 2 (any scale)
        var same = TextRetrievalProxy()
        same.add(student: teacher, teacher: teacher, unitBank: bank, dim: 4)
        XCTAssertEqual([same.r1, same.r5, same.meanRank], [100, 100, 1])
        XCTAssertEqual(same.texts, 4)
        var off = TextRetrievalProxy()
        // Frame 0's student prefers texts 1 and 3 over 0 (rank 3); frame 1's keeps text 2 first.
        off.add(student: [0.1, 0.5, 0, 0.3, 0, 0, 1, 0.9], teacher: teacher, unitBank: bank, dim: 4)
        XCTAssertEqual(off.frames, 2)
        XCTAssertEqual(off.r1, 50)
        XCTAssertEqual(off.r5, 100)
        XCTAssertEqual(off.meanRank, 2)
    }

    func testShippedPromptSetHasThousandsOfDistinctSentences() throws {
        let set = try PromptSet.shipped()
        XCTAssertEqual(set.texts.count, 4096)
        XCTAssertEqual(Set(set.texts).count, set.texts.count, "no duplicates")
        XCTAssertTrue(set.texts.allSatisfy { !$0.isEmpty && $0.count < 120 })
        // A file of one's own: comments and blank lines skipped; an empty one is an error naming it.
        let url = dir.appendingPathComponent("mine.txt")
        try "# my sentences\n\na dog runs\na cat sleeps\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertEqual(try PromptSet.load(url).texts, ["a dog runs", "a cat sleeps"])
        try "# nothing\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PromptSet.load(url)) { XCTAssertTrue("\($0)".contains(url.path), "\($0)") }
    }

    /// A binary copied without its resource bundle: a typed error that names the way out, not
    /// the trap `Bundle.module` would hit.
    func testAMissingPromptSetIsAnErrorNamingTextSet() {
        XCTAssertThrowsError(try PromptSet.shipped(searching: [dir])) { e in
            guard case .badParameter(let m) = e as? TrainingError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("--text-set") && m.contains(self.dir.path), m)
        }
    }

    /// Text distillation needs the text tower; a model without one is refused up front with
    /// the visual loss named, and trains with it.
    func testTextLossNeedsATextTower() throws {
        let visionOnly = CLIPModel(randomWith: try TinyCLIP.model.get().config, seed: 2)
        XCTAssertNil(visionOnly.text)
        XCTAssertThrowsError(
            try TokenizerTrainer(
                model: visionOnly, config: TokenizerTrainingConfig(), videos: ResidualTrainingTests.videos)
        ) { e in
            guard case .badParameter(let m) = e as? TrainingError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("no text tower") && m.contains("--loss cosine"), m)
        }
        var c = TokenizerTrainingConfig()
        c.loss = .cosine
        c.textProxy = true  // asked for, but there is no text tower: no proxy, no error
        XCTAssertNoThrow(try TokenizerTrainer(model: visionOnly, config: c, videos: ResidualTrainingTests.videos))
    }

    /// Embedded once per (weights, text set): the second call reads the file; another set or a
    /// damaged file is computed again.
    func testTextBankCacheIsKeyedByWeightsAndTexts() throws {
        let model = try TinyCLIP.model.get()
        let set = PromptSet(texts: ["a dog runs", "a cat sleeps", "a red car"], source: "test")
        let first = try TextBankCache.embeddings(model: model, set: set, folder: dir)
        XCTAssertTrue(first.computed)
        let again = try TextBankCache.embeddings(model: model, set: set, folder: dir)
        XCTAssertFalse(again.computed)
        XCTAssertEqual(again.embeddings, first.embeddings)
        XCTAssertEqual(first.embeddings, try model.encodeTexts(set.texts).embeddings)
        let other = PromptSet(texts: ["a dog runs", "a cat sleeps"], source: "test")
        XCTAssertTrue(try TextBankCache.embeddings(model: model, set: other, folder: dir).computed)
        let file = TextBankCache.url(model: model, set: set, folder: dir)
        try Data("garbage".utf8).write(to: file)
        let repaired = try TextBankCache.embeddings(model: model, set: set, folder: dir)
        XCTAssertTrue(repaired.computed)
        XCTAssertEqual(repaired.embeddings, first.embeddings)
    }

    /// The default run: text loss through the shipped prompts (no captions needed), the
    /// authors' optimiser, fresh masks; all of it named in A's file and in the state file.
    func testTextDistillationIsTheDefaultAndTheRecipeIsRecorded() throws {
        let model = try TinyCLIP.model.get()
        var c = TokenizerTrainingConfig()
        XCTAssertEqual(c.loss, .text)
        XCTAssertEqual(c.textDirections, .imageToText)
        XCTAssertEqual([c.weightDecay, c.beta1, c.beta2, c.eps], [0, 0.9, 0.98, 1e-6])
        XCTAssertEqual(c.masks, .fresh)
        c.epochs = 2
        c.batchSize = 8
        c.learningRate = 5e-3
        c.holdout = 0.34
        c.split = .time
        c.textCache = dir
        c.textsPerStep = 256
        let trainer = try TokenizerTrainer(model: model, config: c, videos: ResidualTrainingTests.videos)
        XCTAssertEqual(trainer.lossName, "text soft-ce (image-to-text)")
        var setup: TrainingSetup?
        var losses: [Float] = []
        let out = dir.appendingPathComponent("a.safetensors")
        let a = try trainer.run(output: out) { e in
            if case .prepared(let s) = e { setup = s }
            if case .epoch(let r) = e { losses.append(r.loss) }
        }
        XCTAssertEqual(setup?.texts, 4096, "the shipped prompt set, no captions")
        XCTAssertEqual(setup?.captionTexts, 0)
        XCTAssertTrue(losses.allSatisfy { $0.isFinite && $0 > 0 })
        XCTAssertFalse(a.isZero)
        let loaded = try ResidualTokenizer(contentsOf: out, for: model)
        XCTAssertEqual(loaded.training["loss"], "text soft-ce (image-to-text)")
        XCTAssertEqual(loaded.training["masks"], "fresh")
        XCTAssertEqual(loaded.training["texts_per_step"], "256")
        XCTAssertEqual(loaded.training["logit_scale"], "100.0")
        XCTAssertEqual(loaded.training["beta2"], "0.98")
        XCTAssertEqual(loaded.training["text_set_sha256"], try PromptSet.shipped().sha256)
        let state = try SafeTensorsFile(url: dir.appendingPathComponent("a.state.safetensors"))
        XCTAssertEqual(state.metadata["loss"], "text soft-ce (image-to-text)")
        XCTAssertEqual(state.metadata["masks"], "fresh")
        XCTAssertEqual(state.metadata["motion_random_share"], "0.5")
        XCTAssertEqual(state.metadata["adamw.beta2"], "0.98")
        XCTAssertEqual(state.metadata["adamw.eps"], "1e-06")
        XCTAssertEqual(state.metadata["adamw.weight_decay"], "0.0")
        // The prompts were embedded once and cached for these weights.
        XCTAssertFalse(try TextBankCache.embeddings(model: model, set: PromptSet.shipped(), folder: dir).computed)
        // Both directions is another loss: a resume across it is refused, naming it.
        var both = c
        both.textDirections = .both
        both.epochs = 3
        XCTAssertThrowsError(
            try TokenizerTrainer(model: model, config: both, videos: ResidualTrainingTests.videos).run(
                output: out, resume: true)
        ) { e in
            XCTAssertTrue("\(e)".contains("loss = text soft-ce (image-to-text)"), "\(e)")
        }
    }

    /// Captions are the first texts of the bank; the cosine loss does not use them, so giving
    /// them with it is refused rather than silently ignored.
    func testCaptionsNeedTheTextLoss() throws {
        let model = try TinyCLIP.model.get()
        let captions = try CaptionFile.parse(
            #"{"path": "/videos/a.mp4", "start": 0, "end": 5, "text": "stripes"}"#,
            path: "caps", baseDirectory: nil, videos: ResidualTrainingTests.videos)
        var c = TokenizerTrainingConfig()
        c.loss = .cosine
        XCTAssertThrowsError(
            try TokenizerTrainer(model: model, config: c, videos: ResidualTrainingTests.videos, captions: captions)
        ) { e in
            guard case .badParameter(let m) = e as? TrainingError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("text loss"), m)
        }
        c.loss = .text
        c.textsPerStep = 1
        XCTAssertThrowsError(try TokenizerTrainer(model: model, config: c, videos: ResidualTrainingTests.videos)) { e in
            XCTAssertTrue("\(e)".contains("texts per step"), "\(e)")
        }
    }
}
