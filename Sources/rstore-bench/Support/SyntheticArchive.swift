import CLIP
import Foundation
import Tensor

/// Stage 1's view of a synthetic archive, one video at a time and the same every time (each
/// video its own seed), so libraries far larger than memory can be indexed and checked in
/// passes.
///
/// Structure, not noise: `topics` shared directions; each one-hour video (2 fps, N = 2: 2,400
/// I-features) draws three topics and cuts between scenes about once a minute; a scene is its
/// topic plus its own direction, and within a scene the feature follows a random walk (a decaying
/// drift of ~0.7 norm, correlation time ~50 s), as CLIP features of a shot drift with motion.
struct SyntheticArchive {
    static let perVideo = 2400
    static let framesPerVideo = 7200
    let dim: Int
    let seed: UInt64
    let topics: [[Float]]

    init(dim: Int, topics count: Int = 256, seed: UInt64 = 2026) {
        self.dim = dim
        self.seed = seed
        var rng = SplitMix(seed: seed)
        topics = (0..<count).map { _ in VectorMath.normalized((0..<dim).map { _ in rng.normal() }) }
    }

    /// The unit I-features of video `v`, row after row.
    func video(_ v: Int) -> [Float] {
        var rng = SplitMix(seed: seed ^ (UInt64(v) &* 0x9E37_79B9_7F4A_7C15) ^ 0x5bd1_e995)
        let own = (0..<3).map { _ in Int(rng.next() % UInt64(topics.count)) }
        var out = [Float](repeating: 0, count: Self.perVideo * dim)
        var scene = [Float](repeating: 0, count: dim)
        var walk = [Float](repeating: 0, count: dim)
        var row = [Float](repeating: 0, count: dim)
        for i in 0..<Self.perVideo {
            if i == 0 || rng.uniform() < 1 / 40 {
                let t = topics[own[Int(rng.next() % 3)]]
                let d = VectorMath.normalized((0..<dim).map { _ in rng.normal() })
                for j in 0..<dim {
                    scene[j] = 0.8 * t[j] + 0.6 * d[j]
                    walk[j] = 0
                }
            }
            for j in 0..<dim { walk[j] *= 0.97 }
            for _ in 0..<32 { walk[Int(rng.next() % UInt64(dim))] += 0.03 * rng.normal() }
            var norm: Float = 0
            for j in 0..<dim {
                row[j] = scene[j] + walk[j]
                norm += row[j] * row[j]
            }
            let inv = 1 / norm.squareRoot()
            for j in 0..<dim { out[i * dim + j] = row[j] * inv }
        }
        return out
    }

    /// Text-like queries: half a topic's direction, half one scene of one video, each blurred
    /// so that its best cosine is ~0.6 (CLIP's text-image cosines are lower still; what matters
    /// here is that some moments match and most do not).
    func queries(_ n: Int, videos: Int) -> [[Float]] {
        var rng = SplitMix(seed: seed &+ 77)
        return (0..<n).map { q in
            let base: [Float]
            if q % 2 == 0 {
                base = topics[Int(rng.next() % UInt64(topics.count))]
            } else {
                let rows = video(Int(rng.next() % UInt64(max(1, videos))))
                let r = Int(rng.next() % UInt64(Self.perVideo))
                base = Array(rows[(r * dim)..<((r + 1) * dim)])
            }
            let noise = VectorMath.normalized((0..<dim).map { _ in rng.normal() })
            return VectorMath.normalized(zip(base, noise).map { $0 + 1.3 * $1 })
        }
    }
}
