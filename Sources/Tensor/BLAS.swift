import CBLAS

/// Thin wrappers over OpenBLAS sgemm. All matrices are row-major float32.
public enum BLAS {
    /// C[m,n] = alpha * A[m,k] * B[n,k]^T + beta * C — the shape of a linear layer whose
    /// weight is stored [out, in] as in PyTorch checkpoints.
    @inlinable
    public static func gemmNT(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        sgemm(CblasNoTrans, CblasTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// C[m,n] = alpha * A[m,k] * B[k,n] + beta * C.
    @inlinable
    public static func gemmNN(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        sgemm(CblasNoTrans, CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// C[m,n] = alpha * A[k,m]^T * B[k,n] + beta * C (used by backward passes).
    @inlinable
    public static func gemmTN(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        sgemm(CblasTrans, CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// The one call into OpenBLAS; the three entry points above differ only in which operand is transposed.
    @inlinable
    static func sgemm(
        _ ta: CBLAS_TRANSPOSE, _ tb: CBLAS_TRANSPOSE, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Threads OpenBLAS may use; elementwise kernels use the same count.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// The kernel family OpenBLAS chose when it loaded (e.g. "SkylakeX", "Prescott").
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }
}
