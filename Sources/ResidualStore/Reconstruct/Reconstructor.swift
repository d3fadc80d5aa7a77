import CLIP
import Foundation
import Support
import Video

/// Lazy P-features: P-feature of frame k = residual encoder(frame k pixels, I-feature of its
/// anchor). Pixels come from the decoded-frame cache, else from decoding at the stored seek
/// points (the video layer decodes each needed GOP once for a whole request). Every P-frame of
/// a request runs in one batched pass; results go to a byte-bounded LRU.
public final class Reconstructor: @unchecked Sendable {
    public let encoder: ResidualEncoder
    public let frames: FrameCache
    public let features: ByteBudgetLRU<FrameKey, [Float]>
    /// P-frames per forward pass (large batches keep GEMMs efficient, bounded for memory).
    public let batch: Int
    /// The on-disk decoded-frame tier, read before decoding and refilled after (nil: none).
    public var tier: FrameTier?

    /// What the reconstructor needs to know of one stored video.
    public struct Source: Sendable {
        public var url: URL
        public var contentHash: String
        /// Offsets of every sampled frame, index order (offsets[k].index == k).
        public var offsets: [FrameOffset]
        public var iFeature: @Sendable (Int) throws -> [Float]

        public init(url: URL, contentHash: String, offsets: [FrameOffset], iFeature: @escaping @Sendable (Int) throws -> [Float]) {
            self.url = url
            self.contentHash = contentHash
            self.offsets = offsets
            self.iFeature = iFeature
        }
    }

    public init(encoder: ResidualEncoder, frameCache: FrameCache, featureBudget: Int = 128 << 20, batch: Int = 256) {
        self.encoder = encoder
        self.frames = frameCache
        self.features = ByteBudgetLRU(byteBudget: featureBudget)
        self.batch = max(1, batch)
    }

    /// Features of frames `range` (I stored, P reconstructed), in index order. The P-frames to
    /// compute are charged to `control` before any work, and cancellation is checked per batch.
    public func features(of source: Source, range: Range<Int>, control: QueryControl = QueryControl()) throws -> [[Float]] {
        let n = encoder.n
        var out = [[Float]?](repeating: nil, count: range.count)
        var missingP: [Int] = []
        for k in range {
            if ResidualEncoder.isIFrame(k, n: n) {
                out[k - range.lowerBound] = try source.iFeature(k)
            } else if let cached = features.get(FrameKey(videoHash: source.contentHash, index: k)) {
                out[k - range.lowerBound] = cached
            } else {
                missingP.append(k)
            }
        }
        try control.charge(pFrames: missingP.count)
        var start = 0
        while start < missingP.count {
            try control.checkCancelled()
            let part = Array(missingP[start..<min(missingP.count, start + batch)])
            let computed = try reconstruct(source, part, control: control)
            for (k, v) in zip(part, computed) {
                out[k - range.lowerBound] = v
                features.put(FrameKey(videoHash: source.contentHash, index: k), v, cost: v.count * 4 + 64)
            }
            start += batch
        }
        return out.map { $0! }
    }

    /// Preprocessed pixels of frames (cache first; one decode pass for all misses).
    public func pixels(of source: Source, frames wanted: [Int]) throws -> [Int: RGBImage] {
        let size = encoder.model.config.imageSize
        var have: [Int: RGBImage] = [:]
        var missing: [Int] = []
        for k in Set(wanted) {
            if let img = frames.get(FrameKey(videoHash: source.contentHash, index: k)) { have[k] = img } else { missing.append(k) }
        }
        if !missing.isEmpty {
            missing.sort()
            let reader = try VideoReader(url: source.url)
            let decoded = try reader.decode(offsets: missing.map { source.offsets[$0] })
            for (k, img) in zip(missing, decoded) {
                let crop = CLIPPreprocessor.resizeAndCrop(img, size: size)
                frames.put(FrameKey(videoHash: source.contentHash, index: k), crop)
                have[k] = crop
            }
        }
        return have
    }

    private func reconstruct(_ source: Source, _ indices: [Int], control: QueryControl) throws -> [[Float]] {
        try reconstruct([(source, indices)], control: control)[0]
    }
}
