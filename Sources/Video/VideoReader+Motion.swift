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
    /// Each span costs one seek, to its anchor's keyframe, and a decode of every frame from there
    /// to its last sample (none skipped: non-reference B-frames carry motion too). If the seek
    /// lands past the anchor, it retries from earlier, last from the start.
    public func motionDeltas(spans: [[FrameOffset]], grid: MotionGrid) throws -> [[PatchMotion]] {
        guard spans.contains(where: { $0.count > 1 }) else { return spans.map { _ in [] } }
        let input = try MediaInput(url: url, threads: threads, exportMotionVectors: true)
        // Conceal as the reader does (its own log: this pass reports nothing new).
        input.damage = damage == nil ? nil : DamageLog()
        let field = MotionField(grid: grid, rotation: info.rotation)
        return try spans.map { try motionDeltas(span: $0, input: input, field: field) }
    }

    private func motionDeltas(span: [FrameOffset], input: MediaInput, field: MotionField) throws -> [PatchMotion] {
        guard span.count > 1 else { return [] }
        let pts = span.map(\.pts)
        let fiveSeconds = av_rescale_q(5, AVRational(num: 1, den: 1), input.timeBase)
        for attempt in [span[0].seekPTS, span[0].seekPTS - fiveSeconds, nil] as [Int64?] {
            let ok = attempt.map { input.seek(to: $0) } ?? input.seekToStart()
            if !ok && attempt != nil { continue }
            input.skipPolicy = .none
            var out = (1..<span.count).map { _ in PatchMotion(grid: field.grid.grid) }
            var j = 1  // the delta being filled: frames in (pts[j-1], pts[j]]
            var first = true
            var reached = false
            while let ts = try input.nextFrame() {
                guard let frame = input.frame else { break }
                defer { av_frame_unref(frame) }
                if first {
                    first = false
                    if ts > pts[0] && attempt != nil { break }  // landed past the anchor: earlier
                }
                if ts <= pts[0] { continue }
                while j < span.count && ts > pts[j] { j += 1 }
                if j == span.count {
                    reached = true
                    break
                }
                out[j - 1].add(field.motion(of: frame))
                if ts == pts[span.count - 1] {
                    reached = true
                    break
                }
            }
            if reached { return out }
        }
        let start = input.startForMessages
        throw VideoError.frameNotFound(path: url.path, pts: span[0].pts, time: input.seconds(span[0].pts, from: start))
    }
}
