import CFFmpeg
import Foundation

extension VideoReader {
    /// Random access: decodes the sampled frames at `offsets` (as produced by a sequential pass
    /// over this file) and returns their pixels in the same order as `offsets`, byte-identical to
    /// the sequential pass.
    ///
    /// Requests are sorted and grouped by seek point, so frames sharing a GOP cost one seek and
    /// one decode of that GOP. For each group: seek to `seekPTS` (`AVSEEK_FLAG_BACKWARD`), decode
    /// forward, keep the frames whose pts equals a stored pts (the last such frame before a later
    /// pts, as the sequential pass does). If the seek lands past a wanted frame (containers whose
    /// index is in decode time), it retries from earlier points and, last, from the start.
    public func decode(offsets: [FrameOffset]) throws -> [RGBImage] {
        try decode(offsets: offsets) { $0 }
    }

    /// Like `decode(offsets:)`, but each frame goes through `transform` right after it is
    /// decoded and converted, and only the result is kept: a request for hundreds of 4K frames
    /// holds one full-size picture at a time (e.g. `transform` = resize and crop to the model's
    /// input). `transform` runs once per distinct frame, in decode order.
    ///
    /// `meter` sees every frame the decoder outputs on the way (see `DecodeMeter`): what the
    /// request really decoded, keyframe distance and resolution included; when it throws, the
    /// decode stops there and the error goes to the caller.
    public func decode<T>(offsets: [FrameOffset], meter: DecodeMeter? = nil, transform: (RGBImage) throws -> T) throws
        -> [T]
    {
        if offsets.isEmpty { return [] }
        lock.lock()
        defer { lock.unlock() }
        var found: [Int64: T] = [:]
        var wanted = Set(offsets.map(\.pts))
        let groups = Dictionary(grouping: offsets, by: \.seekPTS).sorted { $0.key < $1.key }
        for (seekPTS, group) in groups {
            let targets = Set(group.map(\.pts)).intersection(wanted)
            if targets.isEmpty { continue }
            try decodeGroup(
                seekPTS: seekPTS, targets: targets, wanted: &wanted, found: &found, meter: meter, transform: transform)
        }
        return try offsets.map { o in
            guard let img = found[o.pts] else {
                throw VideoError.frameNotFound(path: url.path, pts: o.pts, time: o.time)
            }
            return img
        }
    }

    /// Decodes one sampled frame from its stored offset.
    public func decode(_ offset: FrameOffset, meter: DecodeMeter? = nil) throws -> RGBImage {
        try decode(offsets: [offset], meter: meter) { $0 }[0]
    }

    private func decodeGroup<T>(
        seekPTS: Int64, targets: Set<Int64>, wanted: inout Set<Int64>,
        found: inout [Int64: T], meter: DecodeMeter?, transform: (RGBImage) throws -> T
    ) throws {
        let tb = input.timeBase
        let fiveSeconds = av_rescale_q(5, AVRational(num: 1, den: 1), tb)
        // Seek attempts: the stored point, then a little and a lot earlier; then the same without
        // skipping non-reference frames (timestamps synthesised for frames that have none depend
        // on the frames before them), then from the start.
        let attempts: [(Int64?, Bool)] = [
            (seekPTS, true), (seekPTS - 1, true), (seekPTS - fiveSeconds, true),
            (seekPTS, false), (nil, false),
        ]
        var remaining = targets
        for (attempt, skip) in attempts {
            let ok = attempt.map { input.seek(to: $0) } ?? input.seekToStart()
            if !ok && attempt != nil { continue }
            input.skipPolicy = skip ? .targets(wanted) : .none
            let last = remaining.max()!
            let first = remaining.min()!
            var current: [Int64: T] = [:]
            var firstFrame = true
            while let ts = try input.nextFrame() {
                guard let frame = input.frame else { break }
                if let meter {
                    do { try meter(Int(frame.pointee.width), Int(frame.pointee.height)) } catch {
                        av_frame_unref(frame)
                        throw error
                    }
                }
                if firstFrame {
                    firstFrame = false
                    // Landed past the first wanted frame: try an earlier seek point.
                    if ts > first && attempt != nil { break }
                }
                if wanted.contains(ts) {
                    current[ts] = try transform(randomConverter.convert(frame, rotation: info.rotation, path: url.path))
                }
                av_frame_unref(frame)
                if ts > last { break }
            }
            for (ts, img) in current {
                found[ts] = img
                wanted.remove(ts)
                remaining.remove(ts)
            }
            if remaining.isEmpty { return }
        }
        let pts = remaining.min()!
        let start = input.startForMessages
        throw VideoError.frameNotFound(path: url.path, pts: pts, time: input.seconds(pts, from: start))
    }
}
