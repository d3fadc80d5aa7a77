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
    public func similarityCurve(_ v: VideoRecord, text: String, from: Double = 0, to: Double? = nil, dense: Bool = false, control: QueryControl = QueryControl()) throws -> [CurvePoint] {
        try requireReady(v)
        let query = try textQuery(text)
        let upper = to ?? (v.duration + 1)
        if dense {
            return try embeddings(v, from: from, to: upper, control: control).map {
                CurvePoint(index: $0.index, time: $0.time, kind: $0.kind, score: VectorMath.cosine($0.vector, query))
            }
        }
        guard from.isFinite, upper.isFinite, from <= upper else { throw LibraryError.badRange(video: v.path, from: from, to: upper, duration: v.duration) }
        let offsets = try store.offsets(of: v)
        return try store.iFeatures(of: v).compactMap { f in
            guard offsets.indices.contains(f.index) else { return nil }
            let t = offsets[f.index].time
            guard t >= from - 1e-9, t <= upper + 1e-9 else { return nil }
            return CurvePoint(index: f.index, time: t, kind: .i, score: VectorMath.cosine(f.vector, query))
        }
    }
}
