import Tensor

/// How much of what text queries see a P-feature keeps, measured without captions: for each
/// held-out frame, the text of the bank the teacher (full ViT) ranks first is the right one,
/// and its rank under the P-feature's similarities is scored (1 = the same answer). With
/// thousands of texts this separates an A that preserves text-relevant directions from one that
/// only raises the cosine.
public struct TextRetrievalProxy: Sendable, Equatable {
    /// Frames scored.
    public var frames = 0
    /// Texts ranked per frame.
    public var texts = 0
    /// Frames whose right text the P-feature ranks first / in its top 5.
    public var top1 = 0
    public var top5 = 0
    public var rankSum = 0

    public init() {}

    public var r1: Double { frames == 0 ? 0 : 100 * Double(top1) / Double(frames) }
    public var r5: Double { frames == 0 ? 0 : 100 * Double(top5) / Double(frames) }
    public var meanRank: Double { frames == 0 ? 0 : Double(rankSum) / Double(frames) }

    /// Adds `count` frames: student and teacher features [count, dim] (any scale) against the
    /// unit-length text bank [texts, dim].
    public mutating func add(student: [Float], teacher: [Float], unitBank: [Float], dim: Int) {
        let count = student.count / dim
        let m = unitBank.count / dim
        guard count > 0, m > 0 else { return }
        var s = student
        var t = teacher
        VectorMath.normalizeRows(&s, dim: dim)
        VectorMath.normalizeRows(&t, dim: dim)
        var ss = [Float](repeating: 0, count: count * m)
        var ts = ss
        unitBank.withUnsafeBufferPointer { g in
            s.withUnsafeBufferPointer { a in
                ss.withUnsafeMutableBufferPointer {
                    BLAS.gemmNT(
                        m: count, n: m, k: dim, a: a.baseAddress!, lda: dim, b: g.baseAddress!, ldb: dim,
                        c: $0.baseAddress!, ldc: m)
                }
            }
            t.withUnsafeBufferPointer { a in
                ts.withUnsafeMutableBufferPointer {
                    BLAS.gemmNT(
                        m: count, n: m, k: dim, a: a.baseAddress!, lda: dim, b: g.baseAddress!, ldb: dim,
                        c: $0.baseAddress!, ldc: m)
                }
            }
        }
        texts = m
        for i in 0..<count {
            let row = i * m
            var right = 0
            for j in 1..<m where ts[row + j] > ts[row + right] { right = j }
            let score = ss[row + right]
            var rank = 1
            for j in 0..<m where ss[row + j] > score { rank += 1 }
            frames += 1
            rankSum += rank
            if rank == 1 { top1 += 1 }
            if rank <= 5 { top5 += 1 }
        }
    }
}
