import CLIP
import Foundation
import Store
import Tensor
import Timeline
import Video

/// How close ResidualViT's P-features come to full CLIP on real videos, and what they cost.
///
/// Each video is decoded once (sampled frames held as uint8 crops, at most `maxFrames`); full
/// CLIP runs on every sampled frame as the reference and gives the measured cost of a full
/// frame. Every setting (N, p, strategy, A) then encodes its P-frames as the library would
/// reconstruct them: kept patches of the frame plus A(anchor), the anchor being the reference
/// I-feature rounded by the store's codec. Cosines are of P-frames only.
public struct FidelityEvaluation: Sendable {
    public struct Setting: Sendable {
        public var n: Int
        public var p: Double
        public var strategy: ReductionStrategy
        /// Shown in the report: "A=0" or the file A came from.
        public var tokenizerName: String
        public var tokenizer: ResidualTokenizer
        /// The motion strategy's signal: `.vectors` as the library (codec motion vectors where
        /// a video's codec has them, the pixel difference elsewhere), `.pixels` always the
        /// pixel difference (for comparison).
        public var motionSource: MotionSource
        /// Fixed I-frames, or also at the shot cuts the ingest detector finds in the clip.
        public var iframes: IFramePlacement

        public init(
            n: Int, p: Double, strategy: ReductionStrategy, tokenizerName: String, tokenizer: ResidualTokenizer,
            motionSource: MotionSource = .vectors, iframes: IFramePlacement = .fixed
        ) {
            self.motionSource = motionSource
            self.iframes = iframes
            self.n = n
            self.p = p
            self.strategy = strategy
            self.tokenizerName = tokenizerName
            self.tokenizer = tokenizer
        }
    }

    /// One setting over all videos. GFLOPs count 2 x multiply-accumulates (the encoder's cost
    /// model from the actual token counts); ms are measured, encode only (no decoding).
    public struct Row: Sendable, Codable, Equatable {
        public var strategy: String
        public var n: Int
        public var p: Double
        public var tokenizer: String
        /// "fixed" or "adaptive" ("-" for the full-CLIP row).
        public var iframes: String
        public var anchor_codec: String
        public var videos: Int
        public var frames: Int
        public var p_frames: Int
        /// nil for the full-CLIP row (it is the reference).
        public var mean_cosine: Double?
        public var min_cosine: Double?
        /// Average over interleaved I- and P-frames.
        public var gflops_per_frame: Double
        public var ms_per_frame: Double
        public var gflops_p_frame: Double?
        public var ms_p_frame: Double?
        /// Motion strategy only: "vectors" when every P-frame was ranked by codec motion,
        /// "pixels" when none was, "vectors+pixels" when some fell back (counted next).
        public var motion_source: String? = nil
        public var pixel_fallback_p_frames: Int? = nil
        /// Shot cuts the detector found over all videos (the same for every row).
        public var cuts: Int
        /// Mean cosine to full CLIP of the frames within N after each cut (I-frames included
        /// at their stored feature): what a query sees right after a cut.
        public var mean_cosine_after_cuts: Double?
        /// I-frames beyond the fixed layout's, per hour of video, and the stored bytes they cost.
        public var extra_iframes_per_hour: Double
        public var extra_bytes_per_hour: Double
    }

    public let model: CLIPModel
    public let fps: Double
    public let codec: FeatureCodec
    public let maxFrames: Int
    /// Frames per forward pass (full and P).
    public let batch: Int
    public let seed: UInt64

    public init(
        model: CLIPModel, fps: Double = 2, codec: FeatureCodec = .f16, maxFrames: Int = 600, batch: Int = 64,
        seed: UInt64 = 0
    ) throws {
        if let problem = SamplingLimits.problem(fps: fps) { throw ResidualError.badParameter(problem) }
        guard maxFrames >= 2 else { throw ResidualError.badParameter("max frames must be >= 2, got \(maxFrames)") }
        guard batch >= 1 else { throw ResidualError.badParameter("batch must be >= 1, got \(batch)") }
        self.model = model
        self.fps = fps
        self.codec = codec
        self.maxFrames = maxFrames
        self.batch = batch
        self.seed = seed
    }

    public enum Event: Sendable {
        case decoded(video: Int, of: Int, path: String, frames: Int)
        case setting(video: Int, done: Int, of: Int)
    }

    /// The full-CLIP row first, then one row per setting, in order.
    public func run(videos: [URL], settings: [Setting], progress: (Event) -> Void = { _ in }) async throws -> [Row] {
        guard !videos.isEmpty else { throw ResidualError.badParameter("no videos to evaluate") }
        let encoders = try settings.map {
            try ResidualEncoder(
                model: model, tokenizer: $0.tokenizer, n: $0.n,
                reduction: TokenReduction(p: $0.p, strategy: $0.strategy, seed: seed))
        }
        var full = Tally()
        var tallies = [Tally](repeating: Tally(), count: settings.count)
        for (v, url) in videos.enumerated() {
            let clip = try await EvalClip.load(url, model: model, fps: fps, limit: .cut(maxFrames), batch: batch)
            guard clip.crops.count >= 2 else { throw VideoError.noFrames(path: url.path) }
            progress(.decoded(video: v + 1, of: videos.count, path: url.path, frames: clip.crops.count))
            full.frames += clip.crops.count
            full.iSeconds += clip.fullSeconds
            full.seconds += clip.duration
            full.cuts += clip.shotStarts(n: settings.first?.n ?? 2).count
            for (s, encoder) in encoders.enumerated() {
                try evaluate(
                    encoder, motionSource: settings[s].motionSource,
                    layout: clip.layout(n: settings[s].n, settings[s].iframes),
                    clip: clip, into: &tallies[s])
                progress(.setting(video: v + 1, done: s + 1, of: settings.count))
            }
        }
        let fullRow = Row(
            strategy: "full", n: 0, p: 0, tokenizer: "-", iframes: "-", anchor_codec: "-", videos: videos.count,
            frames: full.frames,
            p_frames: 0, mean_cosine: nil, min_cosine: nil, gflops_per_frame: model.vision.flops() / 1e9,
            ms_per_frame: 1000 * full.iSeconds / Double(full.frames), gflops_p_frame: nil, ms_p_frame: nil,
            cuts: full.cuts, mean_cosine_after_cuts: nil, extra_iframes_per_hour: 0, extra_bytes_per_hour: 0)
        let hours = max(full.seconds, 1e-9) / 3600
        let featureBytes = Double(codec.rawBytes(dim: model.config.embedDim))  // before LZ4, which gains little on features
        return [fullRow]
            + zip(settings, zip(encoders, tallies)).map { s, pair in
                let (e, t) = pair
                let extra = Double(t.extraIFrames) / hours
                var row = Row(
                    strategy: s.strategy.rawValue, n: s.n, p: s.p, tokenizer: s.tokenizerName,
                    iframes: s.iframes.rawValue, anchor_codec: codec.rawValue,
                    videos: videos.count, frames: t.frames, p_frames: t.pFrames,
                    mean_cosine: t.pFrames > 0 ? t.cosineSum / Double(t.pFrames) : nil,
                    min_cosine: t.pFrames > 0 ? t.minCosine : nil,
                    gflops_per_frame: e.flopsAverage / 1e9,
                    ms_per_frame: 1000 * (t.iSeconds + t.pSeconds) / Double(max(1, t.frames)),
                    gflops_p_frame: e.flopsP / 1e9,
                    ms_p_frame: t.pFrames > 0 ? 1000 * t.pSeconds / Double(t.pFrames) : nil,
                    cuts: full.cuts,
                    mean_cosine_after_cuts: t.afterCuts > 0 ? t.afterCutSum / Double(t.afterCuts) : nil,
                    extra_iframes_per_hour: extra, extra_bytes_per_hour: extra * featureBytes)
                if s.strategy == .motion {
                    row.motion_source =
                        t.pixelFallbacks == 0 ? "vectors" : t.pixelFallbacks == t.pFrames ? "pixels" : "vectors+pixels"
                    row.pixel_fallback_p_frames = t.pixelFallbacks
                }
                return row
            }
    }

    struct Tally {
        var frames = 0, pFrames = 0
        var cosineSum = 0.0, minCosine = Double.infinity
        var iSeconds = 0.0, pSeconds = 0.0
        var pixelFallbacks = 0
        var seconds = 0.0, cuts = 0, extraIFrames = 0
        var afterCutSum = 0.0, afterCuts = 0
    }

    /// One setting on one video: cosines of its P-frames to the reference; I-frames are charged
    /// the reference's measured time per frame.
    func evaluate(
        _ encoder: ResidualEncoder, motionSource: MotionSource, layout: FrameLayout, clip: EvalClip, into t: inout Tally
    ) throws {
        let b = model.config.embedDim
        let count = clip.crops.count
        let (dense, pSeconds, pixelFallbacks) = try clip.dense(
            encoder, layout: layout, codec: codec, batch: batch, motionSource: motionSource)
        t.pixelFallbacks += pixelFallbacks
        let pIndices = (0..<count).filter { !layout.isIFrame($0) }
        t.extraIFrames += (count - pIndices.count) - FrameLayout(n: layout.n).iFrameCount(frames: count)
        let afterCuts = Set(clip.shotStarts(n: layout.n).flatMap { c in (c...(c + layout.n)).filter { $0 < count } })
            .sorted()
        let afterDense: [Float] = afterCuts.flatMap { dense[$0 * b..<($0 + 1) * b] }
        let afterReference: [Float] = afterCuts.flatMap { clip.reference[$0 * b..<($0 + 1) * b] }
        for c in Similarity.rowCosines(afterDense, afterReference, dim: b) {
            t.afterCutSum += Double(c)
            t.afterCuts += 1
        }
        t.frames += count
        t.iSeconds += clip.fullSeconds / Double(count) * Double(count - pIndices.count)
        t.pSeconds += pSeconds
        let cosines = Similarity.rowCosines(
            pIndices.flatMap { dense[$0 * b..<($0 + 1) * b] },
            pIndices.flatMap { clip.reference[$0 * b..<($0 + 1) * b] }, dim: b)
        for c in cosines.map(Double.init) {
            t.cosineSum += c
            t.minCosine = min(t.minCosine, c)
            t.pFrames += 1
        }
    }
}
