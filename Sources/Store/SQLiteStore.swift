import Foundation
import GRDB
import Timeline

/// The SQLite store of a video library: models, videos, frame offsets and compressed
/// I-features. WAL mode (a `DatabasePool`) lets queries run while an ingest writes; each chunk
/// of an ingest is one transaction, so a killed ingest resumes from its last committed frame.
///
/// Lifecycle of a video: `begin` (a new `indexing` row, or the one to resume) -> `append` chunks
/// -> `finish` (becomes `ready`, atomically replacing an older version of the same path) or
/// `fail` (its partial data dropped; an older ready version is left exactly as it was).
/// Only `ready` videos are queryable.
public final class SQLiteStore: Sendable {
    /// The store file.
    public let path: String
    public let isReadOnly: Bool
    /// Problems with the store's recorded schema that do not stop it from working (an applied
    /// migration whose SQL has since changed); `verifyBlobs` reports them too.
    public let schemaWarnings: [String]
    let pool: DatabasePool

    /// Opens (creating and migrating when needed) the store at `url`.
    public convenience init(url: URL) throws { try self.init(url: url, readOnly: false) }

    /// Opens (creating and migrating when needed) the store at `path`.
    public convenience init(path: String) throws { try self.init(url: URL(fileURLWithPath: path), readOnly: false) }

    /// Opens an existing store for queries only: nothing is created, migrated or written.
    public static func openReadOnly(url: URL) throws -> SQLiteStore { try SQLiteStore(url: url, readOnly: true) }

    public init(url: URL, readOnly: Bool) throws {
        path = url.path
        isReadOnly = readOnly
        let exists = FileManager.default.fileExists(atPath: path)
        if exists {
            let head = (try? FileHandle(forReadingFrom: url).read(upToCount: 16)) ?? Data()
            if !head.isEmpty && head != Data("SQLite format 3\u{0}".utf8) {
                throw StoreError.notAStore(path: path, reason: "not an SQLite database")
            }
        } else if readOnly {
            throw StoreError.notAStore(path: path, reason: "no such file")
        }
        if exists && !readOnly {
            // Look before opening a pool: the pool would switch another application's database to WAL.
            try Self.refuseForeign(url: url)
        }
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        config.readonly = readOnly
        let path = self.path
        do {
            pool = try DatabasePool(path: path, configuration: config)
            if readOnly {
                schemaWarnings = try pool.read { db in
                    let (pending, warnings) = try Migration.check(db, path: path)
                    if !pending.isEmpty {
                        let found = try Migration.applied(db)?.last?.version ?? 0
                        throw StoreError.needsMigration(path: path, found: found, supported: Migration.latestVersion)
                    }
                    return warnings
                }
            } else {
                schemaWarnings = try pool.write { db in try Migration.migrate(db, path: path) }
            }
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    static func refuseForeign(url: URL) throws {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(10)
        do {
            let foreign = try DatabaseQueue(path: url.path, configuration: config).read {
                try Migration.applied($0) == nil
            }
            if foreign {
                throw StoreError.notAStore(
                    path: url.path, reason: "an SQLite database without ResidualStore's schema_migrations table")
            }
        } catch {
            throw Self.storeError(error, path: url.path)
        }
    }

    /// GRDB errors as the store's own: busy means another process holds the write lock.
    static func storeError(_ error: any Error, path: String) -> any Error {
        guard let e = error as? DatabaseError else { return error }
        switch e.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: return StoreError.locked(path: path)
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: return StoreError.notAStore(path: path, reason: e.message ?? "\(e)")
        case .SQLITE_READONLY:
            return StoreError.invalidArgument("\(path): the store is read-only (\(e.message ?? "\(e)"))")
        // SQLite rolls the transaction back: what was committed before stays as it was.
        case .SQLITE_FULL, .SQLITE_IOERR:
            return StoreError.storageFull(path: path, freeBytes: freeBytes(near: path), reason: e.message ?? "\(e)")
        default: return error
        }
    }

    /// Bytes free on the file system holding `path` (nil when it cannot be asked).
    static func freeBytes(near path: String) -> Int64? {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return (try? FileManager.default.attributesOfFileSystem(forPath: folder))?[.systemFreeSize].flatMap {
            ($0 as? NSNumber)?.int64Value
        }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.write(body) } catch { throw Self.storeError(error, path: path) }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.read(body) } catch { throw Self.storeError(error, path: path) }
    }

    func name(_ v: VideoRecord) -> String { "video \(v.id ?? -1) (\(v.path))" }

    // MARK: Model

    /// The model this store's features come from (nil while empty): part of the store protocol,
    /// which the worker and `store copy` use to bind a second store to the same weights.
    public func model() throws -> ModelRecord? { try read { try ModelRecord.fetchOne($0) } }

    /// Registers the CLIP weights the caller encodes with, or checks they are the store's: a
    /// store holds the features of one model, and using it with other weights is an error naming
    /// both hashes. The binding covers `config` too (JSON, normalised: how the weights are read,
    /// e.g. activation, heads, layer-norm eps): the same weights read another way are another
    /// model, and the error names both configs and the fields that differ. Stores written before
    /// the config hash existed get it on their first open when their config matches.
    /// `tokenizerSha256` (the residual tokenizer A in use, "" for none) is recorded and may
    /// change: P-features are never stored, so a new A invalidates nothing.
    @discardableResult
    public func bindModel(name: String, config: String, weightsSha256: String, tokenizerSha256: String, embedDim: Int)
        throws -> ModelRecord
    {
        try write { db in
            var (m, insert, update) = try StoreRules.bind(
                store: path, existing: try ModelRecord.fetchOne(db), name: name, config: config,
                weightsSha256: weightsSha256, tokenizerSha256: tokenizerSha256, embedDim: embedDim)
            if insert {
                try m.insert(db)
                m.id = db.lastInsertedRowID
            } else if update {
                try m.update(db)
            }
            return m
        }
    }

    // MARK: Ingest

    /// Finds a ready or resumable version of `video` (same path, content hash and settings), or
    /// inserts a new `indexing` row beside any ready older version, which stays queryable until
    /// the new one finishes. Earlier failed or abandoned attempts at the path are dropped, but
    /// never a row another ingest holds a live lease on.
    ///
    /// With `lease`, the row to resume or the new row is claimed for it in this transaction; a
    /// resumable row under another live lease gives `.busy`, one whose lease expired is taken over.
    public func begin(_ video: VideoRecord, model: ModelRecord, lease: Lease? = nil) throws -> StorePlan {
        guard let modelId = model.id else { throw StoreError.invalidArgument("model is not registered") }
        return try write { db in
            guard let stored = try ModelRecord.fetchOne(db, key: modelId) else {
                throw StoreError.invalidArgument("\(path): model \(modelId) is not registered in this store")
            }
            guard stored.weightsSha256 == model.weightsSha256 else {
                throw StoreError.modelMismatch(path: path, expected: stored.weightsSha256, found: model.weightsSha256)
            }
            try StoreRules.checkNew(video)
            var v = video
            v.modelId = modelId
            let versions = try VideoRecord.filter(Column("path") == v.path).order(Column("id")).fetchAll(db)
            switch StoreRules.begin(v, versions: versions, lease: lease, now: Date().timeIntervalSince1970) {
            case .unchanged(let ready):
                return .unchanged(ready)
            case .busy(let holder):
                return .busy(holder)
            case .resume(let partial):
                if lease != nil { try partial.update(db) }
                return .resume(partial)
            case .start(var new, let dropping):
                for old in dropping { try old.delete(db) }
                try new.insert(db)
                new.id = db.lastInsertedRowID
                return .resume(new)
            }
        }
    }

    /// Records size, mtime and fingerprint of a ready video whose whole-file content hash was
    /// just found unchanged (a touched file, or one indexed before fingerprints existed), so
    /// later freshness checks compare against the file as it is.
    public func refreshFileFacts(video id: Int64, size: Int64, mtime: Double, fingerprint: String) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE videos SET size = ?, mtime = ?, fingerprint = ? WHERE id = ? AND status = 'ready'",
                arguments: [size, mtime, fingerprint, id])
        }
    }

    /// Commits consecutive frames starting at the video's `frameCount` (where a crashed ingest
    /// resumes: no duplicate, no missing frame), with the
    /// I-features among them (exactly those frames `FrameLayout` calls I, each of the model's
    /// dimension), in one transaction. With `lease`, only while this ingest still holds the
    /// row (checked and renewed in the same transaction); without, only while nobody else does.
    /// `shotStarts`: frames of this chunk that start a new shot (adaptive videos only), which
    /// join the video's layout in the same transaction, before the chunk's I-frames are checked.
    public func append(
        video id: Int64, offsets: [FrameOffsetRecord], iFeatures: [(index: Int, vector: [Float])],
        shotStarts: [Int] = [], lease: Lease? = nil
    ) throws {
        guard let first = offsets.first?.index else { return }
        try write { db in
            guard var v = try fetchVideo(db, id: id) else {
                throw StoreError.unknownVideo(path: path, video: "id \(id)")
            }
            guard v.status == .indexing else {
                if lease != nil { throw StoreError.leaseLost(path: path, video: v.path, holder: nil) }
                throw StoreError.invalidArgument("\(path): \(name(v)) is \(v.status.rawValue), not indexing")
            }
            try claimWrite(db, v, lease: lease)
            guard first == v.frameCount else {
                throw StoreError.invalidArgument(
                    "\(path): \(name(v)): chunk starts at frame \(first) but \(v.frameCount) frames are committed")
            }
            v = try StoreRules.adding(
                shotStarts: shotStarts, to: v, chunk: first..<(first + offsets.count), store: path)
            let dim = try ModelRecord.fetchOne(db, key: v.modelId)?.embedDim ?? 0
            let c = try StoreRules.encodeChunk(store: path, v, dim: dim, offsets: offsets, iFeatures: iFeatures)
            try ChunkRecord(
                videoId: id, firstFrame: first, frameCount: offsets.count, offsets: c.offsets, features: c.features
            ).insert(db)
            try db.execute(
                sql: "UPDATE videos SET frame_count = ?, shot_starts = ?, updated_at = ? WHERE id = ?",
                arguments: [first + offsets.count, v.shotStarts, Date().timeIntervalSince1970, id])
        }
    }

    /// Makes the video queryable, replacing any older version of its path, atomically. With
    /// `expectedFrames`, refuses (changing nothing) unless exactly that many frames are committed.
    /// `damage` (JSON, the engine's damage report) is recorded with it; the lease is released.
    public func finish(video id: Int64, expectedFrames: Int? = nil, lease: Lease? = nil, damage: String? = nil) throws {
        try write { db in
            guard var v = try fetchVideo(db, id: id) else {
                throw StoreError.unknownVideo(path: path, video: "id \(id)")
            }
            if v.status == .ready { return }
            guard v.status == .indexing else {
                throw StoreError.invalidArgument("\(path): \(name(v)) is \(v.status.rawValue); it cannot be finished")
            }
            try claimWrite(db, v, lease: lease)
            if let expectedFrames, expectedFrames != v.frameCount {
                throw StoreError.invalidArgument(
                    "\(path): \(name(v)): \(v.frameCount) frames committed, \(expectedFrames) expected")
            }
            let now = Date().timeIntervalSince1970
            for other in try VideoRecord.filter(Column("path") == v.path && Column("id") != id).fetchAll(db)
            where !other.leasedByOther(than: lease?.owner, at: now) {
                try other.delete(db)
            }
            v.status = .ready
            v.damage = damage
            v.leaseOwner = nil
            v.leaseHeartbeatAt = nil
            v.leaseExpiresAt = nil
            v.error = nil
            v.updatedAt = Date().timeIntervalSince1970
            try v.update(db)
        }
    }

    /// Marks an ingest failed: its partial data is dropped; any other version of the path (the
    /// ready one being served) stays exactly as it was. Does nothing unless the caller may write
    /// the row (`lease` holds it, or nobody else holds it): a failure never drops what another
    /// ingest committed.
    public func fail(video id: Int64, error: String, lease: Lease? = nil) throws {
        try write { db in
            guard let v = try VideoRecord.fetchOne(db, key: id), v.status == .indexing else { return }
            if lease.map({ v.leaseOwner != $0.owner }) ?? v.leasedByOther(than: nil, at: Date().timeIntervalSince1970) {
                return
            }
            try db.execute(sql: "DELETE FROM chunks WHERE video_id = ?", arguments: [id])
            try db.execute(
                sql:
                    """
                    UPDATE videos SET status = 'failed', error = ?, frame_count = 0, lease_owner = NULL, \
                    lease_expires_at = NULL, updated_at = ? WHERE id = ?
                    """,
                arguments: [error, Date().timeIntervalSince1970, id])
        }
    }

    public func delete(video id: Int64) throws -> Bool {
        try write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT path, status, lease_owner, lease_expires_at FROM videos WHERE id = ?",
                    arguments: [id])
            else { return false }
            try StoreRules.checkDeletable(
                store: path, id: id, path: row["path"] ?? "?", status: row["status"] ?? "",
                leaseOwner: row["lease_owner"], leaseExpiresAt: row["lease_expires_at"],
                now: Date().timeIntervalSince1970)
            try db.execute(sql: "DELETE FROM chunks WHERE video_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM videos WHERE id = ?", arguments: [id])
            return true
        }
    }

    // MARK: Queries

    /// Videos ordered by path, optionally of one status.
    public func videos(status: VideoRecord.Status? = nil) throws -> [VideoRecord] {
        try read { db in
            var q = VideoRecord.order(Column("path"), Column("id"))
            if let status { q = q.filter(Column("status") == status.rawValue) }
            // Row by row: a row whose columns do not even decode (a damaged shot-starts blob) is
            // left out like any other unusable row, not the whole listing.
            return StoreRules.usable(try Row.fetchAll(db, q).compactMap { try? decodeVideo($0) })
        }
    }

    public func video(id: Int64) throws -> VideoRecord {
        guard let v = try read({ try fetchVideo($0, id: id) }) else {
            throw StoreError.unknownVideo(path: path, video: "id \(id)")
        }
        return v
    }

    /// The queryable (ready) version of `path`, else its most recent attempt (indexing or
    /// failed), else nil.
    public func video(path p: String) throws -> VideoRecord? {
        try read { db in
            let ids = try Int64.fetchAll(
                db, sql: "SELECT id FROM videos WHERE path = ? ORDER BY status = 'ready' DESC, id DESC LIMIT 1",
                arguments: [p])
            return try ids.first.flatMap { try fetchVideo(db, id: $0) }
        }
    }

    /// The queryable version of a path; throws `notReady` or `unknownVideo` otherwise.
    public func readyVideo(path p: String) throws -> VideoRecord {
        guard let v = try video(path: p) else { throw StoreError.unknownVideo(path: path, video: p) }
        guard v.status == .ready else { throw StoreError.notReady(path: path, video: p, status: v.status.rawValue) }
        return v
    }

    /// Offsets of every committed frame of a video, in order.
    public func offsets(of v: VideoRecord) throws -> [FrameOffsetRecord] {
        try read { db in try chunks(db, of: v).flatMap { try decodeOffsets($0, v) } }
    }

    /// The stored I-features of a video, in frame order.
    public func iFeatures(of v: VideoRecord) throws -> [(index: Int, vector: [Float])] {
        try read { db in try chunks(db, of: v).flatMap { try decodeFeatures($0, v) } }
    }

    /// Offsets of the frames of a ready video within `range` (clamped to its frames), in order.
    /// Only the chunks overlapping the range are read.
    public func frameOffsets(video id: Int64, range: Range<Int>) throws -> [FrameOffsetRecord] {
        try read { db in
            let v = try readyVideo(db, id)
            return try chunks(db, of: v, overlapping: range).flatMap { try decodeOffsets($0, v) }.filter {
                range.contains($0.index)
            }
        }
    }

    /// The stored I-features of a ready video's frames within `range`, in frame order.
    public func iFeatures(video id: Int64, frames range: Range<Int>) throws -> [(index: Int, vector: [Float])] {
        try read { db in
            let v = try readyVideo(db, id)
            return try chunks(db, of: v, overlapping: range).flatMap { try decodeFeatures($0, v) }.filter {
                range.contains($0.index)
            }
        }
    }

    func readyVideo(_ db: Database, _ id: Int64) throws -> VideoRecord {
        guard let v = try fetchVideo(db, id: id) else { throw StoreError.unknownVideo(path: path, video: "id \(id)") }
        guard v.status == .ready else {
            throw StoreError.notReady(path: path, video: v.path, status: v.status.rawValue)
        }
        return v
    }

    /// The row `id` (nil if there is none), decoded and checked: a row whose columns do not
    /// decode or cannot describe an index is `corruptRow`, naming it, never a trap later.
    func fetchVideo(_ db: Database, id: Int64) throws -> VideoRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM videos WHERE id = ?", arguments: [id]) else {
            return nil
        }
        return try StoreRules.checked(decodeVideo(row), store: path)
    }

    /// One `videos` row decoded; a row whose columns do not decode (a damaged shot-starts blob)
    /// is `corruptRow`, naming it. Listings skip such rows, `verifyBlobs` reports them.
    func decodeVideo(_ row: Row) throws -> VideoRecord {
        do { return try VideoRecord(row: row) } catch {
            throw StoreError.corruptRow(
                path: path, video: "video \(row["id"] as Int64? ?? -1) (\(row["path"] as String? ?? "?"))",
                reason: "the row does not decode: \(error)")
        }
    }

    func chunks(_ db: Database, of v: VideoRecord) throws -> [ChunkRecord] {
        try ChunkRecord.filter(Column("video_id") == v.id).order(Column("first_frame")).fetchAll(db)
    }

    /// The chunks holding frames of `range`, found through the primary key (video, first frame).
    func chunks(_ db: Database, of v: VideoRecord, overlapping range: Range<Int>) throws -> [ChunkRecord] {
        guard !range.isEmpty else { return [] }
        let start =
            try Int.fetchOne(
                db, sql: "SELECT MAX(first_frame) FROM chunks WHERE video_id = ? AND first_frame <= ?",
                arguments: [v.id, range.lowerBound]) ?? 0
        return try ChunkRecord.filter(
            Column("video_id") == v.id && Column("first_frame") >= start && Column("first_frame") < range.upperBound
        )
        .order(Column("first_frame")).fetchAll(db)
    }

    // One copy of the blob checks for both backends (StoreRules).
    func decodeOffsets(_ c: ChunkRecord, _ v: VideoRecord) throws -> [FrameOffsetRecord] {
        try StoreRules.decodeOffsets(store: path, c.raw, v)
    }

    func decodeFeatures(_ c: ChunkRecord, _ v: VideoRecord) throws -> [(index: Int, vector: [Float])] {
        try StoreRules.decodeFeatures(store: path, c.raw, v)
    }

    // MARK: Maintenance

    /// Decodes every blob of every ready or indexing video and checks the chunks tile its
    /// frames; returns one message per problem (empty when sound), schema warnings first.
    public func verifyBlobs() throws -> [String] {
        var problems = schemaWarnings
        try read { db in
            let dim = try ModelRecord.fetchOne(db)?.embedDim
            for row in try Row.fetchAll(db, VideoRecord.filter(Column("status") != "failed").order(Column("id"))) {
                let v: VideoRecord
                do { v = try decodeVideo(row) } catch {
                    problems.append("\(error)")
                    continue
                }
                let cursor = try ChunkRecord.filter(Column("video_id") == v.id).order(Column("first_frame"))
                    .fetchCursor(db)
                problems += try StoreRules.verify(store: path, v, dim: dim, next: { try cursor.next()?.raw })
            }
        }
        return problems
    }

    /// Sizes of what is stored, counting the whole file (features, offsets, rows, indexes).
    /// `tableSizes` adds each table's and index's bytes from SQLite's dbstat, which visits every
    /// page (a second or two per GB).
    public func stats(tableSizes: Bool = true) throws -> StoreStats {
        try read { db in
            let all = try Row.fetchAll(db, VideoRecord.all()).compactMap { try? decodeVideo($0) }  // as listings do
            let ready = StoreRules.usable(all).filter { $0.status == .ready }
            let hours = ready.reduce(0) { $0 + $1.duration } / 3600
            let frames = ready.reduce(0) { $0 + $1.frameCount }
            let iFrames = ready.reduce(0) { $0 + $1.layout.iFrameCount(frames: $1.frameCount) }
            let pageSize = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let free = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            let featureBytes = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(LENGTH(features)), 0) FROM chunks") ?? 0
            let offsetBytes = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(LENGTH(offsets)), 0) FROM chunks") ?? 0
            let tables =
                !tableSizes
                ? nil
                : try? Dictionary(
                    uniqueKeysWithValues: Row.fetchAll(
                        db, sql: "SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name"
                    )
                    .map { ($0["name"] as String, $0["bytes"] as Int64) })
            let dim = try ModelRecord.fetchOne(db)?.embedDim ?? 0
            let fileBytes = (pages - free) * pageSize
            return StoreStats(
                videos: ready.count, indexingVideos: all.filter { $0.status == .indexing }.count,
                failedVideos: all.filter { $0.status == .failed }.count, hours: hours, frames: frames, iFrames: iFrames,
                fileBytes: fileBytes, featureBytes: featureBytes, offsetBytes: offsetBytes, tableBytes: tables,
                bytesPerHour: hours > 0 ? Double(fileBytes) / hours : 0,
                denseFloat32BytesPerHour: hours > 0 ? Double(frames * dim * 4) / hours : 0)
        }
    }
}
