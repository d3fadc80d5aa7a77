import Foundation

/// The machine's attainable float32 matrix-multiply rate, the yardstick every benchmark
/// reports against (measured, never assumed).
public enum Roofline {
    /// Best sgemm GFLOP/s over repeated 1024x3072x768 products (the MLP shape of a ViT-B
    /// batch), measured for about `seconds`.
    public static func sgemmGFLOPs(seconds: Double = 1.5, m: Int = 1024, n: Int = 3072, k: Int = 768) -> Double {
        let a = [Float](repeating: 0.5, count: m * k)
        let b = [Float](repeating: 0.25, count: n * k)
        var c = [Float](repeating: 0, count: m * n)
        var best = 0.0
        let deadline = Date().addingTimeInterval(seconds)
        var runs = 0
        repeat {
            let t0 = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        BLAS.gemmNT(
                            m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: k,
                            c: pc.baseAddress!, ldc: n)
                    }
                }
            }
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = max(best, 2 * Double(m) * Double(n) * Double(k) / dt / 1e9)
            runs += 1
        } while Date() < deadline || runs < 3
        return best
    }
}
