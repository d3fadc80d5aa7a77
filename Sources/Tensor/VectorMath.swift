/// Length, unit scaling and cosine of embedding vectors: the one copy the model, the engine
/// and the tools share (queries, search scores, verification, reports). A zero vector stays
/// zero and scores 0, so no caller divides by zero.
public enum VectorMath {
    /// Euclidean length.
    @inlinable
    public static func norm<C: Collection>(_ v: C) -> Float where C.Element == Float {
        var s: Float = 0
        for x in v { s += x * x }
        return s.squareRoot()
    }

    /// `v` scaled to unit length (a zero vector stays zero).
    @inlinable
    public static func normalized<C: Collection>(_ v: C) -> [Float] where C.Element == Float {
        let n = norm(v)
        return n > 0 ? v.map { $0 / n } : Array(v)
    }

    /// Every `dim`-wide row of `x` scaled to unit length in place (zero rows stay zero).
    @inlinable
    public static func normalizeRows(_ x: inout [Float], dim: Int) {
        guard dim > 0 else { return }
        for r in 0..<(x.count / dim) {
            let n = norm(x[r * dim..<(r + 1) * dim])
            guard n > 0 else { continue }
            for k in r * dim..<(r + 1) * dim { x[k] /= n }
        }
    }

    /// Cosine similarity (0 when either vector is zero).
    @inlinable
    public static func cosine<A: Collection, B: Collection>(_ a: A, _ b: B) -> Float
    where A.Element == Float, B.Element == Float {
        var dot: Float = 0
        var aa: Float = 0
        var bb: Float = 0
        for (x, y) in zip(a, b) {
            dot += x * y
            aa += x * x
            bb += y * y
        }
        return aa > 0 && bb > 0 ? dot / (aa * bb).squareRoot() : 0
    }
}
