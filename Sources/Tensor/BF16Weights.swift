import CKernels
import Synchronization

/// A linear layer's weight W[n][k] rounded to bf16 panels (see bf16_gemm.c), made on first use
/// in bf16 so fp32-only runs never pay the memory (half the fp32 weight).
public final class BF16Weights: Sendable {
    private let packed = Mutex<[UInt16]?>(nil)

    public init() {}

    /// The panels of `weight` ([n, k] row-major), packed once.
    func panels(of weight: [Float], n: Int, k: Int) -> [UInt16] {
        packed.withLock { p in
            if let p { return p }
            var out = [UInt16](repeating: 0, count: rs_bf16_packed_count(n, k))
            weight.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { rs_bf16_pack_weights(w.baseAddress!, n, k, $0.baseAddress!) }
            }
            p = out
            return out
        }
    }

    /// out[rows, n] (+)= x[rows, k] W^T in bf16 with fp32 sums, on `BLAS.threads` threads
    /// (rows converted in parallel, then output panels split between the threads).
    func gemm(
        _ x: UnsafePointer<Float>, rows: Int, weight: [Float], n: Int, k: Int,
        into out: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let panels = self.panels(of: weight, n: n, k: k)
        let kp2 = (k + 1) / 2 * 2
        let a16 = UnsafeMutablePointer<UInt16>.allocate(capacity: rows * kp2)
        defer { a16.deallocate() }
        let xs = UncheckedSendable(x)
        let as16 = UncheckedSendable(a16)
        let outs = UncheckedSendable(out)
        parallelChunks(rows, minChunk: 16) { r in
            rs_bf16_convert_rows(xs.value + r.lowerBound * k, k, r.count, k, as16.value + r.lowerBound * kp2)
        }
        let panelCount = (n + 31) / 32
        let workers = max(1, min(BLAS.threads, panelCount))
        panels.withUnsafeBufferPointer { p in
            let ps = UncheckedSendable(p.baseAddress!)
            parallelWorkers(workers) { w in
                rs_bf16_gemm_nt(
                    rows, n, k, as16.value, ps.value, outs.value, n, accumulate ? 1 : 0,
                    panelCount * w / workers, panelCount * (w + 1) / workers)
            }
        }
    }
}
