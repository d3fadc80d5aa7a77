import CLIP
import Foundation
import Tensor
import Timeline

/// Two-stage text-to-moment search over a library.
///
/// Stage 1 scores every stored I-feature (one matrix-vector product) and runs the grounding
/// proposal method on each video's coarse, I-frame-only curve. Stage 2 follows the protocol of
/// `Library.ground` (moving average over 15 sampled frames, threshold at the whole video's
/// mean, which stage 1 knows from the I-frame curve) but computes only the P-frames that can
/// change the answer: the ones next to the I-frames at each candidate's edges and around its
/// peak. Every other P-frame of the window is interpolated between its neighbours.
///
/// Pure scoring on values: `coarse` (stage 1's proposals), `plan` (a `RefinePlan`: the frames
/// stage 2 needs, across videos, so their P-frames go through the encoder as one batch) and
/// `rank` (moments from the plan's features). The library reads and computes in between
/// (`Library.searchReport`, Query/Search.swift).
package struct MomentSearch: Sendable {
    /// What stage 2 needs of one video.
    package struct VideoContext: Sendable {
        package var id: Int64
        package var path: String
        /// Time of every sampled frame, index order.
        package var times: [Double]
        package var fps: Double
        /// Which frames are I and each P-frame's anchor (the video's own, shot starts included).
        package var layout: FrameLayout
        /// False when the video's file cannot be read here (its library root is not mounted):
        /// its candidates keep their coarse, I-frame-only boundaries.
        package var refinable = true
        /// The frames a filter admits (its time span); nil: the whole video. Stage 2 looks
        /// at no frame outside it, so no P-frame outside the span is computed.
        package var allowed: Range<Int>?

        package init(id: Int64, path: String, times: [Double], fps: Double, layout: FrameLayout) {
            self.id = id
            self.path = path
            self.times = times
            self.fps = fps
            self.layout = layout
        }
    }

    /// Moving-average window in sampled frames (the paper's 15 at the dense rate).
    package var window = 15
    /// Coarse candidates refined per requested result.
    package var candidatesPerResult = 2

    package init() {}

    /// A stage-1 hit: a frame range of one video and its coarse score.
    package struct Candidate: Sendable, Equatable {
        package var videoID: Int64
        /// First I-frame of the run.
        package var firstFrame: Int
        /// Last P-frame after the run's last I-frame.
        package var lastFrame: Int
        /// The I-frame of the run with the highest smoothed coarse score.
        package var peakFrame: Int
        package var score: Float
        /// The video's grounding threshold: the mean of its smoothed I-frame curve.
        package var threshold: Float

        /// Stage 1's order: higher score first, ties by video id.
        package static func isBetter(_ a: Candidate, _ b: Candidate) -> Bool {
            a.score != b.score ? a.score > b.score : a.videoID < b.videoID
        }
    }

    /// Coarse candidates: proposals on each video's I-frame curve, best first. `shape` gives a
    /// video's frame layout and count (a candidate ends before `frames`); the matrix's rows
    /// must be grouped by video in frame order. `rows` (nil: all) are the row ranges a filter
    /// admits (`Stage1Selection`): only they are scored, and each video's curve, threshold and
    /// proposals come from its admitted rows alone.
    package func coarse(
        matrix: IFeatureMatrix, query: [Float], shape: [Int64: (layout: FrameLayout, frames: Int)],
        rows selected: [Range<Int>]? = nil
    ) -> [Candidate] {
        let ranges = selected ?? [0..<matrix.rows.count]
        let scores = matrix.scores(query, ranges: ranges)
        var out: [Candidate] = []
        var at = 0  // where each range's scores start in `scores`
        for range in ranges {
            out += coarse(rows: matrix.rows[range], scores: scores[at..<(at + range.count)], shape: shape)
            at += range.count
        }
        return out.sorted(by: Candidate.isBetter)
    }

    /// `coarse` of several videos, each scored in its own matrix (rows `rows` of it): the same
    /// candidates, in the same order, as one matrix of those rows would give, without copying
    /// them into one (for 160 candidate videos the copy cost more than the scoring).
    package func coarse(
        videos: [(matrix: IFeatureMatrix, rows: Range<Int>)], query: [Float],
        shape: [Int64: (layout: FrameLayout, frames: Int)]
    ) -> [Candidate] {
        var out: [Candidate] = []
        for v in videos where !v.rows.isEmpty {
            let scores = v.matrix.scores(query, ranges: [v.rows])
            out += coarse(rows: v.matrix.rows[v.rows], scores: scores[...], shape: shape)
        }
        return out.sorted(by: Candidate.isBetter)
    }

    /// The candidates of consecutive matrix rows and their scores (same indices).
    private func coarse(
        rows: ArraySlice<IFeatureMatrix.Row>, scores: ArraySlice<Float>,
        shape: [Int64: (layout: FrameLayout, frames: Int)]
    ) -> [Candidate] {
        var out: [Candidate] = []
        let shift = scores.startIndex - rows.startIndex
        // Rows come grouped by video in frame order (how the matrix is built): walk the runs.
        var start = rows.startIndex
        while start < rows.endIndex {
            var end = start + 1
            while end < rows.endIndex && rows[end].video == rows[start].video { end += 1 }
            defer { start = end }
            let id = rows[start].video
            guard let s = shape[id] else { continue }
            let layout = s.layout
            let w = max(1, window / layout.maxSpacing)
            let curve = Array(scores[(start + shift)..<(end + shift)])
            let smoothed = Grounding.smooth(curve, window: w)
            let threshold = smoothed.reduce(0, +) / Float(max(1, smoothed.count))
            let proposals = Grounding.proposals(curve: curve, window: w)
            // The whole-video fallback only when the curve has no run above its mean.
            for p in proposals.count > 1 ? proposals.dropLast() : proposals[...] {
                let peak = (p.first...p.last).max { smoothed[$0] < smoothed[$1] } ?? p.first
                let last = min(s.frames - 1, layout.lastFrame(anchoredOn: rows[start + p.last].frame))  // the I-frame's P-frames follow it
                out.append(
                    Candidate(
                        videoID: id, firstFrame: rows[start + p.first].frame, lastFrame: last,
                        peakFrame: rows[start + peak].frame, score: p.score, threshold: threshold))
            }
        }
        return out
    }

    /// The P-frames of `c` whose features can move its boundaries or its peak: the ones
    /// between each edge I-frame and its outer neighbour, and on both sides of the peak.
    package func decisiveFrames(_ c: Candidate, layout: FrameLayout, frames: Int) -> [Int] {
        let n = layout.n
        guard n > 0 else { return [] }
        var out = Set<Int>()
        let lastI = layout.anchor(of: c.lastFrame)
        for k in (c.firstFrame - n)..<c.firstFrame { out.insert(k) }
        // Half-open: an I-frame right before a shot start has no P-frames (adaptive layouts).
        for k in (lastI + 1)..<(layout.lastFrame(anchoredOn: lastI) + 1) { out.insert(k) }
        for k in (c.peakFrame - n)...(c.peakFrame + n) where k != c.peakFrame { out.insert(k) }
        return out.filter { $0 >= 0 && $0 < frames && !layout.isIFrame($0) }.sorted()
    }

    /// The frame window stage 2 looks at for `c`: its neighbouring I-frames plus half a
    /// smoothing window, so every smoothed value that decides a boundary sees a full window.
    /// Empty when the candidate does not lie within `frames` (the video changed since stage 1).
    /// Within `allowed` (a filter's span) when given.
    func span(_ c: Candidate, layout: FrameLayout, frames: Int, allowed: Range<Int>? = nil) -> Range<Int> {
        guard c.firstFrame >= 0, c.firstFrame <= c.lastFrame, c.lastFrame < frames, c.peakFrame < frames else {
            return 0..<0
        }
        let margin = layout.maxSpacing + window / 2
        let whole = max(0, c.firstFrame - margin)..<min(frames, c.lastFrame + 1 + margin)
        guard let allowed else { return whole }
        let clamped = whole.clamped(to: allowed)
        return clamped.contains(c.firstFrame) && clamped.contains(c.lastFrame) ? clamped : 0..<0
    }

    /// What decoding a plan may cost: `cost(video, frames)` is what outputting those frames of
    /// the video would decode (0 for frames at hand), in the unit of `budget`.
    package struct DecodeBudget {
        package var budget: Double
        package var cost: (Int64, Set<Int>) -> Double

        package init(budget: Double, cost: @escaping (Int64, Set<Int>) -> Double) {
            self.budget = budget
            self.cost = cost
        }
    }

    /// The candidates stage 2 looks at: the best `k x candidatesPerResult`.
    package func chosen(_ candidates: [Candidate], k: Int) -> ArraySlice<Candidate> {
        candidates.prefix(k * candidatesPerResult)
    }

    /// Stage 2's plan for the chosen candidates (`chosen`): each one's frame window, and the
    /// frames whose features are needed, per video: the stored I-frames of the windows and the
    /// decisive P-frames (`decisiveFrames`). At most `pFrameBudget` P-frames are planned:
    /// candidates past the budget, or of a video that is not `refinable`, keep coarse
    /// boundaries (the same protocol over I-frames only) and are flagged `refined == false`.
    /// A candidate whose video is not in `videos` (gone or changed since stage 1), or does not
    /// lie within it, is dropped.
    ///
    /// `decode` (frames the memory and the tier do not hold cost decoding the original): a
    /// candidate whose P-frames would take the plan's decoding past `decode.budget` keeps
    /// coarse boundaries too, except the first refined one (the best answer is always refined).
    package func plan(
        _ candidates: [Candidate], k: Int, videos: [Int64: VideoContext], pFrameBudget: Int = .max,
        decode: DecodeBudget? = nil
    ) -> RefinePlan {
        var plan = RefinePlan(refinements: [], requests: [])
        var budget = pFrameBudget
        var wanted: [Int64: Set<Int>] = [:]
        var decodeCost: [Int64: Double] = [:]
        var decodeSpent = 0.0
        var refinedOne = false  // a candidate with P-frames refined: the best is, whatever it costs
        for c in chosen(candidates, k: k) {
            guard let v = videos[c.videoID] else { continue }
            let span = span(c, layout: v.layout, frames: v.times.count, allowed: v.allowed)
            guard !span.isEmpty else { continue }
            let decisive = decisiveFrames(c, layout: v.layout, frames: v.times.count).filter(span.contains)
            let p = decisive.filter { !(wanted[v.id]?.contains($0) ?? false) }
            var refined = v.refinable && p.count <= budget
            if refined, let decode, !p.isEmpty {
                let before = decodeCost[v.id] ?? 0
                let after = decode.cost(v.id, (wanted[v.id] ?? []).union(p))
                let extra = after - before
                if refinedOne && extra > 0 && decodeSpent + extra > decode.budget {
                    refined = false
                } else {
                    decodeSpent += extra
                    decodeCost[v.id] = after
                }
            }
            if refined { budget -= p.count }
            if refined && !decisive.isEmpty { refinedOne = true }
            let iFrames = span.filter(v.layout.isIFrame)
            wanted[v.id, default: []].formUnion(iFrames + (refined ? p : []))
            plan.refinements.append(
                .init(candidate: c, video: v, span: span, pFrames: refined ? decisive : [], refined: refined))
        }
        plan.requests = wanted.keys.sorted().map {
            RefinePlan.FrameRequest(video: $0, frameIndices: wanted[$0]!.sorted())
        }
        return plan
    }

    /// The best `k` non-overlapping moments of `plan`, from the features of its requests
    /// (`features[i]`: those of `plan.requests[i]`, in its frame order): each refinement's
    /// curve over its window, known where a feature was computed, interpolated elsewhere.
    package func rank(_ plan: RefinePlan, features: [[[Float]]], query: [Float], k: Int) -> [Moment] {
        var score: [Int64: [Int: Float]] = [:]
        for (r, f) in zip(plan.requests, features) {
            score[r.video] = Dictionary(
                uniqueKeysWithValues: zip(r.frameIndices, f.map { VectorMath.cosine($0, query) }))
        }
        var refined: [Moment] = []
        for r in plan.refinements {
            let known = score[r.video.id] ?? [:]
            let usable = Set(r.span.filter(r.video.layout.isIFrame) + r.pFrames)
            let curve = Self.interpolated(span: r.span, known: known.filter { usable.contains($0.key) })
            var m = best(in: curve, span: r.span, candidate: r.candidate, video: r.video)
            m.refined = r.refined
            refined.append(m)
        }
        refined.sort { $0.score > $1.score }
        var out: [Moment] = []
        for m in refined
        where !out.contains(where: {
            $0.videoID == m.videoID && Grounding.iou(($0.start, $0.end), (m.start, m.end)) > 0.3
        }) {
            out.append(m)
            if out.count == k { break }
        }
        return out
    }

    /// The curve over `span`: known scores where there are any, straight lines between them.
    static func interpolated(span: Range<Int>, known: [Int: Float]) -> [Float] {
        let xs = known.keys.sorted()
        guard let first = xs.first else { return [Float](repeating: 0, count: span.count) }
        var out = [Float](repeating: 0, count: span.count)
        var j = 0
        for k in span {
            while j + 1 < xs.count && xs[j + 1] <= k { j += 1 }
            if k <= first {
                out[k - span.lowerBound] = known[first]!
                continue
            }
            let a = xs[j]
            if j + 1 >= xs.count || a == k {
                out[k - span.lowerBound] = known[a]!
                continue
            }
            let b = xs[j + 1]
            let t = Float(k - a) / Float(b - a)
            out[k - span.lowerBound] = known[a]! * (1 - t) + known[b]! * t
        }
        return out
    }

    /// The grounding run of `curve` (smoothed, above the video's threshold) that overlaps the
    /// candidate and peaks highest; the candidate itself when the finer curve has none.
    func best(in curve: [Float], span: Range<Int>, candidate c: Candidate, video v: VideoContext) -> Moment {
        let s = Grounding.smooth(curve, window: window)
        var bestRun: (first: Int, last: Int, score: Float)?
        var start: Int?
        for i in 0...s.count {
            let above = i < s.count && s[i] - c.threshold > 1e-6
            if above, start == nil { start = i }
            if !above, let a = start {
                let first = span.lowerBound + a
                let last = span.lowerBound + i - 1
                let peak = s[a...(i - 1)].max()!
                if last >= c.firstFrame, first <= c.lastFrame, peak > (bestRun?.score ?? -.infinity) {
                    bestRun = (first, last, peak)
                }
                start = nil
            }
        }
        if let r = bestRun { return moment(v, first: r.first, last: r.last, score: r.score) }
        let inside = s[(c.firstFrame - span.lowerBound)...(c.lastFrame - span.lowerBound)].max() ?? c.score
        return moment(v, first: c.firstFrame, last: c.lastFrame, score: inside)
    }

    func moment(_ v: VideoContext, first: Int, last: Int, score: Float) -> Moment {
        Moment(
            videoID: v.id, path: v.path, start: v.times[first], end: v.times[last] + 1 / v.fps,
            score: score, firstFrame: first, lastFrame: last)
    }
}
