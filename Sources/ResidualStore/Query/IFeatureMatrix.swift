import Tensor

/// Every stored I-feature of a library as one contiguous, row-normalized [rows, dim] matrix,
/// loaded once: stage 1 of text search is a single matrix-vector product over it.
public struct IFeatureMatrix: Sendable {
    public struct Row: Sendable, Equatable {
        public var video: Int64
        public var frame: Int
        public var time: Double
        public init(video: Int64, frame: Int, time: Double) { self.video = video; self.frame = frame; self.time = time }
    }

    public let dim: Int
    public private(set) var values: [Float] = []
    public private(set) var rows: [Row] = []

    public init(dim: Int) { self.dim = dim }

    /// Appends one feature (any scale; stored unit length so scores are cosines).
    public mutating func append(_ row: Row, _ vector: [Float]) {
        precondition(vector.count == dim)
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let inv = norm > 0 ? 1 / norm : 0
        values.append(contentsOf: vector.map { $0 * inv })
        rows.append(row)
    }

    public mutating func reserve(rows count: Int) {
        values.reserveCapacity(count * dim)
        rows.reserveCapacity(count)
    }

    /// Cosine of every row with `query` (unit length).
    public func scores(_ query: [Float]) -> [Float] {
        precondition(query.count == dim)
        guard !rows.isEmpty else { return [] }
        var out = [Float](repeating: 0, count: rows.count)
        values.withUnsafeBufferPointer { m in
            query.withUnsafeBufferPointer { q in
                out.withUnsafeMutableBufferPointer { o in
                    BLAS.gemmNT(m: rows.count, n: 1, k: dim, a: m.baseAddress!, lda: dim, b: q.baseAddress!, ldb: dim,
                                c: o.baseAddress!, ldc: 1)
                }
            }
        }
        return out
    }
}
