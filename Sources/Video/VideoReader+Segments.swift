import CFFmpeg
import Foundation

/// One keyframe-bounded part of a file for a sequential pass: decoding from `startTS` (a
/// keyframe) reproduces a full decode from there on, so two such passes can run on two cores
/// where one pass could use only one (codec motion vectors force a single decoder thread).
struct PassSegment {
    /// The whole file's sampling clock start: every segment counts samples from it.
    var clockStart: Int64
    /// The keyframe this segment starts at (seek there, drop what is shown before it); nil: the
    /// file's start.
    var startTS: Int64?
    /// The next segment's keyframe: stop when a frame at or after it comes out; nil: the end.
    var stopTS: Int64?
    /// The first sample index this segment may emit (the clock's ceiling of `startTS`).
    var firstIndex: Int64 = 0
    /// A restarted pass emits nothing below this index (it was emitted before).
    var emitFrom: Int64 = 0
    let log = SegmentLog()
}

/// What a segment pass found at its edges, read by the merge after the pass ended.
final class SegmentLog: @unchecked Sendable {
    private let lock = NSLock()
    private var _reachedStop = false, _verified = true
    private var _leftover: PatchMotion?, _head: [PatchMotion]?

    /// The pass reached its stop keyframe (or the end of a last segment) and started where it
    /// was cut: its frames are those of a full decode.
    var tiles: Bool { lock.withLock { _reachedStop && _verified } }
    /// Motion after the last emitted sample, owed to the next segment's first sample.
    var leftover: PatchMotion? { lock.withLock { _leftover } }
    /// Frame motions before the first emitted sample, in decode order.
    var head: [PatchMotion]? { lock.withLock { _head } }

    func finish(reachedStop: Bool, verified: Bool = true, leftover: PatchMotion? = nil) {
        lock.withLock {
            _reachedStop = reachedStop
            _verified = verified
            _leftover = leftover
        }
    }
    func setHead(_ h: [PatchMotion]) { lock.withLock { _head = h } }
}

extension VideoReader {
    /// Sampled frames (decoded bytes per sample) one segment may hold while it waits for the
    /// segment before it to be consumed: bounds the memory of a split pass.
    static let segmentBufferBytes = 256 << 20

    /// Keyframes that cut the file into segments of at least `minSeconds` (and at most about
    /// `segmentBufferBytes` of sampled frames), from the container's index: each is the pts of
    /// the first keyframe packet after seeking to an indexed keyframe. Empty when the container
    /// has no index, no stream start, or is too short to split.
    func segmentStarts(fps: Double, minSeconds: Double? = nil) -> [Int64] {
        guard let probe = try? MediaInput(url: url, threads: 1), probe.streamStart != LibAV.nopts else { return [] }
        let tb = Double(probe.timeBase.num) / Double(probe.timeBase.den)
        guard tb > 0 else { return [] }
        let frameBytes = max(1, info.codedWidth * info.codedHeight * 3 / 2)
        let span = minSeconds ?? max(10, Double(Self.segmentBufferBytes / frameBytes) / fps)
        let step = Int64(span / tb)
        var candidates: [Int64] = []
        var last = probe.streamStart
        var ts: Int64 = 0
        var i: Int32 = 0
        while true {
            let r = rstore_index_entry(probe.stream, i, &ts)
            if r < 0 { break }
            i += 1
            if r == 1, ts - last >= step {
                candidates.append(ts)
                last = ts
            }
        }
        // The last segment must hold something too.
        if let end = candidates.last, info.duration > 0, Double(end - probe.streamStart) * tb > info.duration - span / 2
        {
            candidates.removeLast()
        }
        var starts: [Int64] = []
        for c in candidates {
            guard let key = probe.keyframePacketPTS(seekingTo: c), key > (starts.last ?? probe.streamStart) else {
                continue
            }
            starts.append(key)
        }
        return starts
    }

    /// `frames(...)` decoded as keyframe-bounded segments on `workers` threads, merged in order:
    /// the same frames, offsets and motion as one pass (a segment that does not tile the file as
    /// a full decode would makes the merge start over with one pass from where it stands).
    /// At most `workers` segments are decoded or buffered at a time.
    func segmentedFrames(
        fps: Double, starts: [Int64], workers: Int, bufferSize: Int,
        convertIf: (@Sendable (Int) -> Bool)?, motion: MotionGrid?, meter: CostMeter?
    )
        -> AsyncThrowingStream<SampledFrame, Error>
    {
        let clockStart = input.streamStart
        let clock = SamplingClock(start: clockStart, timeBase: input.timeBase, fps: fps)
        let segments: [PassSegment] = ([nil] + starts.map { Optional($0) }).enumerated().map { i, start in
            var s = PassSegment(clockStart: clockStart, startTS: start, stopTS: i < starts.count ? starts[i] : nil)
            s.firstIndex = start.map { max(0, clock.ceilIndex($0)) } ?? 0
            return s
        }
        let frameBytes = max(1, info.codedWidth * info.codedHeight * 3 / 2)
        let capacity = max(bufferSize, Self.segmentBufferBytes / frameBytes)
        let queues = segments.map { _ in BlockingQueue<RawSample>(capacity: capacity) }
        let slots = DispatchSemaphore(value: workers)  // segments decoded or buffered, not yet consumed
        let cursor = SegmentCursor()
        let done = DispatchGroup()
        let url = self.url
        let rotation = info.rotation

        for w in 0..<workers {
            let name = Self.decodeThreadName()
            done.enter()
            let t = Thread { [self] in
                ThreadCPU.nameCurrent(name)
                defer { done.leave() }
                while true {
                    slots.wait()
                    guard let i = cursor.take(below: segments.count) else {
                        slots.signal()
                        return
                    }
                    self.pass(
                        into: queues[i], fps: fps, skipNonReference: false, motion: motion, meter: meter,
                        segment: segments[i])
                }
            }
            t.name = name + "w\(w)"
            t.stackSize = 4 << 20
            t.start()
        }

        let channel = FrameChannel(capacity: max(1, bufferSize))
        let merger = Thread { [self] in
            ThreadCPU.nameCurrent("rstore.convert")
            let rgb = RGBConverter()
            var owed: PatchMotion? = nil  // the previous segment's leftover motion
            var emitted: Int64 = 0  // samples handed on so far
            /// Converts and hands on one decoded frame; false when the consumer is gone.
            func deliver(_ frame: UnsafeMutablePointer<AVFrame>, _ offsets: [FrameOffset], _ motion: [PatchMotion]?)
                throws -> Bool
            {
                let image = try rgb.image(
                    of: frame, covering: offsets, if: convertIf, rotation: rotation, path: url.path, meter: meter)
                for (i, o) in offsets.enumerated() {
                    guard channel.put(SampledFrame(offset: o, image: image, motion: motion?[i])) else { return false }
                }
                emitted = Int64(offsets.last!.index) + 1
                return true
            }
            func shutDown() {
                cursor.stop()
                for q in queues { q.cancel() }
                for _ in 0..<segments.count { slots.signal() }
                done.wait()
            }
            do {
                for (i, queue) in queues.enumerated() {
                    var first = true
                    while let sample = try queue.take() {
                        var deltas = sample.motion
                        if first, i > 0, var m = deltas, !m.isEmpty, let head = segments[i].log.head {
                            // The first sample's motion, summed in a single pass's order.
                            var total = owed ?? PatchMotion(grid: motion?.grid ?? 0)
                            for f in head { total.add(f) }
                            m[0] = total
                            deltas = m
                        }
                        first = false
                        guard try deliver(sample.frame, sample.offsets, deltas) else {
                            shutDown()
                            return
                        }
                    }
                    let log = segments[i].log
                    // A segment that emitted nothing is not worth a special case: start over.
                    guard log.tiles, !first else {
                        // Start over with one pass, emitting only what was not handed on yet.
                        shutDown()
                        damage?.reset()
                        ThreadCPU.nameCurrent(Self.decodeThreadName())
                        var whole = PassSegment(clockStart: clockStart, startTS: nil, stopTS: nil)
                        whole.emitFrom = emitted
                        try self.samplingPass(
                            fps: fps, skipNonReference: false, motion: motion, meter: meter, segment: whole
                        ) {
                            try deliver($0, $1, $2)
                        }
                        channel.finish(throwing: nil)
                        return
                    }
                    owed = log.leftover
                    slots.signal()
                }
                shutDown()
                channel.finish(throwing: nil)
            } catch {
                shutDown()
                channel.finish(throwing: error)
            }
        }
        merger.name = "rstore.convert"
        merger.stackSize = 4 << 20
        merger.start()
        let handle = FrameChannel.ConsumerHandle(channel)
        return AsyncThrowingStream<SampledFrame, Error> {
            try await handle.next()
        }
    }
}

/// Hands out segment indices in order to the workers, until stopped.
private final class SegmentCursor: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0, stopped = false
    func take(below count: Int) -> Int? {
        lock.withLock {
            guard !stopped, next < count else { return nil }
            defer { next += 1 }
            return next
        }
    }
    func stop() { lock.withLock { stopped = true } }
}

extension MediaInput {
    /// The pts of the first keyframe packet of the stream after seeking to `ts` (demuxing only,
    /// nothing decoded); nil when there is none within a few hundred packets.
    func keyframePacketPTS(seekingTo ts: Int64) -> Int64? {
        guard let fmt, seek(to: ts), let packet = av_packet_alloc() else { return nil }
        var p: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_packet_free(&p) }
        for _ in 0..<500 {
            guard av_read_frame(fmt, packet) >= 0 else { return nil }
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == streamIndex else { continue }
            if packet.pointee.flags & AV_PKT_FLAG_KEY != 0 {
                return packet.pointee.pts == LibAV.nopts ? nil : packet.pointee.pts
            }
        }
        return nil
    }
}

extension RGBConverter {
    /// The frame in RGB when `convertIf` wants one of the samples it covers (all when nil), else
    /// an empty image (ingest converts I-frames only); charged to `meter`'s conversion.
    func image(
        of frame: UnsafeMutablePointer<AVFrame>, covering offsets: [FrameOffset],
        if convertIf: (@Sendable (Int) -> Bool)?,
        rotation: Int, path: String, meter: CostMeter?
    ) throws -> RGBImage {
        guard convertIf.map({ want in offsets.contains { want($0.index) } }) ?? true else {
            return RGBImage(width: 0, height: 0, pixels: [])
        }
        let image = try meter.measure(.convert) { try convert(frame, rotation: rotation, path: path) }
        meter?.frames(decoded: 0, skipped: 0, sampled: 0, converted: 1)
        return image
    }
}
