/// A linear layer y = x W^T + b with W stored [out, in] (PyTorch layout), run as one GEMM
/// over all rows of a batch.
public struct Linear: Sendable {
    public let weight: [Float]
    public let bias: [Float]?
    public let inFeatures: Int
    public let outFeatures: Int
    /// The weight in bf16 panels, made when `Precision.current` is bf16.
    public let bf16 = BF16Weights()

    public init(weight: [Float], bias: [Float]?, inFeatures: Int, outFeatures: Int) {
        precondition(
            weight.count == inFeatures * outFeatures,
            "Linear weight has \(weight.count) values, expected \(outFeatures)x\(inFeatures)")
        precondition(bias == nil || bias!.count == outFeatures)
        self.weight = weight
        self.bias = bias
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// out[rows, outFeatures] = x[rows, inFeatures] W^T + b.
    /// With `accumulate`, adds into `out` instead (a fused residual add).
    public func callAsFunction(
        _ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>,
        accumulate: Bool = false
    ) {
        guard rows > 0 else { return }
        let n = outFeatures
        if let bias {
            bias.withUnsafeBufferPointer { b in
                if accumulate {
                    for r in 0..<rows {
                        let o = out + r * n
                        for j in 0..<n { o[j] += b[j] }
                    }
                } else {
                    for r in 0..<rows { (out + r * n).update(from: b.baseAddress!, count: n) }
                }
            }
        }
        let beta: Float = (bias != nil || accumulate) ? 1 : 0
        if Precision.current == .bf16 {
            bf16.gemm(x, rows: rows, weight: weight, n: n, k: inFeatures, into: out, accumulate: beta == 1)
            return
        }
        weight.withUnsafeBufferPointer { w in
            BLAS.gemmNT(
                m: rows, n: n, k: inFeatures, a: x, lda: inFeatures,
                b: w.baseAddress!, ldb: inFeatures, beta: beta, c: out, ldc: n)
        }
    }
}
