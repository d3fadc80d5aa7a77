import Foundation

/// Which patch tokens a P-frame keeps (R in the paper).
public enum ReductionStrategy: String, CaseIterable, Sendable, Codable {
    /// Uniformly random, seeded by (seed, frame index): reproducible.
    case random
    /// A 2-D grid as even as the count allows: rows spread over the image, the kept patches
    /// of each row spread over its columns (see `TokenReduction.uniformGrid`).
    case uniform
    /// The authors' "uniform": `linspace(0, patches - 1, kept)` over the raster order,
    /// truncated as `.long()` does. On B/32 (7 of 49) that is the main diagonal, not a spread
    /// over the image; offered to reproduce their ablation, `uniform` stays the lattice.
    case linspace
    /// The patches nearest the image centre.
    case center
    /// The patches that moved most since the anchor I-frame, as the paper's authors rank them:
    /// by the codec's motion vectors accumulated from the anchor to the frame (a per-patch
    /// score the caller measures: this module knows no codec), ties by the pixel difference.
    /// Where there is no such score (intra-only codecs, images, damaged spans), by the mean
    /// absolute difference of the normalized pixels to the anchor's.
    case motion
}

/// Token reduction R with drop ratio p: keeps max(1, round((1-p) * patches)) patches.
public struct TokenReduction: Sendable, Equatable {
    public let p: Double
    public let strategy: ReductionStrategy
    public private(set) var seed: UInt64

    public init(p: Double, strategy: ReductionStrategy, seed: UInt64 = 0) throws {
        guard p >= 0, p < 1, p.isFinite else {
            throw ResidualError.badParameter("token drop ratio p must be in [0, 1), got \(p)")
        }
        self.p = p
        self.strategy = strategy
        self.seed = seed
    }

    /// The same reduction with another seed (p and strategy were checked already).
    public func withSeed(_ seed: UInt64) -> TokenReduction {
        var copy = self
        copy.seed = seed
        return copy
    }

    /// `torch.linspace(0, patches - 1, count).long()`: evenly spaced raster indices, truncated.
    /// Computed as torch does on the CPU, in float32 and from both ends (start + i*step for the
    /// first half, end - (k-1-i)*step for the rest), so the truncation lands where theirs does.
    public static func linspace(patches n: Int, count k: Int) -> [Int] {
        guard k > 1 else { return [0] }
        let end = Float(n - 1)
        let step = end / Float(k - 1)
        return (0..<k).map { i in
            let v = i < k / 2 ? Float(i) * step : end - step * Float(k - 1 - i)
            return max(0, min(n - 1, Int(v)))
        }
    }

    public func keepCount(patches: Int) -> Int { max(1, min(patches, Int(((1 - p) * Double(patches)).rounded()))) }

    /// Kept patch indices (ascending, row-major grid order) for one frame. Only `.motion` reads
    /// the rest: `motion`, a per-patch score (grid x grid, row-major, higher = more motion),
    /// first, ties (e.g. the many zero-motion patches of a still scene) broken by the pixel
    /// difference of `frame` to `anchor` (normalized CHW pixels) when given, then by index;
    /// without `motion`, the pixel difference alone; without pixels either, the centre.
    public func select(
        grid: Int, patchSize: Int, frameIndex: Int,
        frame: UnsafePointer<Float>? = nil, anchor: UnsafePointer<Float>? = nil,
        motion: [Float]? = nil
    ) -> [Int] {
        let n = grid * grid
        let k = keepCount(patches: n)
        let chosen: [Int]
        switch strategy {
        case .random:
            var rng = SplitMix(seed: seed ^ (UInt64(truncatingIfNeeded: frameIndex) &* 0x9e37_79b9_7f4a_7c15))
            var idx = Array(0..<n)
            for i in 0..<k { idx.swapAt(i, i + Int(rng.next() % UInt64(n - i))) }  // partial Fisher-Yates
            chosen = Array(idx.prefix(k))
        case .uniform:
            chosen = Self.uniformGrid(grid: grid, count: k)
        case .linspace:
            chosen = Self.linspace(patches: n, count: k)
        case .center:
            let c = Double(grid - 1) / 2
            chosen = Array(
                (0..<n).sorted {
                    let a = pow(Double($0 / grid) - c, 2) + pow(Double($0 % grid) - c, 2)
                    let b = pow(Double($1 / grid) - c, 2) + pow(Double($1 % grid) - c, 2)
                    return a != b ? a < b : $0 < $1
                }.prefix(k))
        case .motion:
            let pixels = frame.flatMap { f in
                anchor.map { Self.patchDifferences(grid: grid, patchSize: patchSize, frame: f, anchor: $0) }
            }
            if let motion, motion.count == n {
                chosen = Self.highest(motion, then: pixels, count: k)
                break
            }
            guard let pixels else {
                // No anchor pixels (e.g. an I-frame itself): fall back to the centre.
                return (try! TokenReduction(p: p, strategy: .center, seed: seed)).select(
                    grid: grid, patchSize: patchSize, frameIndex: frameIndex)
            }
            chosen = Self.highest(pixels, count: k)
        }
        return chosen.sorted()
    }

    /// The `count` highest-scoring patches; ties go to the higher `then` score, then to the
    /// lower index, so the choice is total. (Public: training draws its tie-breaks at random.)
    public static func highest(_ score: [Float], then second: [Float]? = nil, count k: Int) -> [Int] {
        Array(
            score.indices.sorted {
                if score[$0] != score[$1] { return score[$0] > score[$1] }
                if let second, second[$0] != second[$1] { return second[$0] > second[$1] }
                return $0 < $1
            }.prefix(k))
    }

    /// `count` patches of a `grid` x `grid` layout on an even 2-D grid: r ~ sqrt(count) rows
    /// at evenly spaced centres, the count split over them as evenly as it divides (the rows
    /// with one patch more spaced evenly too), and each row's patches at evenly spaced column
    /// centres. Spacing in raster order instead (i * P / count) gives one column on B/32.
    public static func uniformGrid(grid g: Int, count k: Int) -> [Int] {
        guard g > 0, k > 0 else { return [] }
        let k = min(k, g * g)
        var rows = max(1, min(g, Int(Double(k).squareRoot().rounded())))
        while (k + rows - 1) / rows > g { rows += 1 }
        let base = k / rows
        let extra = k % rows
        let longer = Set((0..<extra).map { ($0 * rows + rows / 2) / extra })
        var out: [Int] = []
        out.reserveCapacity(k)
        for i in 0..<rows {
            let y = (i * g + g / 2) / rows
            let m = base + (longer.contains(i) ? 1 : 0)
            for j in 0..<m { out.append(y * g + (j * g + g / 2) / m) }
        }
        return out
    }

    /// Mean |frame - anchor| per patch over the three channels.
    public static func patchDifferences(
        grid: Int, patchSize p: Int, frame: UnsafePointer<Float>, anchor: UnsafePointer<Float>
    ) -> [Float] {
        let s = grid * p
        var score = [Float](repeating: 0, count: grid * grid)
        for c in 0..<3 {
            for y in 0..<s {
                let row = c * s * s + y * s
                let gy = (y / p) * grid
                for x in 0..<s { score[gy + x / p] += abs(frame[row + x] - anchor[row + x]) }
            }
        }
        let inv = 1 / Float(3 * p * p)
        return score.map { $0 * inv }
    }
}
