import CLIP
import Foundation
import Video

/// Collects P-frame inputs during ingest and writes them to the decoded-frame tier in small
/// groups, so filling the tier holds only a few frames in memory. The tier is a cache: a
/// write that fails is dropped (the next query decodes the original instead).
final class TierIngestSink {
    let tier: FrameTier
    let encoder: ResidualEncoder
    let video: String
    /// The video's motion source (decides the motion strategy's patches and the tier recipe).
    let motionSource: MotionSource
    private var pending: [FrameTier.Input] = []
    private var stills: [(ms: Int64, data: Data)] = []
    /// Downscales and encodes I-frame stills (one per ingest, like `jpeg`).
    let stillSession: JPEGEncoderSession
    private var anchorPixels: (index: Int, normalized: [Float])?
    /// One JPEG encoder for the whole ingest.
    let jpeg: JPEGEncoderSession
    static let group = 64

    init(tier: FrameTier, encoder: ResidualEncoder, video: String, motionSource: MotionSource = .pixels) {
        self.tier = tier
        self.encoder = encoder
        self.video = video
        self.motionSource = motionSource
        self.jpeg = tier.makeJPEGSession()
        self.stillSession = tier.makeStillSession()
    }

    private var lastStill: Double?

    /// Takes one I-frame's full picture: kept when it starts a shot or is `stillSpacing` from
    /// the last still, encoded to a still now and written with the next group. A still that
    /// cannot be encoded is left out (its thumbnail decodes the original).
    func addStill(_ frame: FrameOffset, _ image: RGBImage, startsShot: Bool) {
        if !startsShot, let last = lastStill, frame.time - last < FrameTier.stillSpacing, frame.time >= last { return }
        lastStill = frame.time
        guard let still = try? tier.encodeStill(image, time: frame.time, session: stillSession) else { return }
        stills.append(still)
        if stills.count >= Self.group { flushStills() }
    }

    private func flushStills() {
        guard !stills.isEmpty else { return }
        tier.refillStills(video: video, stills)
        stills.removeAll(keepingCapacity: true)
    }

    /// The grid ingest measures codec motion on, when the kept patches depend on it.
    var motionGrid: MotionGrid? {
        let c = encoder.model.config
        return encoder.reduction.strategy == .motion && motionSource == .vectors
            ? MotionGrid(imageSize: c.imageSize, grid: c.gridSize) : nil
    }

    /// Takes one P-frame (its model input), its anchor I-frame's and its codec motion since
    /// the anchor (nil: none usable); chooses the kept patches as the residual encoder would.
    func add(
        _ frame: FrameOffset, _ image: RGBImage, _ anchor: FrameOffset, _ anchorImage: RGBImage, _ vectors: [Float]?
    ) throws {
        let c = encoder.model.config
        let scores = motionSource == .vectors ? vectors : nil
        let motion = encoder.reduction.strategy == .motion  // pixels: the fallback, and the tie-break of vectors
        let pixels = motion ? CLIPPreprocessor.normalize(image) : []
        if motion, anchorPixels?.index != anchor.index {
            anchorPixels = (anchor.index, CLIPPreprocessor.normalize(anchorImage))
        }
        let keep = pixels.withUnsafeBufferPointer { f in
            (anchorPixels?.normalized ?? []).withUnsafeBufferPointer { a in
                encoder.reduction.select(
                    grid: c.gridSize, patchSize: c.patchSize, frameIndex: frame.index,
                    frame: motion ? f.baseAddress : nil, anchor: motion ? a.baseAddress : nil, motion: scores)
            }
        }
        pending.append(
            FrameTier.Input(index: frame.index, pts: frame.pts, anchorPTS: anchor.pts, image: image, keep: keep))
        if pending.count >= Self.group { flush() }
    }

    func flush() {
        flushStills()
        guard !pending.isEmpty else { return }
        tier.refill(video: video, pending, encoder: encoder, motionSource: motionSource, jpeg: jpeg)
        pending.removeAll(keepingCapacity: true)
    }
}
