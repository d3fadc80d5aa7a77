import CLIP
import Foundation
import Timeline
import Video

/// Decode -> preprocess -> full-ViT encode of I-frames, pipelined: the decoder runs on its
/// own thread a few frames ahead (bounded), while this side batches I-frames into one
/// forward pass. P-frames need only their offsets at ingest: they are reconstructed lazily.
package struct IngestPipeline: Sendable {
    package struct Settings: Sendable, Equatable, Codable {
        /// fps, N, where I-frames go (nil: fixed) and the chunk size; the recipe's N, p and
        /// strategy reach P-frames only at reconstruction, its codec only the store.
        package var recipe: IndexRecipe
        /// I-frames per forward pass.
        package var batch: Int = 16
        /// Conceal damaged packets and pictures and index a truncated file up to its end,
        /// reporting what was found (`run`'s result); false: the first damage throws.
        package var concealDamage = true

        package init(recipe: IndexRecipe = .default, batch: Int = 16, concealDamage: Bool = true) {
            self.recipe = recipe
            self.batch = batch
            self.concealDamage = concealDamage
        }
    }

    /// Consecutive sampled frames with the I-features among them.
    package struct Chunk: Sendable {
        package var offsets: [FrameOffset] = []
        /// (frame index, projected embedding) of every I-frame in `offsets`.
        package var iFeatures: [(index: Int, vector: [Float])] = []
        /// Frames in `offsets` that start a new shot (adaptive placement only).
        package var shotStarts: [Int] = []
    }

    package let model: CLIPModel
    package let settings: Settings

    package init(model: CLIPModel, settings: Settings) throws {
        try settings.recipe.validate()
        guard settings.batch >= 1 else { throw ResidualError.badParameter("batch size must be >= 1") }
        self.model = model
        self.settings = settings
    }

    /// Runs over `url` from sampled frame `resumeFrom` on (earlier frames are decoded but not
    /// converted or encoded) and hands every chunk to `commit`, in order. A decode error is
    /// thrown after every chunk before it was committed; a partial chunk is never committed.
    /// Returns the damage concealed over the whole file (nil when not concealing).
    ///
    /// `pFrameInput`, when given, receives every P-frame's model input with its anchor's (the
    /// decoded-frame tier keeps what it needs of them); P-frames are then converted too. With
    /// `motion`, it also gets the P-frame's codec motion from its anchor on that grid (nil
    /// where the span has no usable vectors), as reconstruction measures it later.
    /// `iFrame`, when given, receives every I-frame's full decoded picture and whether it starts
    /// a shot (the tier's stills).
    /// With `meter`, every stage charges its CPU and wall time to it (`IngestCost`).
    /// Cancelling the calling task stops the run at the next sampled frame with
    /// `CancellationError` (the chunk in progress is not committed; the decoder thread stops).
    @discardableResult
    package func run(
        url: URL, resumeFrom: Int = 0, commit: (Chunk) throws -> Void,
        progress: ((Int) -> Void)? = nil,
        pFrameInput: (
            (
                _ frame: FrameOffset, _ image: RGBImage, _ anchor: FrameOffset, _ anchorImage: RGBImage,
                _ motion: [Float]?
            ) throws -> Void
        )? = nil,
        motion: MotionGrid? = nil, meter: CostMeter? = nil,
        iFrame: ((_ frame: FrameOffset, _ image: RGBImage, _ startsShot: Bool) throws -> Void)? = nil
    ) async throws -> DamageReport? {
        let reader = try VideoReader(url: url, concealDamage: settings.concealDamage)
        var chunk = Chunk()
        var pending: [(index: Int, crop: RGBImage)] = []  // I-frames waiting for a full batch

        func encodePending() {
            guard !pending.isEmpty else { return }
            let features = meter.measure(.encode, helpers: true) { model.embed(crops: pending.map(\.crop)) }
            for (p, e) in zip(pending, features) { chunk.iFeatures.append((p.index, e)) }
            pending.removeAll(keepingCapacity: true)
        }
        func flush() throws {
            encodePending()
            guard !chunk.offsets.isEmpty else { return }
            try meter.measure(.commit) { try commit(chunk) }
            chunk = Chunk()
        }

        let n = settings.recipe.n
        // No P-frames (N = 0): nothing for the tier, and no motion to measure (vectors would
        // force a full single-threaded decode for nothing).
        let keepP = pFrameInput != nil && n > 0
        // Adaptive placement decides a frame's kind only once the shot-cut detector has seen
        // the frames after it (`window` of them, about a second): frames wait in `held`.
        var detector = settings.recipe.iframes == .adaptive ? ShotCutDetector(settings: .adaptivePlacement(n: n)) : nil
        var held: [(frame: SampledFrame, crop: RGBImage)] = []
        // Which frames are I grows with the shots found; a resumed ingest starts on an
        // I-frame, so the run's layout starts a shot there.
        var layout = FrameLayout(n: n).startingShot(at: resumeFrom)
        var anchorCrop: (offset: FrameOffset, image: RGBImage)?
        var sinceAnchor: [PatchMotion] = []  // motion deltas of the samples after the anchor

        func process(_ frame: SampledFrame, crop: RGBImage?, startsShot: Bool) throws {
            let k = frame.offset.index
            if startsShot { layout = layout.startingShot(at: k) }
            let isI = layout.isIFrame(k)
            if isI { sinceAnchor.removeAll() } else if let m = frame.motion { sinceAnchor.append(m) }
            // Chunks end just before an I-frame so a resumed ingest starts on an anchor.
            if isI, chunk.offsets.count >= settings.recipe.chunkFrames { try flush() }
            chunk.offsets.append(frame.offset)
            if startsShot { chunk.shotStarts.append(k) }
            if isI {
                let crop = crop ?? meter.measure(.convert) { model.crop(frame.image) }
                if keepP { anchorCrop = (frame.offset, crop) }
                pending.append((k, crop))
                if pending.count == settings.batch { encodePending() }
                if let iFrame, frame.image.width > 0 {
                    try meter.measure(.tier) { try iFrame(frame.offset, frame.image, startsShot) }
                }
            } else if let pFrameInput, let anchorCrop {
                let crop = crop ?? meter.measure(.convert) { model.crop(frame.image) }
                try meter.measure(.tier) {
                    try pFrameInput(
                        frame.offset, crop, anchorCrop.offset, anchorCrop.image, PatchMotion.span(sinceAnchor))
                }
            }
            progress?(k + 1)
        }

        let fixed = FrameLayout(n: n)
        let everyFrame = detector != nil || keepP
        let convert: @Sendable (Int) -> Bool = { k in k >= resumeFrom && (everyFrame || fixed.isIFrame(k)) }
        for try await frame in reader.frames(
            fps: settings.recipe.fps, convertIf: convert, motion: keepP ? motion : nil, meter: meter)
        {
            try Task.checkCancellation()
            guard frame.offset.index >= resumeFrom else { continue }
            guard detector != nil else {
                try process(frame, crop: nil, startsShot: false)
                continue
            }
            let crop = meter.measure(.convert) { model.crop(frame.image) }
            held.append((frame, crop))
            let damaged = Self.isDamaged(frame.offset.time, reader.damage?.report)
            for startsShot in meter.measure(.shotDetection, { detector!.push(crop, damaged: damaged) }) {
                let (f, c) = held.removeFirst()
                try process(f, crop: c, startsShot: startsShot)
            }
        }
        try Task.checkCancellation()
        if detector != nil {
            for startsShot in meter.measure(.shotDetection, { detector!.finish() }) {
                let (f, c) = held.removeFirst()
                try process(f, crop: c, startsShot: startsShot)
            }
        }
        try flush()
        return reader.damage?.report
    }

    /// Whether the sampled frame at `time` lies in a span where damage was concealed (its
    /// picture may be a smear: it must not decide a shot cut).
    static func isDamaged(_ time: Double, _ report: DamageReport?) -> Bool {
        report?.spans.contains { time >= $0.start - 0.5 && time <= $0.end + 0.5 } ?? false
    }
}
