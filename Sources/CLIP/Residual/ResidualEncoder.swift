import Foundation
import Tensor
import Timeline

/// ResidualViT's interleaved encoder: frame k is an I-frame when k % (N+1) == 0 and gets
/// the full image tower; otherwise it is a P-frame anchored on the preceding I-frame and
/// gets [CLS] + A(f_I) + R(patches). P-frames of many anchors run as one batch of short
/// sequences so every GEMM still has hundreds of rows.
public struct ResidualEncoder: Sendable {
    public let model: CLIPModel
    public let tokenizer: ResidualTokenizer
    public let n: Int
    public private(set) var reduction: TokenReduction

    public init(model: CLIPModel, tokenizer: ResidualTokenizer, n: Int, reduction: TokenReduction) throws {
        guard n >= 0 else { throw ResidualError.badParameter("N (P-frames per I-frame) must be >= 0, got \(n)") }
        guard tokenizer.width == model.config.vision.width, tokenizer.embedDim == model.config.embedDim else {
            throw ResidualError.badParameter(
                """
                residual tokenizer maps \(tokenizer.embedDim) -> \(tokenizer.width) dims, but the model needs \
                \(model.config.embedDim) -> \(model.config.vision.width)
                """
            )
        }
        guard tokenizer.clipSHA256 == model.weightsSHA256 else {
            throw ResidualError.wrongWeights(
                path: "residual tokenizer", trainedFor: tokenizer.clipSHA256, loaded: model.weightsSHA256)
        }
        self.model = model
        self.tokenizer = tokenizer
        self.n = n
        self.reduction = reduction
    }

    /// The same encoder with the random strategy's masks drawn from `seed` (a video's stored
    /// seed): reconstruction must drop the patches ingest would have.
    public func withMaskSeed(_ seed: UInt64) -> ResidualEncoder {
        guard seed != reduction.seed else { return self }
        var copy = self
        copy.reduction = reduction.withSeed(seed)
        return copy
    }

    /// Which frames this encoder runs in full and which anchor each P-frame leans on.
    public var layout: FrameLayout { FrameLayout(n: n) }

    /// One P-frame to encode.
    public struct PFrame {
        public var index: Int
        public var pixels: UnsafePointer<Float>
        /// The anchor I-frame's pixels (needed by the motion strategy only).
        public var anchorPixels: UnsafePointer<Float>?
        /// The anchor's I-feature (projected embedding, any scale).
        public var anchorFeature: ArraySlice<Float>
        /// Kept patches chosen earlier (e.g. at ingest, stored with the patches); nil: the
        /// reduction selects them now.
        public var keep: [Int]?
        /// Per-patch motion from the anchor to this frame (codec motion vectors), for the
        /// motion strategy; nil: the pixel difference to `anchorPixels`.
        public var motion: [Float]?

        public init(
            index: Int, pixels: UnsafePointer<Float>, anchorPixels: UnsafePointer<Float>?,
            anchorFeature: ArraySlice<Float>,
            keep: [Int]? = nil, motion: [Float]? = nil
        ) {
            self.keep = keep
            self.motion = motion
            self.index = index
            self.pixels = pixels
            self.anchorPixels = anchorPixels
            self.anchorFeature = anchorFeature
        }
    }

    /// The vision requests for P-frames: kept patches plus the residual token.
    public func requests(_ frames: [PFrame]) -> [VisionTower.Request] {
        let c = model.config
        let tokens =
            tokenizer.isZero ? [] : tokenizer.tokens(anchors: frames.flatMap(\.anchorFeature), count: frames.count)
        let d = c.vision.width
        return frames.enumerated().map { i, f in
            let keep =
                f.keep
                ?? reduction.select(
                    grid: c.gridSize, patchSize: c.patchSize, frameIndex: f.index,
                    frame: f.pixels, anchor: f.anchorPixels, motion: f.motion)
            return VisionTower.Request(
                pixels: f.pixels, keep: keep,
                extraTokens: tokens.isEmpty ? [] : Array(tokens[i * d..<(i + 1) * d]))
        }
    }

    /// P-features [frames.count, embedDim] in one batched pass.
    public func encodePFrames(_ frames: [PFrame]) -> [Float] {
        frames.isEmpty ? [] : model.vision.encode(requests(frames))
    }

    /// Features of consecutive sampled frames `first ..< first + count` (normalized CHW pixels,
    /// [count, 3, S, S]). `first` must be an I-frame index; I-frames run as one full batch,
    /// then every P-frame as one reduced batch.
    public func encodeSequence(pixels: [Float], count: Int, first: Int = 0) -> (features: [Float], isIFrame: [Bool]) {
        try! encodeSequence(pixels: pixels, count: count, first: first, anchor: .exact)  // .exact cannot throw
    }

    /// As above, with the I-features rounded by `anchor` (the store's codec) before they are
    /// returned and fed to A: exactly what the library stores and reconstructs from. `layout`:
    /// the video's own (adaptive videos have I-frames at shot starts too); nil: this encoder's
    /// fixed one.
    public func encodeSequence(
        pixels: [Float], count: Int, first: Int = 0, layout: FrameLayout? = nil,
        anchor: AnchorQuantizer
    ) throws -> (features: [Float], isIFrame: [Bool]) {
        let layout = layout ?? self.layout
        precondition(layout.n == n, "the layout's N must be the encoder's")
        precondition(layout.isIFrame(first), "a sequence must start on an I-frame")
        let c = model.config
        let stride = c.imageFloats
        let b = c.embedDim
        precondition(pixels.count == count * stride)
        let kinds = (0..<count).map { layout.isIFrame(first + $0) }
        var out = [Float](repeating: 0, count: count * b)
        try pixels.withUnsafeBufferPointer { px in
            let base = px.baseAddress!
            let iLocal = (0..<count).filter { kinds[$0] }
            let iFeatures = try anchor(
                model.vision.encode(iLocal.map { VisionTower.Request(pixels: base + $0 * stride) }), dim: b)
            var slot: [Int: Int] = [:]
            for (j, i) in iLocal.enumerated() {
                slot[i] = j
                out.replaceSubrange(i * b..<(i + 1) * b, with: iFeatures[j * b..<(j + 1) * b])
            }
            let pFrames: [PFrame] = (0..<count).filter { !kinds[$0] }.map { i in
                let a = layout.anchor(of: first + i) - first
                return PFrame(
                    index: first + i, pixels: base + i * stride, anchorPixels: base + a * stride,
                    anchorFeature: iFeatures[slot[a]! * b..<(slot[a]! + 1) * b])
            }
            let pFeatures = encodePFrames(pFrames)
            for (j, f) in pFrames.enumerated() {
                let i = f.index - first
                out.replaceSubrange(i * b..<(i + 1) * b, with: pFeatures[j * b..<(j + 1) * b])
            }
        }
        return (out, kinds)
    }

    // MARK: Cost model

    /// FLOPs of a full frame and of a P-frame, from the actual token counts.
    public var flopsFull: Double { model.vision.flops() }
    public var flopsP: Double {
        let keep = reduction.keepCount(patches: model.config.patchCount)
        let tokenCost = tokenizer.isZero ? 0 : 2 * Double(tokenizer.width * tokenizer.embedDim)
        return model.vision.flops(keep: keep, extra: tokenizer.isZero ? 0 : 1) + tokenCost
    }
    /// Average FLOPs per frame of interleaved encoding, from the token counts.
    public var flopsAverage: Double { (flopsFull + Double(n) * flopsP) / Double(n + 1) }

    /// The paper's average cost ratio C / C_full = (1 + (1-p) N) / (1 + N).
    public static func paperCostRatio(n: Int, p: Double) -> Double { (1 + (1 - p) * Double(n)) / Double(1 + n) }
}
