import ArgumentParser
import CLIP
import CLIPTraining
import Foundation
import RStoreCommandLine
import ResidualStore
import Store
import Timeline
import Video

/// `rstore train-tokenizer`: trains ResidualViT's residual tokenizer A on videos with the
/// CLIP weights frozen, and writes it as its own safetensors file tied to those weights.
struct TrainTokenizerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-tokenizer",
        abstract: "Train the residual tokenizer A (ResidualViT) on videos; the CLIP ViT stays frozen.",
        discussion: """
            Every sampled frame is encoded once by the full ViT (the teacher, and the I-features). \
            P-frames (k % (N+1) != 0) are the samples: the student is the frozen ViT over [CLS], \
            A(unit anchor I-feature) and the kept patches, drawn afresh every step (--masks). The \
            default loss is the paper's text distillation: soft-target cross-entropy of the \
            teacher's and the student's similarities (x --logit-scale) to --texts-per-step texts, \
            the batch's --captions topped up from a fixed set of 4096 prompts shipped with rstore \
            (or --text-set), embedded once per model and cached; image-to-text as the authors' \
            script, or --text-directions both. --loss cosine is the visual-only 1 - cos. AdamW \
            defaults are the authors' (weight decay 0, beta2 0.98, eps 1e-6). A is written after \
            every epoch with the recipe in its metadata, and a state file beside it \
            (<out>.state.safetensors) that --resume continues from.
            """)

    @OptionGroup var model: ModelOption
    @Argument(help: "Video files, or folders of them (the extensions `rstore index` takes).") var inputs: [String]
    @Option(help: "Where to write A (safetensors).") var out: String
    @Option(help: "JSON Lines of {\"path\", \"start\", \"end\", \"text\"}: captions of time spans.") var captions:
        String?
    @Option(help: "P-frames per I-frame.") var n = IndexRecipe.default.n
    @Option(help: "Token drop ratio of the P-frames, in [0, 1).") var p = IndexRecipe.default.p
    @Option(help: "Patch selection: random, uniform, center, motion.") var strategy = IndexRecipe.default.strategy
    @Option(help: "Sampling rate in frames per second.") var fps = IndexRecipe.default.fps
    @Option(
        help:
            """
            I-frame placement, as `rstore index --iframes`: fixed (every N+1 samples) or adaptive (also at each shot \
            cut, so no training pair's anchor is in another shot).
            """
    )
    var iframes = IndexRecipe.defaultIFrames
    @Option(help: "Epochs (a resumed run continues up to this many).") var epochs = 5
    @Option(help: "P-frames per step.") var batch = 256
    @Option(help: "AdamW learning rate.") var lr: Float = 5e-4
    @Option(name: .customLong("weight-decay"), help: "AdamW decoupled weight decay on A's weight.") var weightDecay:
        Float = 0
    @Option(help: "AdamW beta2.") var beta2: Float = 0.98
    @Option(help: "AdamW eps.") var eps: Float = 1e-6
    @Option(help: "Random seed (shuffles, split, random strategy).") var seed: UInt64 = 0
    @Option(help: "Fraction of P-frames held out for evaluation, in [0, 1).") var holdout = 0.2
    @Option(help: "Held-out split: auto (by video with 5+ videos, else by time), video, time.") var split = HoldoutSplit
        .auto
    @Option(
        help:
            """
            Loss: text (distillation through texts), cosine (1 - cos to the teacher), soft-ce (over the batch's \
            teacher features).
            """
    )
    var loss = DistillationLoss.text
    @Option(
        name: .customLong("visual-loss"),
        help: ArgumentHelp("Old spelling of --loss cosine / --loss soft-ce.", visibility: .hidden))
    var visualLoss: VisualLoss?
    @Option(name: .customLong("text-directions"), help: "Text loss softmaxes: image-to-text (the authors') or both.")
    var textDirections = TextDirections.imageToText
    @Option(
        name: .customLong("texts-per-step"), help: "Texts each step scores against (captions first, then the text set)."
    )
    var textsPerStep = 512
    @Option(name: .customLong("logit-scale"), help: "Multiplier of the cosines in the text loss.") var logitScale:
        Float = 100
    @Option(name: .customLong("text-set"), help: "Text file, one sentence a line, instead of the shipped prompt set.")
    var textSet: String?
    @Option(help: "Training masks: fresh (new every step) or fixed (one per P-frame, inference's).") var masks =
        MaskSchedule.fresh
    @Option(
        name: .customLong("motion-random-share"),
        help: "With fresh masks and --strategy motion: share of samples given a random mask each step.")
    var motionRandomShare = 0.5
    @Option(
        name: .customLong("anchor-codec"),
        help: "Round A's anchors as the store will: f16+lz4 (the index default), i8+lz4, f32+lz4.")
    var anchorCodec = FeatureCodec.f16
    @Flag(help: "Continue from the state file written beside --out.") var resume = false

    func validate() throws {
        // N = 0 has no P-frames to train on.
        try checkSampling(
            SamplingLimits.problem(n: n, atLeast: 1) ?? SamplingLimits.problem(p: p) ?? SamplingLimits.problem(fps: fps)
        )
        guard epochs >= 0 else { throw ValidationError("--epochs must be >= 0") }
        guard batch >= 1 else { throw ValidationError("--batch must be >= 1") }
        guard lr > 0 else { throw ValidationError("--lr must be > 0") }
        guard holdout >= 0, holdout < 1 else { throw ValidationError("--holdout must be in [0, 1), got \(holdout)") }
    }

    func run() async throws {
        let clip = try model.load()
        var config = TokenizerTrainingConfig()
        config.n = n
        config.p = p
        config.strategy = strategy
        config.epochs = epochs
        config.batchSize = batch
        config.learningRate = lr
        config.weightDecay = weightDecay
        config.beta2 = beta2
        config.eps = eps
        config.seed = seed
        config.holdout = holdout
        config.split = split
        config.loss = visualLoss?.loss ?? loss
        config.textDirections = textDirections
        config.textsPerStep = textsPerStep
        config.logitScale = logitScale
        config.textSet = textSet.map { URL(fileURLWithPath: $0) }
        config.masks = masks
        config.motionRandomShare = motionRandomShare
        config.textProxy = clip.text != nil
        config.iframes = iframes
        config.anchor = .stored(anchorCodec)
        let outURL = URL(fileURLWithPath: out)
        if resume, FileManager.default.fileExists(atPath: outURL.path) {
            _ = try ResidualTokenizer(contentsOf: outURL, for: clip)  // A for other weights: fail before decoding
        }

        let paths = try Self.videoFiles(inputs)
        let console = Console()
        defer { console.bar.finish() }
        var videos: [TrainingVideo] = []
        for path in paths {
            let reader = try VideoReader(url: URL(fileURLWithPath: path))
            var images: [RGBImage] = []
            var times: [Double] = []
            var deltas: [PatchMotion] = []
            // The motion strategy ranks by codec motion where the codec has it, as the library.
            let vectors = config.strategy == .motion && reader.exportsMotionVectors
            try reader.forEachFrame(
                fps: fps,
                motion: vectors ? MotionGrid(imageSize: clip.config.imageSize, grid: clip.config.gridSize) : nil
            ) { frame in
                images.append(clip.crop(frame.image))  // uint8: 150 KB a frame
                times.append(frame.offset.time)
                if let m = frame.motion { deltas.append(m) }
            }
            // The same detector, on the same crops and with the same settings, as adaptive ingest.
            let cuts =
                iframes == .adaptive ? ShotCutDetector.shotStarts(images, settings: .adaptivePlacement(n: n)) : []
            let shotStarts = try ShotStarts(cuts)
            console.line(
                "\(path): \(images.count) frames at \(fps) fps (\(String(format: "%.1f", reader.info.duration)) s)"
                    + (iframes == .adaptive ? ", \(cuts.count) shot cuts" : ""))
            let frames = images
            let layout = FrameLayout(n: config.n, shotStarts: shotStarts)
            let motion =
                deltas.count == images.count
                ? (0..<images.count).map { k in
                    layout.isIFrame(k) ? nil : PatchMotion.span(deltas[(layout.anchor(of: k) + 1)...k])
                }
                : []
            videos.append(
                TrainingVideo(
                    name: path, times: times, duration: reader.info.duration,
                    pixels: { k, into in
                        CLIPPreprocessor.normalize(frames[k], into: into)
                    }, motion: { k in motion.isEmpty ? nil : motion[k] }, shotStarts: shotStarts))
        }
        let captionList = try captions.map { try CaptionFile.load(URL(fileURLWithPath: $0), videos: videos) } ?? []
        if let captions { console.line("\(captions): \(captionList.count) captions") }

        let trainer = try TokenizerTrainer(model: clip, config: config, videos: videos, captions: captionList)
        console.line(
            """
            model \(clip.config.archName), N=\(n) p=\(p) strategy=\(strategy.rawValue) iframes=\(iframes.rawValue), \
            loss: \(trainer.lossName)
            """
                + (config.loss == .text && captionList.isEmpty ? " (no captions: the text set only)" : "")
                + ", masks \(masks.rawValue), anchors as \(config.anchor.name)")
        let a = try trainer.run(output: outURL, resume: resume) { event in
            switch event {
            case .teacher(let done, let total):
                console.progress("teacher features", done, total)
            case .prepared(let s):
                console.line(
                    "split: \(s.split); \(s.trainSamples) train / \(s.heldOutSamples) held-out P-frames"
                        + (s.texts > 0
                            ? """
                            ; text bank \(s.texts) texts (\(s.captionTexts) captions), \
                            \(min(s.texts, textsPerStep)) a step
                            """
                            : ""))
                console.line(
                    "A = 0 (no residual token): mean cos(P, full) train \(fmt(s.baselineTrainCosine))"
                        + (s.baselineHeldOutCosine.map { ", held-out \(fmt($0))" } ?? "")
                        + textLine(s.baselineHeldOutText))
            case .resumed(let e):
                console.line("resumed after epoch \(e)")
            case .batch(let epoch, let index, let of, let loss):
                console.progress("epoch \(epoch)/\(epochs) loss \(String(format: "%.4f", loss))", index, of)
            case .epoch(let r):
                console.line(
                    String(
                        format: "epoch %d/%d  loss %.5f  train cos %@  held-out cos %@  (%.1f s)", r.epoch, epochs,
                        r.loss, fmt(r.trainCosine), r.heldOutCosine.map(fmt) ?? "-", r.seconds)
                        + textLine(r.heldOutText))
            }
        }
        console.line(
            "wrote \(outURL.path) (A: \(a.embedDim) -> \(a.width), for CLIP \(clip.weightsSHA256.prefix(16))…); "
                + "state: \(outURL.deletingPathExtension().appendingPathExtension("state.safetensors").path)")
    }

    /// Files as given, and the video files inside given folders (sorted, not recursive).
    static func videoFiles(_ inputs: [String]) throws -> [String] {
        let extensions = Library.videoExtensions
        var out: [String] = []
        for input in inputs {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDir) else {
                throw ValidationError("\(input): no such file or folder")
            }
            if isDir.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: input).sorted()
                let videos = names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
                guard !videos.isEmpty else {
                    throw ValidationError("\(input): no video files (\(extensions.sorted().joined(separator: ", ")))")
                }
                out += videos.map { (input as NSString).appendingPathComponent($0) }
            } else {
                out.append(input)
            }
        }
        return out
    }
}

private func fmt(_ x: Float) -> String { String(format: "%.4f", x) }

/// The held-out text-retrieval proxy: rank, under the P-feature, of the text the full feature ranks first.
private func textLine(_ t: TextRetrievalProxy?) -> String {
    guard let t, t.frames > 0 else { return "" }
    return String(
        format: "; text proxy over %d texts: R@1 %.1f%%, R@5 %.1f%%, mean rank %.2f", t.texts, t.r1, t.r5, t.meanRank)
}

/// Plain lines on stdout; the progress bar on stderr (drawn only on a terminal).
private final class Console {
    let bar = ProgressBar()

    func line(_ s: String) {
        bar.finish()
        FileHandle.standardOutput.write(Data((s + "\n").utf8))  // unbuffered: lines appear as epochs end
    }

    func progress(_ label: String, _ done: Int, _ total: Int) { bar.update(label, done: done, total: total) }
}
