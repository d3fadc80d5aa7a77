import Foundation

/// Two-stage text-to-moment search over a library.
///
/// Stage 1 scores every stored I-feature (one matrix-vector product) and runs the grounding
/// proposal method on each video's coarse, I-frame-only curve. Stage 2 reconstructs the dense
/// features (P-frames lazily) only in a window around the best coarse candidates and
/// re-runs the proposals there, which refines both the boundaries and the score.
public struct MomentSearch: Sendable {
    /// What stage 2 needs of one video.
    public struct VideoContext: Sendable {
        public var id: Int64
        public var path: String
        /// Time of every sampled frame, index order.
        public var times: [Double]
        public var fps: Double
        public var n: Int

        public init(id: Int64, path: String, times: [Double], fps: Double, n: Int) {
            self.id = id
            self.path = path
            self.times = times
            self.fps = fps
            self.n = n
        }
    }

    /// Moving-average window in sampled frames (the paper's 15 at the dense rate).
    public var window = 15
    /// Coarse candidates refined per requested result.
    public var candidatesPerResult = 3
    /// Frames added on each side of a candidate before refinement.
    public var marginFrames = 8

    public init() {}

    /// Coarse candidates: proposals on each video's I-frame curve, best first.
    public func coarse(matrix: IFeatureMatrix, query: [Float], videos: [Int64: VideoContext]) -> [Moment] {
        let scores = matrix.scores(query)
        var byVideo: [Int64: [(frame: Int, score: Float)]] = [:]
        for (i, r) in matrix.rows.enumerated() { byVideo[r.video, default: []].append((r.frame, scores[i])) }
        var out: [Moment] = []
        for (id, points) in byVideo {
            guard let v = videos[id] else { continue }
            let sorted = points.sorted { $0.frame < $1.frame }
            let coarseWindow = max(1, window / (v.n + 1))
            let proposals = Grounding.proposals(curve: sorted.map(\.score), window: coarseWindow)
            // The whole-video fallback only when the curve has no run above its mean.
            for p in proposals.count > 1 ? proposals.dropLast() : proposals[...] {
                let first = sorted[p.first].frame
                let last = min(v.times.count - 1, sorted[p.last].frame + v.n)   // the I-frame's P-frames follow it
                out.append(moment(v, first: first, last: last, score: p.score))
            }
        }
        return out.sorted { $0.score > $1.score }
    }

    /// Refines candidates with dense features from `dense(video, frameRange)` and returns the
    /// best `k` non-overlapping moments.
    public func refine(_ candidates: [Moment], query: [Float], k: Int, videos: [Int64: VideoContext],
                       dense: (VideoContext, Range<Int>) throws -> [[Float]]) rethrows -> [Moment] {
        var refined: [Moment] = []
        for c in candidates.prefix(k * candidatesPerResult) {
            guard let v = videos[c.videoID] else { continue }
            let lo = max(0, c.firstFrame - marginFrames), hi = min(v.times.count, c.lastFrame + 1 + marginFrames)
            let feats = try dense(v, lo..<hi)
            let curve = feats.map { cosine($0, query) }
            let proposals = Grounding.proposals(curve: curve, window: window)
            // The best run that overlaps the candidate; the whole window if none.
            let best = proposals.first { lo + $0.last >= c.firstFrame && lo + $0.first <= c.lastFrame } ?? proposals.last!
            refined.append(moment(v, first: lo + best.first, last: lo + best.last, score: best.score))
        }
        refined.sort { $0.score > $1.score }
        var out: [Moment] = []
        for m in refined where !out.contains(where: { $0.videoID == m.videoID && Grounding.iou(($0.start, $0.end), (m.start, m.end)) > 0.3 }) {
            out.append(m)
            if out.count == k { break }
        }
        return out
    }

    func moment(_ v: VideoContext, first: Int, last: Int, score: Float) -> Moment {
        Moment(videoID: v.id, path: v.path, start: v.times[first], end: v.times[last] + 1 / v.fps,
               score: score, firstFrame: first, lastFrame: last)
    }
}

/// Cosine similarity of a feature with a unit-length query.
func cosine(_ v: [Float], _ unitQuery: [Float]) -> Float {
    var dot: Float = 0, nn: Float = 0
    for i in 0..<v.count { dot += v[i] * unitQuery[i]; nn += v[i] * v[i] }
    return nn > 0 ? dot / nn.squareRoot() : 0
}
