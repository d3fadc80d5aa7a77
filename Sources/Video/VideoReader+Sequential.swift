import CFFmpeg
import Foundation
import Synchronization

extension VideoReader {
    /// Statistics of one sequential pass.
    public struct PassStats: Sendable {
        public var framesDecoded = 0
        public var packetsSkipped = 0
        public var packetsSent = 0
        public var samples = 0
        public var conversions = 0
    }

    /// Samples the video at `fps` (previous-frame rule, see the type's documentation) and calls
    /// `body` for every sampled frame in order, synchronously on the calling thread.
    ///
    /// - Parameter skipNonReference: let the decoder drop non-reference frames that cannot be
    ///   sampled (same output as a full decode; only for codecs where this is known to hold).
    /// - Parameter motion: also measure codec motion on this patch grid (`SampledFrame.motion`).
    /// - Throws: `VideoError` (after `body` got every frame decoded before the failure), or
    ///   whatever `body` throws.
    public func forEachFrame(
        fps: Double = 2, skipNonReference: Bool = true, motion: MotionGrid? = nil,
        _ body: (SampledFrame) throws -> Void
    ) throws {
        _ = try sequentialPass(fps: fps, skipNonReference: skipNonReference, motion: motion) {
            try body($0)
            return true
        }
    }

    /// The sampled frames' offsets only (decodes everything needed, converts nothing).
    public func sampleOffsets(fps: Double = 2) throws -> [FrameOffset] {
        var out: [FrameOffset] = []
        try forEachOffset(fps: fps) { out.append($0) }
        return out
    }

    /// Calls `body` with each sampled frame's offset, in order (no pixel conversion). On a
    /// failure, `body` has seen every offset before it.
    public func forEachOffset(fps: Double = 2, _ body: (FrameOffset) throws -> Void) throws {
        try samplingPass(fps: fps, skipNonReference: true) { _, offsets, _ in
            for o in offsets { try body(o) }
            return true
        }
    }

    /// Streams the sampled frames (see the type's documentation for the rule). Decoding runs on
    /// its own thread, at most `bufferSize` frames ahead of the consumer (back-pressure).
    /// Stops decoding when the consumer stops iterating (the stream is released) or its task
    /// is cancelled.
    public func frames(fps: Double = 2) -> AsyncThrowingStream<SampledFrame, Error> {
        frames(fps: fps, bufferSize: 8, skipNonReference: true)
    }

    /// Like `frames(fps:)`; with `convertIf`, frames whose samples all fail the predicate come
    /// with an empty image (no RGB conversion): ingest needs pixels of I-frames only. With
    /// `motion`, every frame comes with its codec motion since the previous sample on that
    /// patch grid (`SampledFrame.motion`), and no frame is skipped.
    /// With `meter`, the decode thread (and the decoder's own threads), motion and colour
    /// conversion charge their CPU and busy wall time to it, with the pass's frame counts.
    public func frames(
        fps: Double, bufferSize: Int = 8, skipNonReference: Bool = true,
        convertIf: (@Sendable (Int) -> Bool)? = nil, motion: MotionGrid? = nil,
        meter: CostMeter? = nil
    )
        -> AsyncThrowingStream<SampledFrame, Error>
    {
        if motion != nil, Self.splitsMotionPasses {
            // Exporting vectors keeps the decoder on one thread: decode keyframe-bounded
            // segments on two instead (same frames, offsets and motion; see PassSegment).
            let starts = segmentStarts(fps: fps)
            if !starts.isEmpty {
                return segmentedFrames(
                    fps: fps, starts: starts, workers: 2, bufferSize: bufferSize,
                    convertIf: convertIf, motion: motion, meter: meter)
            }
        }
        // Two threads: decode (demux + decode + sampling) -> raw frames (refcounted, no copy) ->
        // convert (swscale to RGB24 + rotation) -> bounded channel -> consumer. Conversion thus
        // overlaps decoding instead of stalling the packet feed.
        let channel = FrameChannel(capacity: max(1, bufferSize))
        let raw = BlockingQueue<RawSample>(capacity: 3)
        let url = self.url
        let rotation = info.rotation
        // A name of its own per pass, given before the decoder opens: the decoder's threads
        // inherit it, so the pass's decode CPU is that of the threads of this name (`ThreadCPU`).
        let decodeName = Self.decodeThreadName()
        let decoder = Thread { [self] in
            ThreadCPU.nameCurrent(decodeName)
            // samplingPass opens its own demuxer/decoder: independent of random access.
            self.pass(into: raw, fps: fps, skipNonReference: skipNonReference, motion: motion, meter: meter)
        }
        let converter = Thread {
            ThreadCPU.nameCurrent("rstore.convert")
            let rgb = RGBConverter()
            do {
                converting: while let sample = try raw.take() {
                    let image = try rgb.image(
                        of: sample.frame, covering: sample.offsets, if: convertIf, rotation: rotation, path: url.path,
                        meter: meter)
                    for (i, o) in sample.offsets.enumerated() {
                        if !channel.put(SampledFrame(offset: o, image: image, motion: sample.motion?[i])) {
                            raw.cancel()
                            break converting
                        }
                    }
                }
                channel.finish(throwing: nil)
            } catch {
                raw.cancel()
                channel.finish(throwing: error)
            }
        }
        for (t, name) in [(decoder, decodeName), (converter, "rstore.convert")] {
            t.name = name
            t.stackSize = 4 << 20
            t.start()
        }
        let handle = FrameChannel.ConsumerHandle(channel)
        return AsyncThrowingStream<SampledFrame, Error> {
            try await handle.next()
        }
    }

    private static let passCounter = Mutex(0)

    /// Whether a pass that measures codec motion is split into keyframe-bounded segments decoded
    /// on two threads: on machines with two or more cores, unless `RSTORE_SPLIT_DECODE=0` (for
    /// measuring one against the other).
    static let splitsMotionPasses: Bool =
        ProcessInfo.processInfo.activeProcessorCount >= 2
        && ProcessInfo.processInfo.environment["RSTORE_SPLIT_DECODE"] != "0"

    /// "rstore.dec<n>", n counting passes (15 characters at most, the kernel's limit).
    static func decodeThreadName() -> String {
        "rstore.dec"
            + String(
                passCounter.withLock { n -> Int in
                    n = (n + 1) % 100_000
                    return n
                })
    }

    /// A sampling pass whose frames go to `queue` by reference (no pixel copy); the queue is
    /// finished with the pass's error, if any.
    func pass(
        into queue: BlockingQueue<RawSample>, fps: Double, skipNonReference: Bool, motion: MotionGrid?,
        meter: CostMeter?, segment: PassSegment? = nil
    ) {
        do {
            try samplingPass(
                fps: fps, skipNonReference: skipNonReference, motion: motion, meter: meter, segment: segment
            ) { frame, offsets, deltas in
                guard let sample = RawSample(frame: frame, offsets: offsets, motion: deltas) else {
                    throw VideoError.decodeFailed(path: url.path, time: offsets.first?.time, reason: "out of memory")
                }
                return queue.put(sample)
            }
            queue.finish(throwing: nil)
        } catch {
            queue.finish(throwing: error)
        }
    }

    /// The sequential pass with conversion on the calling thread. `emit` returns false to stop.
    @discardableResult
    func sequentialPass(
        fps: Double, skipNonReference: Bool, convert: Bool = true, motion: MotionGrid? = nil,
        _ emit: (SampledFrame) throws -> Bool
    ) throws -> PassStats {
        let converter = RGBConverter()
        let rotation = info.rotation
        var conversions = 0
        var stats = try samplingPass(fps: fps, skipNonReference: skipNonReference, motion: motion) {
            frame, offsets, deltas in
            let image: RGBImage
            if convert {
                image = try converter.convert(frame, rotation: rotation, path: url.path)
                conversions += 1
            } else {
                image = RGBImage(width: 0, height: 0, pixels: [])
            }
            for (i, o) in offsets.enumerated() {
                if try !emit(SampledFrame(offset: o, image: image, motion: deltas?[i])) { return false }
            }
            return true
        }
        stats.conversions = conversions
        return stats
    }

    /// Records a truncation when the frames stop well before the stream's declared duration
    /// (a file cut short whose container index still describes the whole video).
    private func checkEnd(lastTime: Double, damage: DamageLog) {
        let st = input.stream.pointee
        guard st.duration != LibAV.nopts, st.duration > 0 else { return }
        let declared = Double(st.duration) * Double(st.time_base.num) / Double(st.time_base.den)
        let frame = info.frameRate > 0 ? 1 / info.frameRate : 0.1
        if lastTime + max(0.5, 3 * frame) < declared {
            damage.truncated(
                at: lastTime,
                reason: String(format: "decodable data ends at %.3f s, the container says %.3f s", lastTime, declared))
        }
    }

    /// The sampling pass: decodes, applies the sampling rule and hands each sampled decoded frame
    /// (valid only during the call) with the offsets of the samples it covers to `emit`, which
    /// returns false to stop early. With `motion`, `emit` also gets each sample's motion since
    /// the previous sample (the first covering sample gets the frames since the last emitted
    /// one, the others nothing: their interval is empty), and non-reference frames are never
    /// skipped (their vectors count).
    ///
    /// With `meter`, decoding is charged the CPU of every thread named as the calling one
    /// (the decoder's frame threads inherit its name: give the pass a thread of its own name)
    /// and the calling thread's wall time outside `emit` and motion, which are charged apart.
    ///
    /// With `segment`, the pass covers one keyframe-bounded part of the file only (see
    /// `PassSegment`): what it finds at its edges goes to the segment's `log`.
    @discardableResult
    func samplingPass(
        fps: Double, skipNonReference: Bool, motion: MotionGrid? = nil, meter: CostMeter? = nil,
        segment: PassSegment? = nil,
        _ emit: (UnsafeMutablePointer<AVFrame>, [FrameOffset], [PatchMotion]?) throws -> Bool
    ) throws -> PassStats {
        try checkFPS(fps)
        let group = meter.map { _ in ThreadCPU.currentName() }
        let groupCPU0 = group.map { ThreadCPU.seconds(named: $0) } ?? 0
        let wall0 = Date()
        var emitWall = 0.0
        var motionCPU = 0.0
        var motionWall = 0.0
        let input = try MediaInput(url: url, threads: threads, exportMotionVectors: motion != nil)
        let field = motion.map { MotionField(grid: $0, rotation: info.rotation) }
        var moved = motion.map { PatchMotion(grid: $0.grid) }  // since the last emitted sample
        input.damage = damage
        var stats = PassStats()
        defer {
            // Before `input` goes: its decoder's threads are still alive to be read.
            if let meter, let group {
                meter.add(.motion, cpu: motionCPU, wall: motionWall)
                meter.add(
                    .decode, cpu: max(0, ThreadCPU.seconds(named: group) - groupCPU0 - motionCPU),
                    wall: max(0, Date().timeIntervalSince(wall0) - emitWall - motionWall))
                meter.frames(
                    decoded: input.framesOutput, skipped: max(0, input.packetsSent - input.framesOutput),
                    sampled: stats.samples, converted: 0)
            }
        }
        func finalStats() -> PassStats {
            var s = stats
            s.framesDecoded = input.framesOutput
            s.packetsSkipped = input.packetsSkipped
            s.packetsSent = input.packetsSent
            return s
        }
        var clock: SamplingClock? = nil
        func makeClock(_ start: Int64) -> SamplingClock {
            let c = SamplingClock(start: start, timeBase: input.timeBase, fps: fps)
            if skipNonReference && motion == nil { input.skipPolicy = .sampling(c) }
            return c
        }
        if let segment {
            // Every segment samples on the whole file's clock, from its first sample on.
            clock = makeClock(segment.clockStart)
            if let start = segment.startTS, !input.seek(to: start) {
                segment.log.finish(reachedStop: false)
                return finalStats()
            }
        } else if input.streamStart != LibAV.nopts {
            clock = makeClock(input.streamStart)
        }
        // A later segment waits for its start keyframe: frames shown before it (an open GOP's
        // leading pictures) belong to the segment before, which decodes up to that keyframe.
        var awaitingStart = segment?.startTS != nil
        // A later segment's frame motions before its first emitted sample, kept one by one so the
        // merge can add them to the previous segment's leftover in the order a single pass would.
        var head: [PatchMotion]? = segment?.startTS != nil && motion != nil ? [] : nil

        guard let pending = av_frame_alloc() else {
            throw VideoError.decodeFailed(path: url.path, time: nil, reason: "out of memory")
        }
        var pendingVar: UnsafeMutablePointer<AVFrame>? = pending
        defer { av_frame_free(&pendingVar) }
        var hasPending = false
        var pendingTS: Int64 = 0
        var pendingSeek: Int64 = 0
        var lastKeyTS: Int64 = LibAV.nopts
        var firstTS: Int64 = LibAV.nopts
        var nextK: Int64 = segment?.firstIndex ?? 0
        let emitFrom = segment?.emitFrom ?? 0

        /// Emits the pending frame as samples nextK..<end. Returns false to stop.
        func flushPending(until end: Int64) throws -> Bool {
            guard hasPending, end > nextK, let clock else { return true }
            let time = max(0, clock.seconds(pendingTS))
            let offsets = (nextK..<end).map {
                FrameOffset(index: Int($0), pts: pendingTS, time: time, seekPTS: pendingSeek)
            }
            nextK = end
            stats.samples += offsets.count
            var deltas: [PatchMotion]? = nil
            if let motion, let m = moved {
                deltas = [m] + (1..<offsets.count).map { _ in PatchMotion(grid: motion.grid) }
                moved = PatchMotion(grid: motion.grid)
            }
            // A restarted pass emits only what was not emitted before it (as a single pass would).
            let dropped = Int(max(0, min(Int64(offsets.count), emitFrom - Int64(offsets[0].index))))
            guard dropped < offsets.count else { return true }
            if let h = head {
                segment?.log.setHead(h)
                head = nil
            }
            let t0 = meter == nil ? nil : Date()
            defer { if let t0 { emitWall += Date().timeIntervalSince(t0) } }
            return try emit(pending, Array(offsets.dropFirst(dropped)), deltas.map { Array($0.dropFirst(dropped)) })
        }

        var failure: Error? = nil
        decoding: while true {
            let ts: Int64?
            do {
                ts = try input.nextFrame()
            } catch {
                failure = error
                break decoding
            }
            guard let ts, let frame = input.frame else { break }
            if awaitingStart, let segment, let start = segment.startTS {
                if ts < start { continue }
                awaitingStart = false
                // The frame after the seek must be the keyframe the segment was cut at; if not,
                // seeking does not reproduce a full decode here and the caller starts over.
                guard ts == start, rstore_frame_is_key(frame) != 0 else {
                    segment.log.finish(reachedStop: false, verified: false)
                    return finalStats()
                }
            }
            if let segment, let stop = segment.stopTS, ts >= stop {
                // The next segment starts here: cover the samples up to it and hand over the
                // motion seen since the last emitted sample.
                if hasPending, try !flushPending(until: max(nextK, clock!.ceilIndex(stop))) { return finalStats() }
                segment.log.finish(reachedStop: true, leftover: moved)
                return finalStats()
            }
            if clock == nil { clock = makeClock(ts) }
            if let problem = clock!.check(ts, previous: hasPending ? pendingTS : nil) {
                failure = VideoError.readFailed(
                    path: url.path, time: hasPending ? max(0, clock!.seconds(pendingTS)) : nil, reason: problem)
                break decoding
            }
            if firstTS == LibAV.nopts { firstTS = ts }
            if rstore_frame_is_key(frame) != 0 { lastKeyTS = ts }
            if hasPending {
                let end = clock!.ceilIndex(ts)
                if let problem = clock!.checkBudget(
                    samples: stats.samples, adding: end - nextK,
                    packets: input.packetsSent + input.packetsSkipped)
                {
                    failure = VideoError.readFailed(
                        path: url.path, time: max(0, clock!.seconds(pendingTS)), reason: problem)
                    break decoding
                }
                if try !flushPending(until: end) { return finalStats() }
            }
            if let field {
                let c0 = meter == nil ? 0 : ThreadCPU.current()
                let t0 = meter == nil ? nil : Date()
                let m = field.motion(of: frame)
                moved?.add(m)
                head?.append(m)
                if let t0 {
                    motionCPU += ThreadCPU.current() - c0
                    motionWall += Date().timeIntervalSince(t0)
                }
            }
            av_frame_unref(pending)
            av_frame_move_ref(pending, frame)
            hasPending = true
            pendingTS = ts
            // Seek point: the latest keyframe at or before this frame in presentation order; if
            // none was seen (stream starts without one), the first frame's time.
            pendingSeek = (lastKeyTS != LibAV.nopts && lastKeyTS <= ts) ? lastKeyTS : firstTS
        }
        if let segment, segment.stopTS != nil || awaitingStart {
            // The data ended before the next segment's keyframe (or before this one's): the
            // segments do not tile the file as decoded; the caller starts over.
            segment.log.finish(reachedStop: false, verified: failure == nil && !awaitingStart)
            if let failure { throw failure }
            return finalStats()
        }
        // The last good frame covers the instants up to its own pts (none past the end); a
        // stream whose only frames come before t_0 still yields sample 0.
        if hasPending, let clock {
            let end = max(clock.floorIndex(pendingTS) + 1, nextK == 0 ? 1 : 0)
            if try !flushPending(until: end) { return finalStats() }
        }
        segment?.log.finish(reachedStop: true)
        if let failure { throw failure }
        if input.framesOutput == 0 && segment?.startTS == nil { throw VideoError.noFrames(path: url.path) }
        if let damage, hasPending, let clock { checkEnd(lastTime: clock.seconds(pendingTS), damage: damage) }
        return finalStats()
    }
}
