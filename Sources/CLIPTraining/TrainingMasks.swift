import CLIP

/// How a training P-frame's kept patches are chosen from step to step.
public enum MaskSchedule: String, Sendable, Codable, CaseIterable {
    /// One mask per P-frame for the whole run, the one inference picks (the only behaviour
    /// before fresh masks; what state files without a `masks` entry were trained with).
    case fixed
    /// A new mask every time a P-frame is used, as the authors train: random draws anew;
    /// motion ranks by its score with random tie-breaks, and a stated share of samples gets a
    /// random mask instead. On a small corpus a fixed mask lets A fit the masks.
    case fresh
}

/// What a training P-frame's masks are drawn from.
struct MaskSource {
    /// The mask inference would pick (held-out frames are always measured with it).
    var inference: [Int]
    /// The motion strategy's per-patch score (codec motion, else the pixel difference to the anchor).
    var motion: [Float]?
}

/// Draws the kept patches of training P-frames under a schedule; reproducible from
/// (seed, epoch, video, frame), so a resumed run sees the same masks.
struct TrainingMasks {
    let schedule: MaskSchedule
    let reduction: TokenReduction
    let grid: Int
    let patchSize: Int
    let randomShare: Double
    let seed: UInt64

    func keep(_ source: MaskSource, video: Int, frame: Int, epoch: Int) -> [Int] {
        guard schedule == .fresh else { return source.inference }
        var rng = SplitMix(
            seed: seed ^ 0x6d61_736b ^ (UInt64(epoch + 1) &* 0x9e37_79b9_7f4a_7c15)
                ^ (UInt64(video) &* 0xbf58_476d_1ce4_e5b9) ^ (UInt64(frame) &* 0x94d0_49bb_1331_11eb))
        let random = { (rng: inout SplitMix) in
            (try! TokenReduction(p: reduction.p, strategy: .random, seed: rng.next()))  // p was checked by `reduction`
                .select(grid: grid, patchSize: patchSize, frameIndex: frame)
        }
        switch reduction.strategy {
        case .random:
            return random(&rng)
        case .motion:
            if Double(rng.uniform()) < randomShare { return random(&rng) }
            guard let score = source.motion else { return source.inference }
            let noise = (0..<score.count).map { _ in rng.uniform() }
            return TokenReduction.highest(score, then: noise, count: reduction.keepCount(patches: grid * grid)).sorted()
        case .uniform, .linspace, .center:
            return source.inference
        }
    }
}
