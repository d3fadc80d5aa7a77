import Foundation
import Store
import Timeline

/// The rows of the stage-1 matrix a `SearchFilter` admits, chosen before any row is scored:
/// per admitted video, the run of its rows whose frames lie in the filter's time span.
/// Stage 1 scores only these rows; stage 2 refines only within `frames`.
struct Stage1Selection: Sendable {
    /// Matrix row ranges, each within one video's rows, in matrix order.
    var ranges: [Range<Int>]
    /// The sampled frames each admitted video may contribute (the filter's span).
    var frames: [Int64: Range<Int>]

    var rowCount: Int { ranges.reduce(0) { $0 + $1.count } }
}

extension Stage1Snapshot {
    /// What `filter` admits of this snapshot. `localPaths` names rooted videos' files here, by
    /// id (for absolute path prefixes; only read when a prefix is given).
    func select(_ filter: SearchFilter, localPaths: [Int64: String]) -> Stage1Selection {
        var out = Stage1Selection(ranges: [], frames: [:])
        var start = 0
        for seg in segments {
            defer { start += seg.rows }
            guard let v = ready[seg.video], seg.rows > 0 else { continue }
            guard filter.admits(v, localPath: filter.pathPrefix == nil ? nil : localPaths[seg.video]) else { continue }
            let allowed = filter.frames(count: v.frameCount, fps: v.fps)
            guard !allowed.isEmpty else { continue }
            // Rows of one video are in frame order: the admitted ones are one run.
            let rows = matrix.rows
            var lo = start
            var hi = start + seg.rows
            while lo < hi && rows[lo].frame < allowed.lowerBound { lo += 1 }
            while hi > lo && rows[hi - 1].frame >= allowed.upperBound { hi -= 1 }
            guard lo < hi else { continue }
            out.ranges.append(lo..<hi)
            out.frames[seg.video] = allowed
        }
        return out
    }

    /// Each video's frame layout and count as stage 1 proposes moments on it: every ready
    /// video, or within `selection` the admitted ones only, each ending at its span's end.
    func shape(within selection: Stage1Selection?) -> [Int64: (layout: FrameLayout, frames: Int)] {
        var shape = ready.mapValues { (layout: $0.layout, frames: $0.frameCount) }
        guard let selection else { return shape }
        shape = shape.filter { selection.frames[$0.key] != nil }
        for (id, allowed) in selection.frames {
            if let s = shape[id] { shape[id] = (s.layout, min(s.frames, allowed.upperBound)) }
        }
        return shape
    }
}
