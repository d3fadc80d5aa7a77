/// Zero-shot temporal grounding over a per-frame similarity curve, following the training-free
/// baseline ResidualViT is evaluated with (Charades-STA / MAD zero-shot protocol):
/// cosine(frame, text) per sampled frame, a centred moving average over 15 frames, a
/// threshold at the curve's mean, every maximal run above it as a proposal scored by its best
/// smoothed value, ranked by score, and the whole video appended as a last proposal.
package enum Grounding {
    package struct Proposal: Sendable, Equatable, Codable {
        /// Frame range [first, last] (sampled-frame indices into the curve).
        package var first: Int
        package var last: Int
        package var score: Float
    }

    /// Centred moving average; the window shrinks at the ends so the curve keeps its length.
    package static func smooth(_ curve: [Float], window: Int = 15) -> [Float] {
        guard window > 1, !curve.isEmpty else { return curve }
        let half = window / 2
        var prefix = [Double](repeating: 0, count: curve.count + 1)
        for (i, v) in curve.enumerated() { prefix[i + 1] = prefix[i] + Double(v) }
        return curve.indices.map { i in
            let lo = max(0, i - half)
            let hi = min(curve.count - 1, i + half)
            return Float((prefix[hi + 1] - prefix[lo]) / Double(hi - lo + 1))
        }
    }

    /// Ranked proposals for one similarity curve (raw cosines, one per sampled frame). A frame
    /// is above the threshold when its smoothed value exceeds `thresholdShift` x the smoothed
    /// curve's mean (the evaluation presets' shift, e.g. 0.95 for ActivityNet; search and
    /// `rstore ground` keep 1, the mean itself).
    package static func proposals(curve: [Float], window: Int = 15, thresholdShift: Float = 1) -> [Proposal] {
        guard !curve.isEmpty else { return [] }
        let s = smooth(curve, window: window)
        let threshold = thresholdShift * s.reduce(0, +) / Float(s.count)
        var out: [Proposal] = []
        var start: Int?
        for i in 0...s.count {
            let above = i < s.count && s[i] - threshold > 1e-6  // float noise on a flat curve is not a run
            if above, start == nil { start = i }
            if !above, let a = start {
                out.append(Proposal(first: a, last: i - 1, score: s[a...(i - 1)].max()!))
                start = nil
            }
        }
        out.sort { $0.score != $1.score ? $0.score > $1.score : $0.first < $1.first }
        out.append(Proposal(first: 0, last: s.count - 1, score: s.max()!))
        return out
    }

    /// Temporal IoU of two [start, end] intervals in seconds.
    package static func iou(_ a: (Double, Double), _ b: (Double, Double)) -> Double {
        let inter = max(0, min(a.1, b.1) - max(a.0, b.0))
        let union = max(a.1, b.1) - min(a.0, b.0)
        return union > 0 ? inter / union : 0
    }
}
