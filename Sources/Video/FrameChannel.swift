import CFFmpeg
import Foundation

/// A bounded single-producer / single-consumer hand-over from the decode thread to an async
/// consumer. The producer blocks while `capacity` frames wait (back-pressure); the consumer
/// awaits without blocking a thread.
final class FrameChannel: @unchecked Sendable {
    private let cond = NSCondition()
    private var buffer: [SampledFrame] = []
    private var head = 0
    private var finished = false
    private var failure: Error?
    private var cancelled = false
    private var waiter: CheckedContinuation<SampledFrame?, Error>?
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    private var count: Int { buffer.count - head }

    /// Producer: hands over one frame, blocking while the buffer is full.
    /// Returns false once the consumer is gone (the producer should stop).
    func put(_ frame: SampledFrame) -> Bool {
        cond.lock()
        while count >= capacity && !cancelled { cond.wait() }
        if cancelled {
            cond.unlock()
            return false
        }
        if let w = waiter {
            waiter = nil
            cond.unlock()
            w.resume(returning: frame)
            return true
        }
        buffer.append(frame)
        cond.unlock()
        return true
    }

    /// Producer: no more frames (nil = clean end).
    func finish(throwing error: Error?) {
        cond.lock()
        finished = true
        failure = error
        let w = waiter
        waiter = nil
        let err = failure
        if w != nil { failure = nil }
        cond.unlock()
        if let w {
            if let err { w.resume(throwing: err) } else { w.resume(returning: nil) }
        }
    }

    /// Consumer side gone or cancelled: wake and stop the producer.
    func cancel() {
        cond.lock()
        cancelled = true
        let w = waiter
        waiter = nil
        cond.broadcast()
        cond.unlock()
        w?.resume(throwing: CancellationError())
    }

    /// Consumer: the next frame, nil at the end; throws the producer's error after its frames.
    func next() async throws -> SampledFrame? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<SampledFrame?, Error>) in
                cond.lock()
                if cancelled {
                    cond.unlock()
                    c.resume(throwing: CancellationError())
                    return
                }
                if count > 0 {
                    let f = buffer[head]
                    head += 1
                    if head > 64 {
                        buffer.removeFirst(head)
                        head = 0
                    }
                    cond.signal()
                    cond.unlock()
                    c.resume(returning: f)
                    return
                }
                if finished {
                    let err = failure
                    failure = nil
                    cond.unlock()
                    if let err { c.resume(throwing: err) } else { c.resume(returning: nil) }
                    return
                }
                waiter = c
                cond.unlock()
            }
        } onCancel: {
            self.cancel()
        }
    }

    /// Owned by the stream's closure: when the stream is released, the producer is stopped.
    final class ConsumerHandle: Sendable {
        let channel: FrameChannel
        init(_ channel: FrameChannel) { self.channel = channel }
        func next() async throws -> SampledFrame? { try await channel.next() }
        deinit { channel.cancel() }
    }
}

/// A decoded frame reference (no pixel copy) and the samples it covers, handed from the decode
/// thread to the conversion thread.
final class RawSample: @unchecked Sendable {
    let frame: UnsafeMutablePointer<AVFrame>
    let offsets: [FrameOffset]
    /// Each sample's motion since the previous one (when measured).
    let motion: [PatchMotion]?

    init?(frame: UnsafeMutablePointer<AVFrame>, offsets: [FrameOffset], motion: [PatchMotion]? = nil) {
        guard let f = av_frame_clone(frame) else { return nil }
        self.frame = f
        self.offsets = offsets
        self.motion = motion
    }

    deinit {
        var f: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&f)
    }
}

/// A bounded blocking queue between two threads: `put` blocks while full, `take` while empty.
final class BlockingQueue<Element: Sendable>: @unchecked Sendable {
    private let cond = NSCondition()
    private var items: [Element] = []
    private var finished = false
    private var failure: Error?
    private var cancelled = false
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Returns false if the queue was cancelled (the consumer is gone).
    func put(_ item: Element) -> Bool {
        cond.lock()
        defer { cond.unlock() }
        while items.count >= capacity && !cancelled { cond.wait() }
        if cancelled { return false }
        items.append(item)
        cond.broadcast()
        return true
    }

    /// The next item; nil at the end or after cancel; throws the producer's error after its items.
    func take() throws -> Element? {
        cond.lock()
        defer { cond.unlock() }
        while items.isEmpty && !finished && !cancelled { cond.wait() }
        if cancelled { return nil }
        if !items.isEmpty {
            let item = items.removeFirst()
            cond.broadcast()
            return item
        }
        if let e = failure {
            failure = nil
            throw e
        }
        return nil
    }

    func finish(throwing error: Error?) {
        cond.lock()
        defer { cond.unlock() }
        finished = true
        failure = error
        cond.broadcast()
    }

    func cancel() {
        cond.lock()
        defer { cond.unlock() }
        cancelled = true
        items.removeAll()
        cond.broadcast()
    }
}
