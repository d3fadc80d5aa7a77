import Foundation
import Video

extension Reconstructor {
    /// For each P-frame of `frames` whose input is not at hand (neither its feature in memory,
    /// its entry in the tier, nor its pixels in memory), the sampled frames that would be decoded
    /// from the original for it: itself and, for the motion strategy, its anchor. I-frames are
    /// stored features and need nothing.
    package func framesToDecode(_ source: Source, frames: [Int]) -> [Int: [Int]] {
        let motion = encoder.reduction.strategy == .motion
        let p = frames.filter { !source.layout.isIFrame($0) && source.hasOffset($0) }
        let uncached = p.filter { !pFeatures.contains(source.featureKey($0)) }
        let inTier = tier?.holds(source, frames: uncached, encoder: encoder.withMaskSeed(source.maskSeed)) ?? []
        var out: [Int: [Int]] = [:]
        for k in uncached where !inTier.contains(k) {
            var need: [Int] = []
            if !decodedFrames.contains(source.frameKey(k)) { need.append(k) }
            let a = source.layout.anchor(of: k)
            if motion, source.hasOffset(a), !decodedFrames.contains(source.frameKey(a)) { need.append(a) }
            if !need.isEmpty { out[k] = need }
        }
        return out
    }

    /// Seconds of `source`'s video a decoder goes through to output `frames`: for each seek
    /// point (keyframe) among them, from it to the furthest of its frames. An upper bound (the
    /// decoder skips non-reference frames on the way where the codec allows).
    package static func decodeSeconds(_ source: Source, frames: Set<Int>) -> Double {
        guard let secondsPerTick = source.secondsPerTick else { return 0 }
        var furthest: [Int64: Int64] = [:]
        for k in frames where source.hasOffset(k) {
            let o = source.offset(k)
            furthest[o.seekPTS] = max(furthest[o.seekPTS] ?? o.seekPTS, o.pts)
        }
        return furthest.reduce(0) { $0 + Double(max(0, $1.value - $1.key)) * secondsPerTick }
    }
}

extension Reconstructor.Source {
    /// The stream time base in seconds, from the stored offsets (pts and time of two frames).
    var secondsPerTick: Double? {
        guard let a = offsets.first, let b = offsets.last(where: { $0.pts != a.pts }) else { return nil }
        let s = (b.time - a.time) / Double(b.pts - a.pts)
        return s.isFinite && s > 0 ? s : nil
    }
}
