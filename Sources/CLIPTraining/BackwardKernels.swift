import Tensor

/// Activation-only backward kernels for the frozen ViT's building blocks. None of them
/// forms a weight gradient: only the residual token's input is trained.
enum BackwardKernels {
    /// dx of y = LN(x) given dy, recomputing mean and 1/std from the stored input:
    /// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * weight.
    /// With `accumulate`, adds into `dx` (the residual branch joining the stream).
    static func layerNorm(
        _ ln: LayerNorm, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        rows: Int, into dx: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let d = ln.width
        ln.weight.withUnsafeBufferPointer { w in
            parallelChunks(rows, minChunk: 16) { range in
                for r in range {
                    let src = x + r * d
                    let g = dy + r * d
                    let dst = dx + r * d
                    let (mean, rstd) = ln.statistics(src)
                    var sumG: Float = 0
                    var sumGX: Float = 0
                    for i in 0..<d {
                        let gi = g[i] * w[i]
                        sumG += gi
                        sumGX += gi * (src[i] - mean) * rstd
                    }
                    let mg = sumG / Float(d)
                    let mgx = sumGX / Float(d)
                    for i in 0..<d {
                        let xhat = (src[i] - mean) * rstd
                        let v = rstd * (g[i] * w[i] - mg - xhat * mgx)
                        dst[i] = accumulate ? dst[i] + v : v
                    }
                }
            }
        }
    }

    /// g *= act'(z) elementwise (z: the stored pre-activation).
    static func activation(
        _ a: Activation, preActivation z: UnsafePointer<Float>,
        gradient g: UnsafeMutablePointer<Float>, count: Int
    ) {
        parallelChunks(count, minChunk: 1 << 14) { range in
            let zr = UnsafeRawPointer(z)
            let gr = UnsafeMutableRawPointer(g)
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let zv = zr.loadUnaligned(fromByteOffset: i * 4, as: FastMath.V.self)
                let gv = gr.loadUnaligned(fromByteOffset: i * 4, as: FastMath.V.self)
                gr.storeBytes(of: gv * a.derivative(zv), toByteOffset: i * 4, as: FastMath.V.self)
                i += 8
            }
            if i < range.upperBound {
                var tail = FastMath.V(repeating: 0)
                for j in i..<range.upperBound { tail[j - i] = z[j] }
                let dv = a.derivative(tail)
                for j in i..<range.upperBound { g[j] *= dv[j - i] }
            }
        }
    }

    /// Backward of `Attention.forward` (non-causal): from dO [rows, width] and the stored QKV
    /// and probabilities, writes dQKV [rows, 3*width]. Per sequence and head, with S = c Q K^T,
    /// P = softmax(S), O = P V:
    /// dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(P * dP)), dQ = c dS K, dK = c dS^T Q.
    static func attention(
        qkv: UnsafePointer<Float>, probabilities: UnsafePointer<Float>, probabilityOffsets: [Int],
        outputGradient dO: UnsafePointer<Float>, packing: Attention.Packing,
        heads: Int, width: Int, into dQKV: UnsafeMutablePointer<Float>
    ) {
        let hd = width / heads
        let scale = 1 / Float(hd).squareRoot()
        let ld = 3 * width
        Attention.forEachHead(packing: packing, heads: heads) { ds, s, h in
            let t = packing.lengths[s]
            let base = packing.offsets[s] * ld + h * hd
            let q = qkv + base
            let k = q + width
            let v = q + 2 * width
            let dq = dQKV + base
            let dk = dq + width
            let dv = dq + 2 * width
            let o = dO + packing.offsets[s] * width + h * hd
            let p = probabilities + probabilityOffsets[s] + h * t * t
            BLAS.gemmTN(m: t, n: hd, k: t, a: p, lda: t, b: o, ldb: width, c: dv, ldc: ld)
            BLAS.gemmNT(m: t, n: t, k: hd, a: o, lda: width, b: v, ldb: ld, c: ds, ldc: t)
            for i in 0..<t {
                let pr = p + i * t
                let dr = ds + i * t
                var dot: Float = 0
                for j in 0..<t { dot += pr[j] * dr[j] }
                for j in 0..<t { dr[j] = pr[j] * (dr[j] - dot) }
            }
            BLAS.gemmNN(m: t, n: hd, k: t, alpha: scale, a: ds, lda: t, b: k, ldb: ld, c: dq, ldc: ld)
            BLAS.gemmTN(m: t, n: hd, k: t, alpha: scale, a: ds, lda: t, b: q, ldb: ld, c: dk, ldc: ld)
        }
    }
}
