import Foundation
import Store
import Tensor
import Timeline

extension Library {
    /// One point of a per-frame similarity curve.
    public struct CurvePoint: Sendable, Codable, Equatable {
        public var index: Int
        public var time: Double
        public var kind: FrameKind
        public var score: Float
    }

    /// Cosine similarity of `text` with every sampled frame of `v` whose time lies in
    /// [from, to]. `dense == false` uses the stored I-features only (cheap, no decoding);
    /// `dense == true` also reconstructs the P-features (as `ground` does).
    public func similarityCurve(
        _ v: VideoRecord, text: String, from: Double = 0, to: Double? = nil, dense: Bool = false,
        control: QueryControl = QueryControl()
    ) throws -> [CurvePoint] {
        try requireReady(v)
        let query = try textQuery(text)
        let upper = to ?? (v.duration + 1)
        if dense {
            return try embeddings(v, from: from, to: upper, control: control).map {
                CurvePoint(index: $0.index, time: $0.time, kind: $0.kind, score: VectorMath.cosine($0.vector, query))
            }
        }
        guard from.isFinite, upper.isFinite, from <= upper else {
            throw LibraryError.badRange(video: v.path, from: from, to: upper, duration: v.duration)
        }
        guard let id = v.id else { return [] }
        // Only the chunks of the asked range are read: sample k is taken at k / fps and shows a
        // frame of time <= k / fps, so the samples of [from, to] lie among k >= from * fps; a
        // sample's frame lags its instant by about a source frame, so k <= (to + 1 s) * fps
        // holds them all but samples of a frame held over a gap of more than a second past `to`.
        let window = Self.sampleWindow(v, from: from, to: upper + 1)
        guard !window.isEmpty else { return [] }
        let times = Dictionary(
            try store.frameOffsets(video: id, range: window).map { ($0.index, $0.time) },
            uniquingKeysWith: { a, _ in a })
        let features = try store.iFeatures(video: id, frames: window)
        try checkWidth(v, features)
        return features.compactMap { f in
            guard let t = times[f.index], t >= from - 1e-9, t <= upper + 1e-9 else { return nil }
            return CurvePoint(index: f.index, time: t, kind: .i, score: VectorMath.cosine(f.vector, query))
        }
    }

    /// Sample indices k of `v` with k / fps in [from, to] (clamped to the stored frames; a
    /// huge `to` is the end, never an overflow).
    static func sampleWindow(_ v: VideoRecord, from: Double, to: Double) -> Range<Int> {
        let n = Double(v.frameCount)
        guard v.fps > 0, v.fps.isFinite, n > 0 else { return 0..<0 }
        let lo = min(n, max(0, (from * v.fps - 1e-6).rounded(.up)))
        let hi = min(n, max(0, (to * v.fps + 1e-6).rounded(.down) + 1))
        return Int(lo)..<max(Int(lo), Int(hi))
    }
}
