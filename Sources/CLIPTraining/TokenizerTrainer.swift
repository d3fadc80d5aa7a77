import CLIP
import Foundation
import Tensor
import Timeline

/// Trains the residual tokenizer A with the ViT frozen.
///
/// Teacher features (full ViT) of every sampled frame are computed once; they are the targets
/// of the P-frames, and those of the I-frames, rounded by `config.anchor` (the store's codec),
/// are the anchors A is fed: the vectors reconstruction reads back from the store. Samples are the
/// (P-frame, anchor) pairs of each video's frame layout (anchor k - k % (N+1), restarted at
/// every shot start with adaptive I-frames, so no anchor lies in another shot). The kept patches
/// are drawn afresh at every step (`MaskSchedule`), or once by the reduction strategy. Each step
/// runs the student on a minibatch, scores it with the loss (by default the paper's text
/// distillation: the teacher's and the student's similarities to the step's texts), carries the
/// gradient back through the frozen ViT to the residual token, and updates A with AdamW.
///
/// A starts at zero (or from `initial`). The student always includes the residual token in
/// training, even at A = 0 (see `StudentPass`); the reported A = 0 baseline is the encoder's
/// (no token at all), so the first epoch is compared against what inference did before.
public final class TokenizerTrainer {
    public let model: CLIPModel
    public let config: TokenizerTrainingConfig
    public let videos: [TrainingVideo]
    public let captions: [Caption]

    struct Sample {
        var video: Int
        var frame: Int
        var anchor: Int
        var mask: MaskSource
        var heldOut: Bool
        var texts: [Int]
        /// The mask inference picks (held-out frames, and every step with fixed masks).
        var keep: [Int] { mask.inference }
    }

    private var teacher: [[Float]] = []
    /// Per video, the I-frames' teacher features as the store returns them (by I-frame index
    /// k / (N+1)).
    private var anchorRows: [[Float]] = []
    private var samples: [Sample] = []
    /// The text bank: the corpus's distinct captions first (`captionTexts` of them), then the
    /// text set's sentences that are not captions.
    private var textEmbeddings: [Float] = []
    /// The same rows at unit length, for the text-retrieval proxy.
    private var unitBank: [Float] = []
    private var textCount = 0
    private var captionTexts = 0
    private var splitName = "none"

    public init(model: CLIPModel, config: TokenizerTrainingConfig, videos: [TrainingVideo], captions: [Caption] = [])
        throws
    {
        try config.validate()
        guard !videos.isEmpty else { throw TrainingError.noSamples("no videos to train on") }
        for c in captions where !videos.indices.contains(c.video) {
            throw TrainingError.badCaption(
                path: "captions", line: c.line, reason: "refers to video #\(c.video), but there are \(videos.count)")
        }
        if config.loss == .text && model.text == nil {
            throw TrainingError.badParameter(
                "\(model.directory.path): the model has no text tower, which text distillation needs; "
                    + "train with the visual-only loss (--loss cosine)")
        }
        if !captions.isEmpty && config.loss != .text {
            throw TrainingError.badParameter(
                """
                captions are used by the text loss only; drop them or use --loss text (this run: \
                \(config.loss.rawValue))
                """
            )
        }
        self.model = model
        self.config = config
        self.videos = videos
        self.captions = captions
    }

    /// The loss that runs, as recorded in the checkpoint: "text soft-ce (image-to-text)",
    /// "text soft-ce (both)", "visual cosine" or "visual soft-ce" (the last two are the names
    /// state files from before text distillation carry).
    public var lossName: String {
        switch config.loss {
        case .text: return "text soft-ce (\(config.textDirections.rawValue))"
        case .cosine: return "visual cosine"
        case .visualSoftTarget: return "visual soft-ce"
        }
    }

    /// How A was trained, saved in A's file and the state file (`training.*` / metadata).
    public var recipe: [String: String] {
        var r = [
            "loss": lossName, "masks": config.masks.rawValue, "lr": String(config.learningRate),
            "weight_decay": String(config.weightDecay), "beta1": String(config.beta1), "beta2": String(config.beta2),
            "eps": String(config.eps), "batch": String(config.batchSize),
        ]
        if config.masks == .fresh && config.strategy == .motion {
            r["motion_random_share"] = String(config.motionRandomShare)
        }
        if config.loss == .text {
            r["texts_per_step"] = String(config.textsPerStep)
            r["logit_scale"] = String(config.logitScale)
            r["text_set_sha256"] = textSetSHA ?? "-"
            r["captions"] = String(captions.count)
        }
        return r
    }
    private var textSetSHA: String?

    /// Runs the whole training; writes A to `output` and the resumable state beside it after
    /// every epoch. With `resume`, continues from that state (same data settings required).
    @discardableResult
    public func run(
        output: URL, resume: Bool = false, initial: ResidualTokenizer? = nil,
        progress: (TrainingEvent) -> Void = { _ in }
    ) throws -> ResidualTokenizer {
        let d = model.config.vision.width
        let b = model.config.embedDim
        if let initial, initial.width != d || initial.embedDim != b {
            throw TrainingError.badParameter(
                "initial A maps \(initial.embedDim) -> \(initial.width) dims, the model needs \(b) -> \(d)")
        }
        let reduction = try TokenReduction(p: config.p, strategy: config.strategy, seed: config.seed)
        var state = TrainingCheckpoint(
            tokenizer: initial ?? .zero(for: model),
            optimizer: AdamW(
                sizes: [d * b, d], learningRate: config.learningRate, beta1: config.beta1,
                beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay),
            epochsDone: 0)
        let stateURL = TrainingCheckpoint.url(for: output)
        if resume {
            // An A file for other weights at the output is a clear error before any work.
            if FileManager.default.fileExists(atPath: output.path) {
                _ = try ResidualTokenizer(contentsOf: output, for: model)
            }
            state = try TrainingCheckpoint.load(
                from: stateURL, model: model, config: config, loss: lossName, optimizer: state.optimizer)
        }
        state.tokenizer.anchorCodec = config.anchor.name
        try prepare(reduction: reduction, progress: progress)
        state.tokenizer.training = recipe
        let masks = TrainingMasks(
            schedule: config.masks, reduction: reduction, grid: model.config.gridSize,
            patchSize: model.config.patchSize, randomShare: config.motionRandomShare, seed: config.seed)
        let train = samples.indices.filter { !samples[$0].heldOut }
        let held = samples.indices.filter { samples[$0].heldOut }
        let zero = ResidualTokenizer.zero(for: model)
        let baseline = held.isEmpty ? nil : evaluate(held, tokenizer: zero)
        progress(
            .prepared(
                TrainingSetup(
                    trainSamples: train.count, heldOutSamples: held.count, split: splitName, loss: lossName,
                    texts: textCount, captionTexts: captionTexts,
                    baselineTrainCosine: meanCosine(train, tokenizer: zero),
                    baselineHeldOutCosine: baseline?.cosine, baselineHeldOutText: baseline?.text)))
        if resume { progress(.resumed(epochsDone: state.epochsDone)) }

        let scale = config.logitScale
        let stride = model.config.imageFloats
        let batches = (train.count + config.batchSize - 1) / config.batchSize
        let pixels = UnsafeMutablePointer<Float>.allocate(capacity: min(config.batchSize, train.count) * stride)
        defer { pixels.deallocate() }
        var epoch = state.epochsDone
        while epoch < config.epochs {
            let t0 = Date()
            // Shuffle seeded by (seed, epoch): a resumed run sees the same batches.
            var rng = SplitMix(seed: config.seed &+ 0x51_7cc1_b727_220a &* UInt64(epoch + 1))
            var order = train
            for i in Swift.stride(from: order.count - 1, to: 0, by: -1) {
                order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
            }
            var lossSum = 0.0
            var cosSum = 0.0
            for batch in 0..<batches {
                let ids = Array(order[(batch * config.batchSize)..<min(order.count, (batch + 1) * config.batchSize)])
                var anchors = [Float]()
                var targets = [Float]()
                anchors.reserveCapacity(ids.count * b)
                targets.reserveCapacity(ids.count * b)
                for (j, s) in ids.enumerated() {
                    let sm = samples[s]
                    videos[sm.video].pixels(sm.frame, pixels + j * stride)
                    anchors += anchorFeature(sm)
                    targets += teacher[sm.video][sm.frame * b..<(sm.frame + 1) * b]
                }
                let keeps = ids.map {
                    masks.keep(samples[$0].mask, video: samples[$0].video, frame: samples[$0].frame, epoch: epoch)
                }
                let pass = StudentPass(
                    model: model, tokenizer: state.tokenizer,
                    pixels: (0..<ids.count).map { UnsafePointer(pixels + $0 * stride) },
                    keeps: keeps, anchors: anchors)
                let loss: LossResult
                switch config.loss {
                case .text:
                    loss = DistillationLosses.softTarget(
                        student: pass.features, teacher: targets, bank: textBank(for: ids, rng: &rng),
                        dim: b, scale: scale, directions: config.textDirections)
                case .visualSoftTarget:
                    loss = DistillationLosses.visualSoftTarget(
                        student: pass.features, teacher: targets, dim: b,
                        scale: Foundation.exp(model.logitScale))
                case .cosine:
                    loss = DistillationLosses.cosine(student: pass.features, teacher: targets, dim: b)
                }
                let grad = pass.gradient(featureGradient: loss.gradient)
                var params = [state.tokenizer.weight, state.tokenizer.bias]
                state.optimizer.update(&params, gradients: [grad.weight, grad.bias], decay: [true, false])
                state.tokenizer.weight = params[0]
                state.tokenizer.bias = params[1]
                lossSum += Double(loss.value) * Double(ids.count)
                cosSum += Similarity.rowCosines(pass.features, targets, dim: b).reduce(0.0) { $0 + Double($1) }
                progress(.batch(epoch: epoch + 1, index: batch + 1, of: batches, loss: loss.value))
            }
            epoch += 1
            state.epochsDone = epoch
            try state.tokenizer.save(to: output)
            try state.save(to: stateURL, config: config, loss: lossName, recipe: recipe)
            let n = Double(max(1, train.count))
            let seconds = Date().timeIntervalSince(t0)
            let scored = held.isEmpty ? nil : evaluate(held, tokenizer: state.tokenizer)
            progress(
                .epoch(
                    EpochReport(
                        epoch: epoch, loss: Float(lossSum / n), trainCosine: Float(cosSum / n),
                        heldOutCosine: scored?.cosine, heldOutText: scored?.text, seconds: seconds)))
        }
        if !FileManager.default.fileExists(atPath: output.path) || config.epochs == 0 {
            try state.tokenizer.save(to: output)
        }
        return state.tokenizer
    }

    /// Mean cosine(P-feature, full feature) over `ids`, encoded as `ResidualEncoder` does
    /// (no residual token when A is exactly zero).
    public func meanCosine(_ ids: [Int], tokenizer: ResidualTokenizer) -> Float {
        evaluate(ids, tokenizer: tokenizer).cosine
    }

    /// The mean cosine and, when there is a text bank, the text-retrieval proxy over `ids`,
    /// with the masks inference uses.
    public func evaluate(_ ids: [Int], tokenizer: ResidualTokenizer) -> (cosine: Float, text: TextRetrievalProxy?) {
        guard !ids.isEmpty else { return (0, nil) }
        let b = model.config.embedDim
        let d = model.config.vision.width
        let stride = model.config.imageFloats
        let chunk = min(config.batchSize, 256)
        let pixels = UnsafeMutablePointer<Float>.allocate(capacity: min(chunk, ids.count) * stride)
        defer { pixels.deallocate() }
        var sum = 0.0
        var proxy: TextRetrievalProxy? = unitBank.isEmpty ? nil : TextRetrievalProxy()
        for start in Swift.stride(from: 0, to: ids.count, by: chunk) {
            let part = Array(ids[start..<min(ids.count, start + chunk)])
            var anchors = [Float]()
            var targets = [Float]()
            for (j, s) in part.enumerated() {
                let sm = samples[s]
                videos[sm.video].pixels(sm.frame, pixels + j * stride)
                anchors += anchorFeature(sm)
                targets += teacher[sm.video][sm.frame * b..<(sm.frame + 1) * b]
            }
            let tokens = tokenizer.isZero ? [] : tokenizer.tokens(anchors: anchors, count: part.count)
            let requests = part.enumerated().map { j, s in
                VisionTower.Request(
                    pixels: pixels + j * stride, keep: samples[s].keep,
                    extraTokens: tokens.isEmpty ? [] : Array(tokens[j * d..<(j + 1) * d]))
            }
            let features = model.vision.encode(requests)
            sum += Similarity.rowCosines(features, targets, dim: b).reduce(0.0) { $0 + Double($1) }
            proxy?.add(student: features, teacher: targets, unitBank: unitBank, dim: b)
        }
        return (Float(sum / Double(ids.count)), proxy)
    }

    // MARK: Preparation

    /// Teacher features of every frame, the samples with their kept patches, the split and
    /// the caption texts' embeddings.
    private func prepare(reduction: TokenReduction, progress: (TrainingEvent) -> Void) throws {
        guard samples.isEmpty else { return }
        let c = model.config
        let b = c.embedDim
        let stride = c.imageFloats
        let total = videos.reduce(0) { $0 + $1.frameCount }
        let chunk = max(1, min(config.batchSize, 64))
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: chunk * stride)
        let anchorPixels = UnsafeMutablePointer<Float>.allocate(capacity: stride)
        defer {
            buffer.deallocate()
            anchorPixels.deallocate()
        }
        var done = 0
        progress(.teacher(done: 0, total: total))
        for (v, video) in videos.enumerated() {
            let layout = layout(of: v)
            var features = [Float]()
            features.reserveCapacity(video.frameCount * b)
            for start in Swift.stride(from: 0, to: video.frameCount, by: chunk) {
                let end = min(video.frameCount, start + chunk)
                for k in start..<end {
                    let px = buffer + (k - start) * stride
                    video.pixels(k, px)
                    if layout.isIFrame(k) {
                        anchorPixels.update(from: px, count: stride)
                    } else {
                        let motion = video.motion(k)
                        let keep = reduction.select(
                            grid: c.gridSize, patchSize: c.patchSize, frameIndex: k,
                            frame: px, anchor: anchorPixels, motion: motion)
                        // Fresh motion masks re-rank by the same score each step (codec motion, else pixels).
                        var score: [Float]?
                        if config.masks == .fresh && config.strategy == .motion {
                            score =
                                motion?.count == c.patchCount
                                ? motion
                                : TokenReduction.patchDifferences(
                                    grid: c.gridSize, patchSize: c.patchSize, frame: px, anchor: anchorPixels)
                        }
                        samples.append(
                            Sample(
                                video: v, frame: k, anchor: layout.anchor(of: k),
                                mask: MaskSource(inference: keep, motion: score), heldOut: false, texts: []))
                    }
                }
                features += model.vision.encode(
                    (start..<end).map { VisionTower.Request(pixels: buffer + ($0 - start) * stride) })
                done += end - start
                progress(.teacher(done: done, total: total))
            }
            teacher.append(features)
            let iRows = layout.iFrames(in: 0..<video.frameCount).flatMap { features[$0 * b..<($0 + 1) * b] }
            anchorRows.append(try config.anchor(iRows, dim: b))
        }
        guard !samples.isEmpty else {
            throw TrainingError.noSamples(
                """
                no P-frames: the videos give \(total) sampled frames, and with N = \(config.n) the first P-frame is \
                sample 1 of each video
                """
            )
        }
        assignSplit()
        guard samples.contains(where: { !$0.heldOut }) else {
            throw TrainingError.noSamples("every P-frame is held out; lower --holdout")
        }
        try embedTexts()
    }

    /// The anchor A is fed for a sample: its I-frame's feature as stored.
    private func anchorFeature(_ s: Sample) -> ArraySlice<Float> {
        let b = model.config.embedDim
        let i = layout(of: s.video).iFrameCount(frames: s.anchor)  // the anchor's rank among I-frames
        return anchorRows[s.video][i * b..<(i + 1) * b]
    }

    /// Video `v`'s frame layout for this run's N and I-frame placement.
    func layout(of v: Int) -> FrameLayout {
        FrameLayout(n: config.n, shotStarts: config.iframes == .adaptive ? videos[v].shotStarts : .none)
    }

    /// The (P-frame, anchor) pairs trained on, per video, in frame order.
    func trainingPairs() throws -> [(video: Int, frame: Int, anchor: Int)] {
        try prepare(reduction: TokenReduction(p: config.p, strategy: config.strategy, seed: config.seed)) { _ in }
        return samples.map { ($0.video, $0.frame, $0.anchor) }
    }

    private func assignSplit() {
        guard config.holdout > 0 else {
            splitName = "none"
            return
        }
        let byVideo = config.split == .video || (config.split == .auto && videos.count >= 5)
        if byVideo && videos.count >= 2 {
            splitName = "video"
            var rng = SplitMix(seed: config.seed ^ 0x5eed_5_9117)
            var order = Array(videos.indices)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            let count = min(videos.count - 1, max(1, Int((config.holdout * Double(videos.count)).rounded())))
            let held = Set(order.prefix(count))
            for i in samples.indices { samples[i].heldOut = held.contains(samples[i].video) }
        } else {
            splitName = "time"
            for (v, video) in videos.enumerated() {
                let layout = layout(of: v)
                let groups = layout.iFrameCount(frames: video.frameCount)
                guard groups >= 2 else { continue }
                let held = min(groups - 1, max(1, Int((config.holdout * Double(groups)).rounded())))
                let firstHeld = groups - held
                for i in samples.indices
                where samples[i].video == v && layout.iFrameCount(frames: samples[i].anchor) >= firstHeld {
                    samples[i].heldOut = true
                }
            }
        }
    }

    /// The text bank of the text loss: the captions' distinct texts, then the text set's
    /// sentences (from the on-disk cache when this model embedded them before); and for each
    /// sample, the captions covering its time.
    private func embedTexts() throws {
        guard config.loss == .text || (config.textProxy && model.text != nil) else { return }
        var index: [String: Int] = [:]
        var texts: [String] = []
        for c in captions where index[c.text] == nil {
            index[c.text] = texts.count
            texts.append(c.text)
        }
        var embeddings = [Float]()
        for start in stride(from: 0, to: texts.count, by: 256) {
            embeddings += try model.encodeTexts(Array(texts[start..<min(texts.count, start + 256)])).embeddings
        }
        captionTexts = texts.count
        let set = try config.textSet.map(PromptSet.load) ?? PromptSet.shipped()
        textSetSHA = set.sha256
        let b = model.config.embedDim
        let prompts = try TextBankCache.embeddings(model: model, set: set, folder: config.textCache).embeddings
        for (j, t) in set.texts.enumerated() where index[t] == nil {
            index[t] = texts.count
            texts.append(t)
            embeddings += prompts[j * b..<(j + 1) * b]
        }
        textEmbeddings = embeddings
        textCount = texts.count
        unitBank = embeddings
        VectorMath.normalizeRows(&unitBank, dim: b)
        guard !captions.isEmpty else { return }
        for i in samples.indices {
            let s = samples[i]
            let time = videos[s.video].times[s.frame]
            samples[i].texts = Array(
                Set(captions.filter { $0.video == s.video && $0.covers(time) }.map { index[$0.text]! })
            ).sorted()
        }
    }

    /// The text embeddings a step's loss runs through: the captions of its P-frames, topped up
    /// with other texts of the bank (captions and the text set, drawn at random) to
    /// `textsPerStep`. Frames without a caption take part all the same: the targets are the
    /// teacher's soft distribution over the texts, not labels.
    private func textBank(for ids: [Int], rng: inout SplitMix) -> [Float] {
        let b = model.config.embedDim
        var chosen = Set(ids.flatMap { samples[$0].texts })
        let want = min(textCount, max(config.textsPerStep, chosen.count))
        if want * 2 >= textCount {
            var order = Array(0..<textCount)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            for t in order where chosen.count < want { chosen.insert(t) }
        } else {
            while chosen.count < want { chosen.insert(Int(rng.next() % UInt64(textCount))) }  // few collisions: want <= half
        }
        return chosen.sorted().flatMap { textEmbeddings[$0 * b..<($0 + 1) * b] }
    }
}
