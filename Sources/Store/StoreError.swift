/// Why the store refused or failed; messages name the store file, the video and the frame.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    case newerSchema(path: String, found: Int, supported: Int)
    case migrationChanged(path: String, name: String)
    case migrationFailed(path: String, name: String, reason: String)
    /// A read-only open of a store whose schema is older than this binary's.
    case needsMigration(path: String, found: Int, supported: Int)
    case notAStore(path: String, reason: String)
    case locked(path: String)
    case modelMismatch(path: String, expected: String, found: String)
    /// The same weights read with another config (activation, heads, eps...): `differences`
    /// lists each differing field as "key: stored -> loaded".
    case configMismatch(path: String, weights: String, stored: String, loaded: String, differences: [String])
    case corruptBlob(path: String, video: String, frame: Int, reason: String)
    /// The disk holding the store is full (or failed a write): the transaction was rolled back.
    case storageFull(path: String, freeBytes: Int64?, reason: String)
    /// A video row whose columns no ingest writes (`VideoRecord.columnProblem`).
    case corruptRow(path: String, video: String, reason: String)
    case unknownVideo(path: String, video: String)
    case notReady(path: String, video: String, status: String)
    case invalidArgument(String)
    /// Another ingest holds (or took over) the lease of this video's `indexing` row.
    case leaseLost(path: String, video: String, holder: String?)

    public var description: String {
        switch self {
        case .newerSchema(let p, let f, let s):
            return "\(p): store schema version \(f) is newer than this rstore supports (\(s)); upgrade rstore"
        case .migrationChanged(let p, let n):
            return
                """
                \(p): migration \(n) differs from the one applied to this store (migrations are never edited once \
                landed)
                """
        case .migrationFailed(let p, let n, let r):
            return "\(p): migration \(n) failed, nothing was changed: \(r)"
        case .needsMigration(let p, let f, let s):
            return
                """
                \(p): store schema version \(f) is older than this rstore's (\(s)); open it once read-write (e.g. \
                `rstore index`) to upgrade it
                """
        case .notAStore(let p, let r): return "\(p): not a ResidualStore database: \(r)"
        case .locked(let p): return "\(p): the store is locked by another process; try again when it finishes"
        case .modelMismatch(let p, let e, let f):
            return
                """
                \(p): store holds features of CLIP weights \(e), but the loaded model is \(f); features of different \
                models are never mixed
                """
        case .configMismatch(let p, let w, let s, let l, let d):
            return
                "\(p): store holds features of CLIP weights \(w) read with config \(s), but the loaded model reads them with config \(l) "
                + "(\(d.joined(separator: "; "))); features of different models are never mixed"
        case .corruptBlob(let p, let v, let f, let r): return "\(p): corrupt data for \(v) at frame \(f): \(r)"
        case .storageFull(let p, let free, let r):
            let left = free.map { String(format: " (%.1f MB free)", Double($0) / 1e6) } ?? ""
            return
                "\(p): cannot write the store: the disk is full or failed\(left): \(r); nothing of this step was written, "
                + "what was committed before is intact; free space and run again (an interrupted ingest resumes)"
        case .corruptRow(let p, let v, let r):
            return "\(p): corrupt row for \(v): \(r); re-index the file (`rstore index --stale`)"
        case .unknownVideo(let p, let v): return "\(p): no video \(v) in the store"
        case .notReady(let p, let v, let s):
            return "\(p): video \(v) is not queryable yet (status \(s)); run `rstore index` to finish it"
        case .invalidArgument(let m): return m
        case .leaseLost(let p, let v, let h):
            return
                """
                \(p): \(v) is being indexed by another process (\(h ?? "lease released")); this ingest stopped \
                without changing its data
                """
        }
    }
}
