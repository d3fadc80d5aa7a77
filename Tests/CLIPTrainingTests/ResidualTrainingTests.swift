import CLIP
import CLIPTraining
import Foundation
import Tensor
import TestSupport
import XCTest

/// Training A end to end on synthetic videos with the tiny model: it must beat A = 0 on
/// held-out P-frames, resume exactly, and reject bad captions and mismatched state.
final class ResidualTrainingTests: XCTestCase {
    static let model = TinyCLIP.model
    var dir: URL!

    override func setUpWithError() throws {
        dir = try TempDirectory.make("train")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A pattern drifting right by `speed` pixels a frame (normalized CHW values), sampled
    /// at 2 fps: consecutive frames differ, so P-frames are not copies of their anchors.
    static func syntheticVideo(_ name: String, frames: Int, speed: Double, phase: Double, size: Int = 224)
        -> TrainingVideo
    {
        let plane = size * size
        var data = [Float](repeating: 0, count: frames * 3 * plane)
        for k in 0..<frames {
            for c in 0..<3 {
                for y in 0..<size {
                    for x in 0..<size {
                        let xs = Double(x) - speed * Double(k)
                        let blob = exp(
                            -(pow(xs.truncatingRemainder(dividingBy: 224) - 112, 2) + pow(Double(y) - 90, 2)) / 800)
                        let v =
                            1.2 * sin(0.045 * xs + 0.06 * Double(y) * (1 + 0.1 * Double(c)) + phase + Double(c))
                            + 1.5 * blob + 0.2 * cos(0.7 * Double((x * y + k) % 13))
                        data[((k * 3 + c) * size + y) * size + x] = Float(v)
                    }
                }
            }
        }
        let frozen = data
        return TrainingVideo(name: name, times: (0..<frames).map { Double($0) / 2 }, duration: Double(frames) / 2) {
            k, into in
            frozen.withUnsafeBufferPointer { into.update(from: $0.baseAddress! + k * 3 * plane, count: 3 * plane) }
        }
    }

    static let videos: [TrainingVideo] = [
        syntheticVideo("/videos/a.mp4", frames: 18, speed: 9, phase: 0),
        syntheticVideo("/videos/b.mp4", frames: 18, speed: -7, phase: 1.3),
    ]

    func config(epochs: Int) -> TokenizerTrainingConfig {
        var c = TokenizerTrainingConfig()
        c.epochs = epochs
        c.batchSize = 8
        c.learningRate = 5e-3
        c.holdout = 0.34
        c.split = .time
        // The visual loss: these tests are about the trainer's mechanics (held-out gain,
        // resume, anchors); TextDistillationTests covers the default text loss.
        c.loss = .cosine
        c.textCache = Self.textCache
        return c
    }

    /// One text-embedding cache for the test process (the shipped prompts embed once).
    static let textCache = FileManager.default.temporaryDirectory.appendingPathComponent(
        "rstore-text-cache-\(getpid())")

    func testTrainingRaisesHeldOutCosineOverZero() throws {
        let model = try Self.model.get()
        let trainer = try TokenizerTrainer(model: model, config: config(epochs: 6), videos: Self.videos)
        var setup: TrainingSetup?
        var reports: [EpochReport] = []
        let a = try trainer.run(output: dir.appendingPathComponent("a.safetensors")) { e in
            if case .prepared(let s) = e { setup = s }
            if case .epoch(let r) = e { reports.append(r) }
        }
        let s = try XCTUnwrap(setup)
        XCTAssertEqual(s.split, "time")
        XCTAssertEqual(s.loss, "visual cosine")
        XCTAssertGreaterThan(s.heldOutSamples, 0)
        XCTAssertEqual(reports.count, 6)
        let baseline = try XCTUnwrap(s.baselineHeldOutCosine)
        let trained = try XCTUnwrap(reports.last?.heldOutCosine)
        print("held-out mean cos(P, full): A = 0 \(baseline), trained \(trained); train losses \(reports.map(\.loss))")
        XCTAssertGreaterThan(
            trained, baseline, "trained A must beat the token-reduction-only baseline on held-out P-frames")
        XCTAssertLessThan(reports.last!.loss, reports.first!.loss)
        // The file written is what the encoder loads.
        let loaded = try ResidualTokenizer(contentsOf: dir.appendingPathComponent("a.safetensors"), for: model)
        XCTAssertEqual(loaded, a)
        XCTAssertFalse(loaded.isZero)
    }

    /// A is fed the anchors as `config.anchor` returns them (the store's round trip in the CLI):
    /// a quantizer that erases them leaves A's input at zero, so its weight gets no gradient.
    func testAnchorsGoThroughTheConfiguredQuantizer() throws {
        let model = try Self.model.get()
        var erased = config(epochs: 1)
        erased.anchor = AnchorQuantizer(name: "erase") { rows, _ in [Float](repeating: 0, count: rows.count) }
        let url = dir.appendingPathComponent("erased.safetensors")
        let a = try TokenizerTrainer(model: model, config: erased, videos: Self.videos).run(output: url)
        XCTAssertTrue(a.weight.allSatisfy { $0 == 0 }, "no anchor reached A")
        XCTAssertFalse(a.bias.allSatisfy { $0 == 0 })
        XCTAssertEqual(try ResidualTokenizer(contentsOf: url, for: model).anchorCodec, "erase", "recorded in A's file")
        let exact = try TokenizerTrainer(model: model, config: config(epochs: 1), videos: Self.videos)
            .run(output: dir.appendingPathComponent("exact.safetensors"))
        XCTAssertFalse(exact.weight.allSatisfy { $0 == 0 })
        XCTAssertEqual(exact.anchorCodec, AnchorQuantizer.exact.name)
        // A state file written with other anchors is not resumed.
        XCTAssertThrowsError(
            try TokenizerTrainer(model: model, config: config(epochs: 2), videos: Self.videos).run(
                output: url, resume: true)
        ) { e in
            guard case .cannotResume(_, let reason) = e as? TrainingError else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("anchor_codec = erase"), reason)
        }
    }

    func testResumeContinuesExactly() throws {
        let model = try Self.model.get()
        let straight = try TokenizerTrainer(model: model, config: config(epochs: 2), videos: Self.videos)
            .run(output: dir.appendingPathComponent("straight.safetensors"))
        let out = dir.appendingPathComponent("resumed.safetensors")
        try TokenizerTrainer(model: model, config: config(epochs: 1), videos: Self.videos).run(output: out)
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: dir.appendingPathComponent("resumed.state.safetensors").path))
        var resumedAfter: Int?
        let resumed = try TokenizerTrainer(model: model, config: config(epochs: 2), videos: Self.videos).run(
            output: out, resume: true
        ) { e in
            if case .resumed(let n) = e { resumedAfter = n }
        }
        XCTAssertEqual(resumedAfter, 1)
        assertClose(resumed.weight, straight.weight, tolerance: 1e-6, "resumed A weight")
        assertClose(resumed.bias, straight.bias, tolerance: 1e-6, "resumed A bias")

        // Other data settings: refused, naming the setting.
        var other = config(epochs: 3)
        other.p = 0.5
        XCTAssertThrowsError(
            try TokenizerTrainer(model: model, config: other, videos: Self.videos).run(output: out, resume: true)
        ) { e in
            guard case .cannotResume(_, let reason) = e as? TrainingError else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("p = 0.85"), reason)
        }
        // No state to resume from.
        XCTAssertThrowsError(
            try TokenizerTrainer(model: model, config: config(epochs: 2), videos: Self.videos)
                .run(output: dir.appendingPathComponent("none.safetensors"), resume: true)
        ) { e in
            guard case .cannotResume = e as? TrainingError else { return XCTFail("\(e)") }
        }
        // An A file trained for other CLIP weights at --out.
        let foreign = ResidualTokenizer(
            weight: resumed.weight, bias: resumed.bias, embedDim: resumed.embedDim, width: resumed.width,
            clipSHA256: String(repeating: "ab", count: 32))
        try foreign.save(to: out)
        XCTAssertThrowsError(
            try TokenizerTrainer(model: model, config: config(epochs: 3), videos: Self.videos).run(
                output: out, resume: true)
        ) { e in
            guard case .wrongWeights(let path, _, _) = e as? ResidualError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, out.path)
        }
    }

    func testBadParameters() throws {
        let model = try Self.model.get()
        for (mutate, needle) in [
            ({ (c: inout TokenizerTrainingConfig) in c.p = 1 }, "[0, 1)"),
            ({ $0.p = -0.1 }, "[0, 1)"),
            ({ $0.n = -1 }, ">= 0"),
            ({ $0.n = 0 }, "no P-frames"),
            ({ $0.batchSize = 0 }, "batch"),
            ({ $0.beta2 = 1 }, "betas"),
            ({ $0.eps = 0 }, "eps"),
            ({ $0.logitScale = .nan }, "logit scale"),
            ({ $0.motionRandomShare = 1.5 }, "random share"),
        ] as [((inout TokenizerTrainingConfig) -> Void, String)] {
            var c = config(epochs: 1)
            mutate(&c)
            XCTAssertThrowsError(try TokenizerTrainer(model: model, config: c, videos: Self.videos)) { e in
                guard case .badParameter(let m) = e as? TrainingError else { return XCTFail("\(e)") }
                XCTAssertTrue(m.contains(needle), m)
            }
        }
        let wrongDims = ResidualTokenizer(
            weight: [Float](repeating: 0.1, count: 8 * 3), bias: [Float](repeating: 0, count: 8),
            embedDim: 3, width: 8, clipSHA256: model.weightsSHA256)
        XCTAssertThrowsError(
            try TokenizerTrainer(model: model, config: config(epochs: 1), videos: Self.videos)
                .run(output: dir.appendingPathComponent("x.safetensors"), initial: wrongDims)
        ) { e in
            guard case .badParameter(let m) = e as? TrainingError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("3 -> 8"), m)
        }
    }

    func testCaptionsParseAndReject() throws {
        let videos = Self.videos  // durations 9 s
        let good = """
            {"path": "/videos/a.mp4", "start": 0, "end": 4.5, "text": "a drifting pattern"}

            # comments and blank lines are skipped
            {"path": "b.mp4", "start": 2, "end": 9, "text": "a blob moving left"}
            """
        let parsed = try CaptionFile.parse(good, path: "caps.jsonl", baseDirectory: nil, videos: videos)
        XCTAssertEqual(parsed.map(\.video), [0, 1])
        XCTAssertEqual(parsed.map(\.line), [1, 4])
        XCTAssertTrue(parsed[1].covers(2) && !parsed[1].covers(1.5))

        let bad: [(String, String)] = [
            (#"{"path": "/videos/zzz.mp4", "start": 0, "end": 1, "text": "x"}"#, "not one of the videos"),
            (#"{"path": "/videos/a.mp4", "start": 20, "end": 21, "text": "x"}"#, "outside"),
            (#"{"path": "/videos/a.mp4", "start": 3, "end": 1, "text": "x"}"#, "not a valid time range"),
            (#"{"path": "/videos/a.mp4", "start": -1, "end": 1, "text": "x"}"#, "not a valid time range"),
            (#"{"path": "/videos/a.mp4", "start": 0, "end": 1}"#, "text"),
            (#"{"path": "/videos/a.mp4", "start": "0", "end": 1, "text": "x"}"#, "numbers"),
            ("not json", "not a JSON object"),
        ]
        for (line, needle) in bad {
            let text = #"{"path": "/videos/b.mp4", "start": 0, "end": 1, "text": "fine"}"# + "\n" + line
            XCTAssertThrowsError(try CaptionFile.parse(text, path: "caps.jsonl", baseDirectory: nil, videos: videos)) {
                e in
                guard case .badCaption(let p, let l, let reason) = e as? TrainingError else { return XCTFail("\(e)") }
                XCTAssertEqual(p, "caps.jsonl")
                XCTAssertEqual(l, 2, "names the line")
                XCTAssertTrue(reason.contains(needle), "\(reason) should mention \(needle)")
                XCTAssertTrue("\(e)".hasPrefix("caps.jsonl:2: "), "\(e)")
            }
        }
        // From a file: a relative path resolves against the captions file's folder.
        let url = dir.appendingPathComponent("caps.jsonl")
        try #"{"path": "missing.mp4", "start": 0, "end": 1, "text": "x"}"#.write(
            to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CaptionFile.load(url, videos: videos)) { e in
            XCTAssertTrue("\(e)".contains("caps.jsonl:1: "), "\(e)")
        }
    }

    func testCaptionLossTrains() throws {
        let model = try Self.model.get()
        let captions = try CaptionFile.parse(
            """
            {"path": "/videos/a.mp4", "start": 0, "end": 5, "text": "stripes drifting right"}
            {"path": "/videos/a.mp4", "start": 5, "end": 9, "text": "a bright blob"}
            {"path": "/videos/b.mp4", "start": 0, "end": 9, "text": "a pattern moving left"}
            """, path: "caps", baseDirectory: nil, videos: Self.videos)
        var c = config(epochs: 2)
        c.loss = .text
        let trainer = try TokenizerTrainer(model: model, config: c, videos: Self.videos, captions: captions)
        XCTAssertEqual(trainer.lossName, "text soft-ce (image-to-text)")
        var setup: TrainingSetup?
        var losses: [Float] = []
        let a = try trainer.run(output: dir.appendingPathComponent("c.safetensors")) { e in
            if case .prepared(let s) = e { setup = s }
            if case .epoch(let r) = e { losses.append(r.loss) }
        }
        XCTAssertEqual(setup?.captionTexts, 3, "the captions come first in the text bank")
        XCTAssertEqual(setup?.texts, 3 + 4096, "topped up from the shipped prompts")
        XCTAssertEqual(losses.count, 2)
        XCTAssertTrue(losses.allSatisfy(\.isFinite))
        XCTAssertFalse(a.isZero)
    }
}
