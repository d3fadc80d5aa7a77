/// Layer normalization over the last dimension, row by row (PyTorch semantics: biased
/// variance, eps inside the square root).
public struct LayerNorm: Sendable {
    public let weight: [Float]
    public let bias: [Float]
    public let eps: Float
    public var width: Int { weight.count }

    public init(weight: [Float], bias: [Float], eps: Float = 1e-5) {
        precondition(weight.count == bias.count)
        self.weight = weight
        self.bias = bias
        self.eps = eps
    }

    /// out[r] = LN(x[r]); `out` may alias `x`.
    public func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        let d = width
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                parallelChunks(rows, minChunk: 16) { range in
                    for r in range {
                        let src = x + r * d
                        let dst = out + r * d
                        let (mean, inv) = statistics(src)
                        for i in 0..<d { dst[i] = (src[i] - mean) * inv * w[i] + b[i] }
                    }
                }
            }
        }
    }

    /// Mean and 1/sqrt(variance + eps) of one row: shared by the forward pass and the
    /// training backward, which recomputes them instead of storing them.
    @inline(__always)
    public func statistics(_ row: UnsafePointer<Float>) -> (mean: Float, rstd: Float) {
        let d = width
        var mean: Float = 0
        for i in 0..<d { mean += row[i] }
        mean /= Float(d)
        var variance: Float = 0
        for i in 0..<d {
            let c = row[i] - mean
            variance += c * c
        }
        variance /= Float(d)
        return (mean, 1 / (variance + eps).squareRoot())
    }
}
