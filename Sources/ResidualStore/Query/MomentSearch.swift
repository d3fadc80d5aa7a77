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

    /// A stage-1 hit: a frame range of one video and its coarse score.
    public struct Candidate: Sendable, Equatable {
        public var videoID: Int64
        public var firstFrame: Int
        public var lastFrame: Int
        public var score: Float
    }

    /// Coarse candidates: proposals on each video's I-frame curve, best first. `shape` gives a
    /// video's N and frame count; the matrix's rows must be grouped by video in frame order.
    public func coarse(matrix: IFeatureMatrix, query: [Float], shape: [Int64: (n: Int, frames: Int)]) -> [Candidate] {
        let scores = matrix.scores(query)
        let rows = matrix.rows
        var out: [Candidate] = []
        // Rows come grouped by video in frame order (how the matrix is built): walk the runs.
        var start = 0
        while start < rows.count {
            var end = start + 1
            while end < rows.count && rows[end].video == rows[start].video { end += 1 }
            defer { start = end }
            let id = rows[start].video
            guard let s = shape[id] else { continue }
            let proposals = Grounding.proposals(curve: Array(scores[start..<end]), window: max(1, window / (s.n + 1)))
            // The whole-video fallback only when the curve has no run above its mean.
            for p in proposals.count > 1 ? proposals.dropLast() : proposals[...] {
                let last = min(s.frames - 1, rows[start + p.last].frame + s.n)   // the I-frame's P-frames follow it
                out.append(Candidate(videoID: id, firstFrame: rows[start + p.first].frame, lastFrame: last, score: p.score))
            }
        }
        return out.sorted { $0.score != $1.score ? $0.score > $1.score : $0.videoID < $1.videoID }
    }

    /// Refines the best candidates with dense features from `dense(video, frameRange)` and
    /// returns the best `k` non-overlapping moments. `context` is asked only for the videos of
    /// the candidates that are refined.
    public func refine(_ candidates: [Candidate], query: [Float], k: Int, context: (Int64) throws -> VideoContext,
                       dense: (VideoContext, Range<Int>) throws -> [[Float]]) throws -> [Moment] {
        var refined: [Moment] = []
        for c in candidates.prefix(k * candidatesPerResult) {
            let v = try context(c.videoID)
            let lo = max(0, c.firstFrame - marginFrames), hi = min(v.times.count, c.lastFrame + 1 + marginFrames)
            guard lo < hi else { continue }
            let curve = try dense(v, lo..<hi).map { cosine($0, query) }
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
