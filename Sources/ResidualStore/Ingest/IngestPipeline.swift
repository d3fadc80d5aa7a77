import CLIP
import Foundation
import Timeline
import Video

/// Decode -> preprocess -> full-ViT encode of I-frames, pipelined: the decoder runs on its
/// own thread a few frames ahead (bounded), while this side batches I-frames into one
/// forward pass. P-frames need only their offsets at ingest: they are reconstructed lazily.
public struct IngestPipeline: Sendable {
    public struct Settings: Sendable, Equatable, Codable {
        public var fps: Double = 2
        public var n: Int = 2
        /// Frames per committed chunk (a chunk is the unit of crash-safe resume).
        public var chunkFrames: Int = 240
        /// I-frames per forward pass.
        public var batch: Int = 16
        /// Conceal damaged packets and pictures and index a truncated file up to its end,
        /// reporting what was found (`run`'s result); false: the first damage throws.
        public var concealDamage = true

        public init(fps: Double = 2, n: Int = 2, chunkFrames: Int = 240, batch: Int = 16, concealDamage: Bool = true) {
            self.fps = fps
            self.n = n
            self.chunkFrames = chunkFrames
            self.batch = batch
            self.concealDamage = concealDamage
        }
    }

    /// Consecutive sampled frames with the I-features among them.
    public struct Chunk: Sendable {
        public var offsets: [FrameOffset] = []
        /// (frame index, projected embedding) of every I-frame in `offsets`.
        public var iFeatures: [(index: Int, vector: [Float])] = []
    }

    public let model: CLIPModel
    public let settings: Settings

    public init(model: CLIPModel, settings: Settings) throws {
        if let problem = SamplingLimits.problem(fps: settings.fps) ?? SamplingLimits.problem(n: settings.n) { throw ResidualError.badParameter(problem) }
        guard settings.chunkFrames >= 1, settings.batch >= 1 else { throw ResidualError.badParameter("chunk and batch sizes must be >= 1") }
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
    @discardableResult
    public func run(url: URL, resumeFrom: Int = 0, commit: (Chunk) throws -> Void,
                    progress: ((Int) -> Void)? = nil,
                    pFrameInput: ((_ frame: FrameOffset, _ image: RGBImage, _ anchor: FrameOffset, _ anchorImage: RGBImage, _ motion: [Float]?) throws -> Void)? = nil,
                    motion: MotionGrid? = nil) async throws -> DamageReport? {
        let reader = try VideoReader(url: url, concealDamage: settings.concealDamage)
        var chunk = Chunk()
        var pending: [(index: Int, crop: RGBImage)] = []   // I-frames waiting for a full batch

        func encodePending() {
            guard !pending.isEmpty else { return }
            for (p, e) in zip(pending, model.embed(crops: pending.map(\.crop))) { chunk.iFeatures.append((p.index, e)) }
            pending.removeAll(keepingCapacity: true)
        }
        func flush() throws {
            encodePending()
            guard !chunk.offsets.isEmpty else { return }
            try commit(chunk)
            chunk = Chunk()
        }

        let layout = FrameLayout(n: settings.n)
        let keepP = pFrameInput != nil
        var anchorCrop: (offset: FrameOffset, image: RGBImage)?
        var sinceAnchor: [PatchMotion] = []   // motion deltas of the samples after the anchor
        for try await frame in reader.frames(fps: settings.fps, convertIf: { $0 >= resumeFrom && (keepP || layout.isIFrame($0)) },
                                             motion: keepP ? motion : nil) {
            let k = frame.offset.index
            if layout.isIFrame(k) { sinceAnchor.removeAll() } else if let m = frame.motion { sinceAnchor.append(m) }
            guard k >= resumeFrom else { continue }
            chunk.offsets.append(frame.offset)
            if let pFrameInput, !layout.isIFrame(k), let anchorCrop {
                try pFrameInput(frame.offset, model.crop(frame.image), anchorCrop.offset, anchorCrop.image,
                                PatchMotion.span(sinceAnchor))
            }
            if layout.isIFrame(k) {
                let crop = model.crop(frame.image)
                if keepP { anchorCrop = (frame.offset, crop) }
                pending.append((k, crop))
                if pending.count == settings.batch { encodePending() }
            }
            progress?(k + 1)
            // Chunks end just before an I-frame so a resumed ingest starts on an anchor.
            if chunk.offsets.count >= settings.chunkFrames, layout.isIFrame(k + 1) { try flush() }
        }
        try flush()
        return reader.damage?.report
    }
}
