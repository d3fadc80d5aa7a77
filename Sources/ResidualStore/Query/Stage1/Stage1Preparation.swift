import Foundation

/// What `Library.prepareStage1(indexOnly:)` brought up to date, and how long it took.
public struct Stage1Preparation: Sendable, Codable, Equatable {
    /// `.ann`: the approximate index; `.exact`: the scan's matrix; nil: nothing (an exact
    /// library asked for the index only).
    public var mode: Stage1Mode?
    /// I-features it now holds.
    public var rows: Int
    public var seconds: Double
}

extension Library {
    /// Brings stage 1 up to the store now, so that the next query does not pay for it: the
    /// approximate index where the settings call for it (trained when there is none, videos
    /// added and removed, written beside the store), else, unless `indexOnly`, the exact scan's
    /// matrix (loaded, rewritten when it changed).
    ///
    /// Why: on an archive, training and filling the index takes minutes, and a query that
    /// finds it missing or behind waits for all of it. `rstore index` calls this after a run
    /// that changed the library, and `rstore serve` in the background as it starts.
    public func prepareStage1(indexOnly: Bool = false) throws -> Stage1Preparation {
        let start = Date()
        let settings = configuration.stage1
        let useIndex: Bool
        switch settings.mode {
        case .exact: useIndex = false
        case .ann: useIndex = true
        case .auto: useIndex = try readyIFeatureCount() >= settings.annThreshold
        }
        if useIndex {
            let g = try store.generation()
            let rows = try stage1ANN.lock.withLock { try syncANN(generation: g).index?.count ?? 0 }
            return Stage1Preparation(mode: .ann, rows: rows, seconds: Date().timeIntervalSince(start))
        }
        if indexOnly { return Stage1Preparation(mode: nil, rows: 0, seconds: 0) }
        let rows = try stage1Snapshot().matrix.rows.count
        return Stage1Preparation(mode: .exact, rows: rows, seconds: Date().timeIntervalSince(start))
    }
}
