import CLIP
import Tensor

extension VisionTower {
    /// Backward pass of a recorded forward: from dL/d(projected outputs) [count, embedDim]
    /// to dL/d(first extra token) [count, width] — the residual token at sequence index 1.
    ///
    /// Runs back through the projection, post-LN on the [CLS] rows, every block in reverse
    /// (MLP, its LN and residual add, then out-projection, attention, QKV and ln1) and the
    /// pre-LN. Activations only: the tower is frozen, so no weight gradient is formed, and
    /// every linear layer's backward is one GEMM over all rows (dX = dY W).
    public func extraTokenGradient(_ tape: VisionTape, outputGradient: [Float]) -> [Float] {
        let c = config.vision
        let d = width
        let m = c.mlpWidth
        let b = config.embedDim
        let rows = tape.rows
        let count = tape.count
        precondition(outputGradient.count == count * b, "output gradient must be [\(count), \(b)]")
        precondition(tape.packing.lengths.allSatisfy { $0 >= 2 }, "every sequence needs an extra token")
        guard count > 0 else { return [] }

        let dh = UnsafeMutablePointer<Float>.allocate(capacity: rows * d)
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: rows * max(d, m))
        let dqkv = UnsafeMutablePointer<Float>.allocate(capacity: rows * 3 * d)
        let dPooled = UnsafeMutablePointer<Float>.allocate(capacity: count * d)
        defer {
            dh.deallocate()
            tmp.deallocate()
            dqkv.deallocate()
            dPooled.deallocate()
        }

        // Projection, then post-LN on the pooled [CLS] rows; the rest of the stream starts at 0.
        outputGradient.withUnsafeBufferPointer { g in
            projection.weight.withUnsafeBufferPointer { w in
                BLAS.gemmNN(m: count, n: d, k: b, a: g.baseAddress!, lda: b, b: w.baseAddress!, ldb: d, c: tmp, ldc: d)
            }
        }
        BackwardKernels.layerNorm(
            postLN, input: tape.pooled, outputGradient: tmp, rows: count, into: dPooled, accumulate: false)
        dh.initialize(repeating: 0, count: rows * d)
        for (i, o) in tape.packing.offsets.enumerated() { (dh + o * d).update(from: dPooled + i * d, count: d) }

        for l in stride(from: transformer.layers.count - 1, through: 0, by: -1) {
            let layer = transformer.layers[l]
            // MLP branch: h += fc2(act(fc1(ln2(h_mid)))).
            layer.fc2.weight.withUnsafeBufferPointer { w in
                BLAS.gemmNN(m: rows, n: m, k: d, a: dh, lda: d, b: w.baseAddress!, ldb: m, c: tmp, ldc: m)
            }
            BackwardKernels.activation(
                c.activation, preActivation: tape.preActivations[l], gradient: tmp, count: rows * m)
            layer.fc1.weight.withUnsafeBufferPointer { w in
                BLAS.gemmNN(m: rows, n: d, k: m, a: tmp, lda: m, b: w.baseAddress!, ldb: d, c: dqkv, ldc: d)
            }
            BackwardKernels.layerNorm(
                layer.ln2, input: tape.blockMids[l], outputGradient: dqkv, rows: rows, into: dh, accumulate: true)
            // Attention branch: h_mid = h_in + out(attention(qkv(ln1(h_in)))).
            layer.out.weight.withUnsafeBufferPointer { w in
                BLAS.gemmNN(m: rows, n: d, k: d, a: dh, lda: d, b: w.baseAddress!, ldb: d, c: tmp, ldc: d)
            }
            BackwardKernels.attention(
                qkv: tape.qkv[l], probabilities: tape.probabilities[l],
                probabilityOffsets: tape.probabilityOffsets, outputGradient: tmp,
                packing: tape.packing, heads: c.heads, width: d, into: dqkv)
            layer.qkv.weight.withUnsafeBufferPointer { w in
                BLAS.gemmNN(m: rows, n: d, k: 3 * d, a: dqkv, lda: 3 * d, b: w.baseAddress!, ldb: d, c: tmp, ldc: d)
            }
            BackwardKernels.layerNorm(
                layer.ln1, input: tape.blockInputs[l], outputGradient: tmp, rows: rows, into: dh, accumulate: true)
        }

        // Pre-LN, only the extra-token rows are needed.
        var out = [Float](repeating: 0, count: count * d)
        out.withUnsafeMutableBufferPointer { o in
            for (i, off) in tape.packing.offsets.enumerated() {
                BackwardKernels.layerNorm(
                    preLN, input: tape.embeddings + (off + 1) * d, outputGradient: dh + (off + 1) * d,
                    rows: 1, into: o.baseAddress! + i * d, accumulate: false)
            }
        }
        return out
    }
}
