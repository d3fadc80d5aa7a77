import CKernels
import Tensor

/// Every stored I-feature of a library as one contiguous matrix, loaded once: stage 1 of
/// text search is one pass over it.
///
/// Rows are unit length and kept as int8 with one scale per row (the i8 codec's layout): a
/// thousand video-hours (2.4 M rows of 512) is 1.2 GB instead of 4.9 GB of float32, and a
/// scan (int8 x int16 dot products in C, `rs_int8_scores`) runs at ~30 G elements/s. Quantisation moves cosines by
/// ~1e-3, which stage 1 (a coarse ranking refined by stage 2 on exact features) tolerates.
package struct IFeatureMatrix: Sendable {
    package struct Row: Sendable, Equatable {
        package var video: Int64
        package var frame: Int
        package init(video: Int64, frame: Int) {
            self.video = video
            self.frame = frame
        }
    }

    package let dim: Int
    package private(set) var codes: [Int8] = []
    package private(set) var scales: [Float] = []
    package private(set) var rows: [Row] = []

    package init(dim: Int) { self.dim = dim }

    /// A matrix from its parts (as `MatrixFile` reads them); sizes must agree.
    init(dim: Int, codes: [Int8], scales: [Float], rows: [Row]) {
        precondition(codes.count == rows.count * dim && scales.count == rows.count)
        self.dim = dim
        self.codes = codes
        self.scales = scales
        self.rows = rows
    }

    /// Appends rows `range` of another matrix of the same width, as they are.
    package mutating func append(rowsOf other: IFeatureMatrix, range: Range<Int>) {
        precondition(other.dim == dim)
        codes.append(contentsOf: other.codes[(range.lowerBound * dim)..<(range.upperBound * dim)])
        scales.append(contentsOf: other.scales[range])
        rows.append(contentsOf: other.rows[range])
    }

    /// The rows of frames `frames`, for a matrix of one video's rows in frame order (one run).
    package func rowRange(frames: Range<Int>) -> Range<Int> {
        let lo = rows.firstIndex { $0.frame >= frames.lowerBound } ?? rows.count
        let hi = rows.lastIndex { $0.frame < frames.upperBound }.map { $0 + 1 } ?? lo
        return lo..<max(lo, hi)
    }

    /// Appends every row of another matrix of the same width.
    package mutating func append(rowsOf other: IFeatureMatrix) { append(rowsOf: other, range: 0..<other.rows.count) }

    /// Appends one feature (any scale; stored unit length so scores are cosines).
    package mutating func append(_ row: Row, _ vector: [Float]) {
        precondition(vector.count == dim && dim > 0)
        let norm = VectorMath.norm(vector)
        let maxAbs = vector.reduce(0) { max($0, abs($1)) }
        let scale = norm > 0 && maxAbs > 0 ? maxAbs / norm / 127 : 1
        let inv = norm > 0 && maxAbs > 0 ? 127 / maxAbs : 0
        let start = codes.count
        codes.append(contentsOf: repeatElement(0, count: dim))
        vector.withUnsafeBufferPointer { v in
            codes.withUnsafeMutableBufferPointer { c in
                rs_quantize_int8(v.baseAddress, dim, inv, c.baseAddress! + start)
            }
        }
        scales.append(scale)
        rows.append(row)
    }

    package mutating func reserve(rows count: Int) {
        codes.reserveCapacity(count * dim)
        scales.reserveCapacity(count)
        rows.reserveCapacity(count)
    }

    /// Cosine of every row with `query` (unit length), on all cores. The query is quantised to
    /// int16 (relative error ~3e-5), rows stay int8, products accumulate exactly in int32.
    package func scores(_ query: [Float]) -> [Float] { scores(query, ranges: [0..<rows.count]) }

    /// Cosines of the rows in `ranges` only (a filtered search), concatenated in order: the
    /// rows outside are never read.
    package func scores(_ query: [Float], ranges: [Range<Int>]) -> [Float] {
        precondition(query.count == dim)
        let total = ranges.reduce(0) { $0 + $1.count }
        var out = [Float](repeating: 0, count: total)
        let maxAbs = query.reduce(0) { max($0, abs($1)) }
        let qscale = maxAbs > 0 ? maxAbs / 32767 : 1
        let q16 = query.map { Int16(max(-32767, min(32767, ($0 / qscale).rounded()))) }
        let d = dim
        codes.withUnsafeBufferPointer { c in
            scales.withUnsafeBufferPointer { s in
                q16.withUnsafeBufferPointer { q in
                    out.withUnsafeMutableBufferPointer { o in
                        var at = 0
                        for rowRange in ranges {
                            precondition(rowRange.lowerBound >= 0 && rowRange.upperBound <= rows.count)
                            let p = UncheckedSendable(
                                (c.baseAddress, s.baseAddress, q.baseAddress, o.baseAddress! + at))
                            let base = rowRange.lowerBound
                            parallelChunks(rowRange.count, minChunk: 4096) { range in
                                let (cp, sp, qp, op) = p.value
                                rs_int8_scores(
                                    cp! + (base + range.lowerBound) * d, sp! + base + range.lowerBound, qp!, qscale,
                                    range.count, d, op + range.lowerBound)
                            }
                            at += rowRange.count
                        }
                    }
                }
            }
        }
        return out
    }
}
