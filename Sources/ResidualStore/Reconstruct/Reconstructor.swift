import CLIP
import Foundation
import Support
import Timeline
import Video

/// Lazy P-features: P-feature of frame k = residual encoder(frame k pixels, I-feature of its
/// anchor). Pixels come from the decoded-frame cache, else from decoding at the stored seek
/// points (the video layer decodes each needed GOP once for a whole request). Every P-frame of
/// a request runs in one batched pass; results go to a byte-bounded LRU.
package final class Reconstructor: @unchecked Sendable {
    package let encoder: ResidualEncoder
    /// Decoded, cropped frames (the model's input size), shared by every reconstructor.
    package let decodedFrames: FrameCache
    /// Reconstructed P-features by frame and mask seed (the seed decides the random strategy's patches).
    package let pFeatures: ByteBudgetLRU<PFeatureKey, [Float]>
    /// P-frames per forward pass (large batches keep GEMMs efficient, bounded for memory).
    package let batch: Int
    /// Bytes of pixels (uint8 crops and normalised floats, anchors included) one forward pass
    /// may hold: the batch shrinks below `batch` when the model's inputs are large.
    package let batchBytes: Int
    /// The on-disk decoded-frame tier, read before decoding and refilled after (nil: none).
    package var tier: FrameTier?
    /// Decoding from the original skips the deblocking of frames that are only on the way to a
    /// wanted one (`VideoReader.deblockTargetsOnly`; `Library.Configuration.deblockTargetsOnly`).
    package var deblockTargetsOnly = false

    /// What the reconstructor needs to know of one stored video.
    package struct Source: Sendable {
        package var url: URL
        package var contentHash: String
        /// The sampling rate the offsets were taken at (part of every cache key).
        package var fps: Double
        /// Seed of the random strategy's masks, as stored for the video.
        package var maskSeed: UInt64
        /// Offsets of consecutive sampled frames from `firstIndex` on, index order
        /// (offsets[k - firstIndex].index == k): the whole video, or a window of it that holds
        /// every frame a request reads and their anchors (`offset(_:)`).
        package var offsets: [FrameOffset]
        /// Index of `offsets[0]` (0: the whole video).
        package var firstIndex = 0
        /// Which frames are I and each P-frame's anchor: the video's own (shot starts included).
        package var layout: FrameLayout
        package var iFeature: @Sendable (Int) throws -> [Float]
        /// Called before any pixel is read from `url`: throws if the file is no longer the one
        /// that was indexed (pixels of a changed file would not match the stored I-features).
        package var checkFile: @Sendable () throws -> Void
        /// Damage was concealed when the file was indexed: decode on one thread, where the
        /// decoder's concealment is deterministic (with frame threads it depends on timing).
        package var damaged = false
        /// Where the motion strategy's scores come from, as recorded at ingest.
        package var motionSource: MotionSource = .pixels

        package init(
            url: URL, contentHash: String, fps: Double, maskSeed: UInt64 = 0, offsets: [FrameOffset],
            layout: FrameLayout,
            iFeature: @escaping @Sendable (Int) throws -> [Float],
            checkFile: @escaping @Sendable () throws -> Void = {}
        ) {
            self.url = url
            self.contentHash = contentHash
            self.fps = fps
            self.maskSeed = maskSeed
            self.offsets = offsets
            self.layout = layout
            self.iFeature = iFeature
            self.checkFile = checkFile
        }
    }

    package init(
        encoder: ResidualEncoder, frameCache: FrameCache, featureBudget: Int = 128 << 20, batch: Int = 256,
        batchBytes: Int = 256 << 20
    ) {
        self.encoder = encoder
        self.decodedFrames = frameCache
        self.pFeatures = ByteBudgetLRU(byteBudget: featureBudget)
        self.batch = max(1, batch)
        self.batchBytes = max(1, batchBytes)
    }

    /// P-frames per forward pass: `batch`, fewer if their pixels would pass `batchBytes`. Each
    /// P-frame brings its crop and normalised input, plus up to 1/N of an anchor's.
    package var effectiveBatch: Int {
        let size = encoder.model.config.imageSize
        let perFrame = 3 * size * size * (MemoryLayout<Float>.size + 1)
        let withAnchors = perFrame + perFrame / max(1, encoder.n)
        return max(1, min(batch, batchBytes / max(1, withAnchors)))
    }

    /// Features of frames `range` (I stored, P reconstructed), in index order. The P-frames to
    /// compute are charged to `control` before any work, and cancellation is checked per batch.
    package func features(of source: Source, range: Range<Int>, control: QueryControl = QueryControl()) throws
        -> [[Float]]
    {
        try features(of: [(source, Array(range))], control: control)[0]
    }

    /// Preprocessed pixels of frames (cache first; one decode pass for all misses). Every frame
    /// the decoder outputs is charged to `control` as it comes (keyframe distance and resolution
    /// included), so an over-budget decode stops mid-way; each wanted frame becomes the model's
    /// input as soon as it is decoded,
    /// so memory follows the model's input size, not the source's resolution.
    package func pixels(of source: Source, frames wanted: [Int], control: QueryControl = QueryControl()) throws -> [Int:
        RGBImage]
    {
        try sourceFrames(of: source, pixels: wanted, motionOf: [], control: control).pixels
    }

}

/// A reconstructed P-feature's cache key: the frame and the mask seed its patches came from.
package struct PFeatureKey: Hashable, Sendable {
    package var frame: FrameKey
    package var maskSeed: UInt64
    /// The I-frame it was rebuilt from: fixed and adaptive layouts of one file differ here.
    package var anchor: Int
}

extension Reconstructor.Source {
    /// The offset of sampled frame `k` (which must lie in the window).
    func offset(_ k: Int) -> FrameOffset { offsets[k - firstIndex] }
    /// Whether the window holds sampled frame `k`.
    func hasOffset(_ k: Int) -> Bool { k >= firstIndex && k - firstIndex < offsets.count }
    func frameKey(_ k: Int) -> FrameKey { FrameKey(videoHash: contentHash, fps: fps, index: k) }
    func featureKey(_ k: Int) -> PFeatureKey {
        PFeatureKey(frame: frameKey(k), maskSeed: maskSeed, anchor: layout.anchor(of: k))
    }
}
