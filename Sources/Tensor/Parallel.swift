import Dispatch

/// Splits `0..<count` into contiguous chunks and runs them on all cores. Elementwise
/// kernels between GEMMs (layer norm, GELU, softmax) would otherwise run on one core
/// while OpenBLAS uses both.
@inlinable
public func parallelChunks(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let workers = max(1, min(BLAS.threads, count / max(1, minChunk)))
    if workers <= 1 {
        body(0..<count)
        return
    }
    withoutActuallyEscaping(body) { body in
        let task = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = count * w / workers
            let hi = count * (w + 1) / workers
            if lo < hi { task.value(lo..<hi) }
        }
    }
}

/// Lets kernels hand raw pointers to worker threads: each worker touches a disjoint
/// range, which is what makes this safe (the compiler cannot see that).
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}

/// Runs `body(worker)` for `workers` workers on all cores.
@inlinable
public func parallelWorkers(_ workers: Int, _ body: (Int) -> Void) {
    if workers <= 1 {
        body(0)
        return
    }
    withoutActuallyEscaping(body) { body in
        let task = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: workers) { task.value($0) }
    }
}
