import CFFmpeg
import Foundation

extension VideoReader {
    /// Whether this file's codec exports motion vectors: decides a video's `MotionSource`.
    public var exportsMotionVectors: Bool { MotionField.exportsVectors(input.codecID) }

    /// Random access to codec motion: for each span (consecutive sampled frames as stored, the
    /// first being the anchor), the `PatchMotion` delta of every sample after the first, exactly
    /// as the sequential pass (`frames(fps:...motion:)`) computes them: `PatchMotion.span` of
    /// a prefix is then the P-frame's score, bit-identical to ingest's.
    ///
    /// Spans are grouped by their anchor's seek point: each group costs one seek and one decode
    /// of every frame from there to its last sample (none skipped: non-reference B-frames carry
    /// motion too). See `decode(offsets:motionSpans:grid:meter:transform:)`.
    public func motionDeltas(spans: [[FrameOffset]], grid: MotionGrid) throws -> [[PatchMotion]] {
        try decode(offsets: [], motionSpans: spans, grid: grid) { $0 }.motion
    }

    /// Pixels of the sampled frames at `offsets` (as `decode(offsets:meter:transform:)`) and the
    /// codec motion of `spans` (as `motionDeltas(spans:grid:)`) from ONE decode per seek point:
    /// a GOP that holds both a wanted frame and a span is decoded once, vectors exported, instead
    /// of once for the pixels and again for the motion. Wanted frames in no span's GOP are
    /// decoded as `decode(offsets:)` does (non-reference frames skipped).
    ///
    /// Frames and motion are those of a full decode: nothing is skipped in a span's GOP, so the
    /// pixels are byte-identical to the sequential pass and the deltas add the same vectors in
    /// the same order. `meter` sees every frame the decoder outputs (motion decodes included).
    /// If a seek lands past the group's first frame, it retries from earlier, last from the start.
    public func decode<T>(
        offsets: [FrameOffset], motionSpans spans: [[FrameOffset]], grid: MotionGrid, meter: DecodeMeter? = nil,
        transform: (RGBImage) throws -> T
    ) throws -> (pixels: [T], motion: [[PatchMotion]]) {
        var motion = spans.map { s in (0..<max(0, s.count - 1)).map { _ in PatchMotion(grid: grid.grid) } }
        var spanGroups: [Int64: [Int]] = [:]
        for (i, s) in spans.enumerated() where s.count > 1 { spanGroups[s[0].seekPTS, default: []].append(i) }
        var found: [Int64: T] = [:]
        if !spanGroups.isEmpty {
            let input = try MediaInput(url: url, threads: threads, exportMotionVectors: true)
            // Conceal as the reader does (its own log: this pass reports nothing new).
            input.damage = damage == nil ? nil : DamageLog()
            let field = MotionField(grid: grid, rotation: info.rotation)
            let converter = RGBConverter()
            // Wanted frames inside a span (or in a span's GOP) ride along with its decode.
            var byGOP: [Int64: [Int64]] = [:]
            for o in offsets {
                let span = spans.first { $0.count > 1 && $0[0].pts <= o.pts && o.pts <= $0[$0.count - 1].pts }
                if let key = span?[0].seekPTS ?? (spanGroups[o.seekPTS] != nil ? o.seekPTS : nil) {
                    byGOP[key, default: []].append(o.pts)
                }
            }
            for (seekPTS, members) in spanGroups.sorted(by: { $0.key < $1.key }) {
                let wanted = Set(byGOP[seekPTS] ?? [])
                let (px, deltas) = try decodeGOP(
                    seekPTS: seekPTS, spans: members.map { spans[$0] }, wanted: wanted, input: input, field: field,
                    converter: converter, meter: meter, transform: transform)
                for (i, d) in zip(members, deltas) { motion[i] = d }
                found.merge(px) { a, _ in a }
            }
        }
        let rest = offsets.filter { found[$0.pts] == nil }
        if !rest.isEmpty {
            for (o, img) in zip(rest, try decode(offsets: rest, meter: meter, transform: transform)) {
                found[o.pts] = img
            }
        }
        return (offsets.map { found[$0.pts]! }, motion)
    }

    /// One seek to `seekPTS` and a decode of every frame from there to the last frame any of
    /// `spans` or `wanted` needs: each span's deltas (frames in (pts[j-1], pts[j]] go to delta
    /// j - 1, in decode order, as the sequential pass adds them) and the wanted frames' pixels.
    private func decodeGOP<T>(
        seekPTS: Int64, spans: [[FrameOffset]], wanted: Set<Int64>, input: MediaInput, field: MotionField,
        converter: RGBConverter, meter: DecodeMeter?, transform: (RGBImage) throws -> T
    ) throws -> ([Int64: T], [[PatchMotion]]) {
        let pts = spans.map { $0.map(\.pts) }
        let first = min(pts.map { $0[0] }.min()!, wanted.min() ?? .max)
        let last = max(pts.map { $0.last! }.max()!, wanted.max() ?? .min)
        let fiveSeconds = av_rescale_q(5, AVRational(num: 1, den: 1), input.timeBase)
        for attempt in [seekPTS, seekPTS - 1, seekPTS - fiveSeconds, nil] as [Int64?] {
            let ok = attempt.map { input.seek(to: $0) } ?? input.seekToStart()
            if !ok && attempt != nil { continue }
            input.skipPolicy = .none
            var out = spans.map { s in (1..<s.count).map { _ in PatchMotion(grid: field.grid.grid) } }
            var current: [Int64: T] = [:]
            var reachedEnd = false
            var firstFrame = true
            while let ts = try input.nextFrame() {
                guard let frame = input.frame else { break }
                defer { av_frame_unref(frame) }
                if let meter { try meter(Int(frame.pointee.width), Int(frame.pointee.height)) }
                if firstFrame {
                    firstFrame = false
                    if ts > first && attempt != nil { break }  // landed past the first frame: earlier
                }
                if wanted.contains(ts) {
                    current[ts] = try transform(converter.convert(frame, rotation: info.rotation, path: url.path))
                }
                var m: PatchMotion? = nil
                for (s, p) in pts.enumerated() where ts > p[0] && ts <= p[p.count - 1] {
                    let j = p.firstIndex { $0 >= ts }!  // j >= 1: ts > p[0]
                    if m == nil { m = field.motion(of: frame) }
                    out[s][j - 1].add(m!)
                }
                if ts >= last {
                    reachedEnd = true
                    break
                }
            }
            // A wanted frame that did not show up is left to `decode(offsets:)`'s own retries.
            if reachedEnd { return (current, out) }
        }
        let start = input.startForMessages
        throw VideoError.frameNotFound(path: url.path, pts: first, time: input.seconds(first, from: start))
    }
}
