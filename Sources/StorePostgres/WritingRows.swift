import Foundation
import Store
import Timeline

/// The video rows this process is indexing, as its own last write left them, so a chunk
/// commit can be built without reading the row first (`PostgresStore.commitFast`). Only a
/// hint: the commit statement checks the stored row still matches, and falls back to a
/// locked read when it does not. Bounded: rows leave on finish and fail, and the oldest go
/// when more than `limit` are open (a worker indexes one video at a time).
final class WritingRows: @unchecked Sendable {
    private let lock = NSLock()
    private var rows: [Int64: (video: VideoRecord, dim: Int, order: Int)] = [:]
    private var next = 0
    let limit = 1024

    func get(_ id: Int64) -> (VideoRecord, Int)? {
        lock.withLock { rows[id].map { ($0.video, $0.dim) } }
    }

    func set(_ v: VideoRecord, dim: Int) {
        guard let id = v.id else { return }
        lock.withLock {
            next += 1
            rows[id] = (v, dim, next)
            if rows.count > limit, let oldest = rows.min(by: { $0.value.order < $1.value.order })?.key {
                rows[oldest] = nil
            }
        }
    }

    func remove(_ id: Int64) { _ = lock.withLock { rows.removeValue(forKey: id) } }
}

extension VideoRecord {
    /// The row after chunk `c` is committed: its frames counted, its shot starts joined.
    func advanced(by c: RawChunk, shotStarts: ShotStarts) -> VideoRecord {
        var v = self
        v.frameCount = c.firstFrame + c.frameCount
        v.shotStarts = shotStarts
        return v
    }
}
