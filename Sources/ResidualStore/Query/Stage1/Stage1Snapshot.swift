import Foundation
import Store

/// Stage 1's view of a library: the ready videos and the matrix of their I-features, as of
/// one store generation.
///
/// Why: a search server follows a library other machines write (`rstore serve --store
/// postgres://...`). Each query first reads the store's generation (one row on PostgreSQL,
/// bumped by every `finish`); unchanged, it reuses this snapshot without listing a video. A
/// new generation lists the ready videos (their rows, no features) and reads the I-features
/// only of videos that are new or re-indexed since (a re-index is a new row id, a re-finish a
/// new `updatedAt`); every other video's rows are copied from the previous matrix in memory,
/// or, on a process's first query, from the persisted `<store>.matrix` (`MatrixFile`).
struct Stage1Snapshot: Sendable {
    var generation: Int64
    var ready: [Int64: VideoRecord]
    var segments: [MatrixFile.Segment]
    var matrix: IFeatureMatrix
}

/// How often stage 1 went to the store: what shows a server followed the library without
/// reloading it (tests, logs).
package struct Stage1Counters: Sendable, Equatable {
    /// Generation reads (one per query).
    package var generationChecks = 0
    /// Listings of the ready videos (one per generation change).
    package var listings = 0
    /// Videos whose I-features were read from the store (new or re-indexed ones).
    package var videosLoaded = 0
    /// Videos whose matrix rows were reused (from memory or the persisted file).
    package var videosReused = 0
    /// Videos left out of stage 1 because their stored bytes are damaged, one message each
    /// (naming the store, the video and the cause); retried when the library changes.
    package var skipped: [String] = []

    /// Records a video left out (the last 100 messages are kept).
    mutating func skip(_ message: String) { skipped = Array((skipped + [message]).suffix(100)) }
}

/// The current snapshot, replaced as the generation moves (`Library.stage1Snapshot`); one
/// refresh at a time: `lock` is held while the snapshot is read or rebuilt.
final class Stage1Cache: @unchecked Sendable {
    let lock = NSLock()
    /// The snapshot of the last generation read (nil before the first query). Under `lock`.
    var current: Stage1Snapshot?
    /// What stage 1 has read from the store so far. Under `lock`.
    var counted = Stage1Counters()

    var counters: Stage1Counters { lock.withLock { counted } }

    /// Records a video left out of a query because its stored bytes are damaged.
    func noteSkipped(_ message: String) {
        lock.withLock { counted.skip(message) }
    }
}

extension Library {
    /// What stage 1 has read from the store so far in this process.
    package var stage1Counters: Stage1Counters { stage1.counters }
}
