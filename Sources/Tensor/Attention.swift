/// Multi-head scaled dot-product attention over a batch of packed variable-length sequences.
///
/// Rows of all sequences are concatenated ([totalRows, 3*width] for the fused QKV
/// projection), so the projections around attention run as one large GEMM for the whole
/// batch while attention itself stays per sequence and per head.
public enum Attention {
    /// Start row and length of each sequence in the packed batch.
    public struct Packing: Sendable, Equatable {
        public let offsets: [Int]
        public let lengths: [Int]
        public var totalRows: Int { (offsets.last ?? 0) + (lengths.last ?? 0) }
        public var count: Int { lengths.count }
        public var maxLength: Int { lengths.max() ?? 0 }

        public init(lengths: [Int]) {
            var offsets: [Int] = []
            offsets.reserveCapacity(lengths.count)
            var o = 0
            for l in lengths {
                offsets.append(o)
                o += l
            }
            self.offsets = offsets
            self.lengths = lengths
        }

        /// `count` sequences of the same length.
        public init(count: Int, length: Int) { self.init(lengths: Array(repeating: length, count: count)) }
    }

    /// out[rows, width] = softmax(Q K^T / sqrt(hd) [+ causal mask]) V per sequence and head.
    /// `qkv` is [rows, 3*width] with Q, K, V blocks side by side. When `probabilities` is
    /// given it receives the attention matrices (sequence-major, then head, T x T), which
    /// the backward pass needs.
    public static func forward(
        qkv: UnsafePointer<Float>, packing: Packing, heads: Int, width: Int,
        causal: Bool, into out: UnsafeMutablePointer<Float>,
        probabilities: UnsafeMutablePointer<Float>? = nil,
        probabilityOffsets: [Int]? = nil
    ) {
        let hd = width / heads
        let scale = 1 / Float(hd).squareRoot()
        let ld = 3 * width
        forEachHead(packing: packing, heads: heads) { scratch, s, h in
            let t = packing.lengths[s]
            let base = packing.offsets[s] * ld
            let q = qkv + base + h * hd
            let k = qkv + base + width + h * hd
            let v = qkv + base + 2 * width + h * hd
            let scores: UnsafeMutablePointer<Float>
            if let probabilities, let po = probabilityOffsets {
                scores = probabilities + po[s] + h * t * t
            } else {
                scores = scratch
            }
            BLAS.gemmNT(m: t, n: t, k: hd, alpha: scale, a: q, lda: ld, b: k, ldb: ld, c: scores, ldc: t)
            for i in 0..<t {
                let row = scores + i * t
                if causal { for j in (i + 1)..<max(i + 1, t) { row[j] = -.infinity } }
                Softmax.row(row, count: t)
            }
            BLAS.gemmNN(
                m: t, n: hd, k: t, a: scores, lda: t, b: v, ldb: ld,
                c: out + packing.offsets[s] * width + h * hd, ldc: width)
        }
    }

    /// Runs `body(scratch, sequence, head)` for every (sequence, head) pair of a packed batch,
    /// spread over all cores; `scratch` holds maxLength^2 floats private to the worker.
    /// Per-head GEMMs are too small for OpenBLAS's own threading (and concurrent threaded
    /// calls serialize), so OpenBLAS is pinned to one thread meanwhile.
    public static func forEachHead(
        packing: Packing, heads: Int,
        _ body: (UnsafeMutablePointer<Float>, Int, Int) -> Void
    ) {
        let pairs = packing.count * heads
        let maxT = packing.maxLength
        let threads = BLAS.threads
        let workers = max(1, min(threads, pairs))
        if workers > 1 { BLAS.threads = 1 }
        defer { if workers > 1 { BLAS.threads = threads } }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, workers * maxT * maxT))
        defer { scratch.deallocate() }
        parallelWorkers(workers) { w in
            for pair in (pairs * w / workers)..<(pairs * (w + 1) / workers) {
                body(scratch + w * maxT * maxT, pair / heads, pair % heads)
            }
        }
    }
}
