import Foundation
import GRDB

/// The SQLite store of a video library: models, videos, frame offsets and compressed
/// I-features. WAL mode (a `DatabasePool`) lets queries run while an ingest writes; each chunk
/// of an ingest is one transaction, so a killed ingest resumes from its last committed frame.
public final class FeatureStore: Sendable {
    public let path: String
    let pool: DatabasePool

    /// Opens (creating and migrating when needed) the store at `url`.
    public init(url: URL) throws {
        path = url.path
        if FileManager.default.fileExists(atPath: path) {
            let head = (try? FileHandle(forReadingFrom: url).read(upToCount: 16)) ?? Data()
            if !head.isEmpty && head != Data("SQLite format 3\u{0}".utf8) {
                throw StoreError.notAStore(path: path, reason: "not an SQLite database")
            }
        }
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try pool.write { db in try Migration.migrate(db, path: url.path) }
        } catch let e as StoreError {
            throw e
        } catch let e as DatabaseError where e.resultCode == .SQLITE_BUSY || e.resultCode == .SQLITE_LOCKED {
            throw StoreError.locked(path: path)
        } catch let e as DatabaseError {
            throw StoreError.notAStore(path: path, reason: e.message ?? "\(e)")
        }
    }

    func name(_ v: VideoRecord) -> String { "video \(v.id ?? -1) (\(v.path))" }

    // MARK: Model

    /// Registers the CLIP weights the caller encodes with, or checks they are the store's.
    /// `tokenizerSha256` (the residual tokenizer in use, "" for none) is updated freely: P-features
    /// are never stored, so A may change without invalidating anything.
    @discardableResult
    public func bindModel(name: String, config: String, weightsSha256: String, tokenizerSha256: String, embedDim: Int) throws -> ModelRecord {
        try pool.write { db in
            if var existing = try ModelRecord.fetchOne(db) {
                guard existing.weightsSha256 == weightsSha256 else {
                    throw StoreError.modelMismatch(path: path, expected: existing.weightsSha256, found: weightsSha256)
                }
                if existing.tokenizerSha256 != tokenizerSha256 {
                    existing.tokenizerSha256 = tokenizerSha256
                    try existing.update(db)
                }
                return existing
            }
            var m = ModelRecord(id: nil, name: name, config: config, weightsSha256: weightsSha256, tokenizerSha256: tokenizerSha256,
                                embedDim: embedDim, createdAt: Date().timeIntervalSince1970)
            try m.insert(db)
            m.id = db.lastInsertedRowID
            return m
        }
    }

    public func model() throws -> ModelRecord? { try pool.read { try ModelRecord.fetchOne($0) } }

    // MARK: Ingest

    /// What to do with a file about to be indexed.
    public enum Plan: Sendable, Equatable {
        /// Already indexed with these settings: nothing to do.
        case unchanged(VideoRecord)
        /// Continue this row from `frameCount`.
        case resume(VideoRecord)
    }

    /// Finds a ready or resumable version of `video` (same path, content and settings), or
    /// inserts a new `indexing` row beside any older version, which stays queryable until the
    /// new one finishes.
    public func begin(_ video: VideoRecord, model: ModelRecord) throws -> Plan {
        guard let modelId = model.id else { throw StoreError.invalidArgument("model is not registered") }
        return try pool.write { db in
            var v = video
            v.modelId = modelId
            let versions = try VideoRecord.filter(Column("path") == v.path).fetchAll(db)
            if let ready = versions.first(where: { $0.status == .ready && $0.sameIndexing(as: v) }) { return .unchanged(ready) }
            if let partial = versions.first(where: { $0.status == .indexing && $0.sameIndexing(as: v) }) { return .resume(partial) }
            // Stale attempts (failed, or indexing with other content/settings) are dropped.
            for old in versions where old.status != .ready { try old.delete(db) }
            let now = Date().timeIntervalSince1970
            v.status = .indexing
            v.frameCount = 0
            v.error = nil
            v.createdAt = now
            v.updatedAt = now
            try v.insert(db)
            v.id = db.lastInsertedRowID
            return .resume(v)
        }
    }

    /// Commits consecutive frames starting at the video's `frameCount`, with the I-features
    /// among them, in one transaction.
    public func append(video id: Int64, offsets: [FrameOffsetRecord], iFeatures: [(index: Int, vector: [Float])]) throws {
        guard let first = offsets.first?.index else { return }
        try pool.write { db in
            guard let v = try VideoRecord.fetchOne(db, key: id) else { throw StoreError.unknownVideo(path: path, video: "id \(id)") }
            guard v.status == .indexing else { throw StoreError.invalidArgument("\(name(v)) is \(v.status.rawValue), not indexing") }
            guard first == v.frameCount else {
                throw StoreError.invalidArgument("\(name(v)): chunk starts at frame \(first) but \(v.frameCount) frames are committed")
            }
            let expected = offsets.map(\.index).filter { VideoRecord.isIFrame($0, n: v.n) }
            guard iFeatures.map(\.index) == expected else {
                throw StoreError.invalidArgument("\(name(v)): chunk at frame \(first) needs I-features for frames \(expected), got \(iFeatures.map(\.index))")
            }
            guard let codec = FeatureCodec(rawValue: v.codec) else { throw StoreError.invalidArgument("unknown codec \(v.codec)") }
            let dim = iFeatures.first?.vector.count ?? 1
            try ChunkRecord(videoId: id, firstFrame: first, frameCount: offsets.count, offsets: OffsetCodec.encode(offsets),
                            features: codec.encode(iFeatures.flatMap(\.vector), dim: dim)).insert(db)
            try db.execute(sql: "UPDATE videos SET frame_count = ?, updated_at = ? WHERE id = ?",
                           arguments: [first + offsets.count, Date().timeIntervalSince1970, id])
        }
    }

    /// Makes the video queryable, replacing any older version of its path, atomically.
    public func finish(video id: Int64) throws {
        try pool.write { db in
            guard var v = try VideoRecord.fetchOne(db, key: id) else { throw StoreError.unknownVideo(path: path, video: "id \(id)") }
            try VideoRecord.filter(Column("path") == v.path && Column("id") != id).deleteAll(db)
            v.status = .ready
            v.updatedAt = Date().timeIntervalSince1970
            try v.update(db)
        }
    }

    /// Marks an ingest failed: its partial data is dropped; other versions stay as they were.
    public func fail(video id: Int64, error: String) throws {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM chunks WHERE video_id = ?", arguments: [id])
            try db.execute(sql: "UPDATE videos SET status = 'failed', error = ?, frame_count = 0, updated_at = ? WHERE id = ? AND status = 'indexing'",
                           arguments: [error, Date().timeIntervalSince1970, id])
        }
    }

    // MARK: Queries

    public func videos(status: VideoRecord.Status? = nil) throws -> [VideoRecord] {
        try pool.read { db in
            var q = VideoRecord.order(Column("path"), Column("id"))
            if let status { q = q.filter(Column("status") == status.rawValue) }
            return try q.fetchAll(db)
        }
    }

    public func video(id: Int64) throws -> VideoRecord {
        guard let v = try pool.read({ try VideoRecord.fetchOne($0, key: id) }) else { throw StoreError.unknownVideo(path: path, video: "id \(id)") }
        return v
    }

    /// The queryable version of a path.
    public func readyVideo(path p: String) throws -> VideoRecord {
        let v = try pool.read { try VideoRecord.filter(Column("path") == p && Column("status") == "ready").fetchOne($0) }
        guard let v else {
            let other = try pool.read { try VideoRecord.filter(Column("path") == p).fetchOne($0) }
            if let other { throw StoreError.notReady(path: path, video: p, status: other.status.rawValue) }
            throw StoreError.unknownVideo(path: path, video: p)
        }
        return v
    }

    /// Offsets of every committed frame of a video, in order.
    public func offsets(of v: VideoRecord) throws -> [FrameOffsetRecord] {
        try chunks(of: v).flatMap { try decodeOffsets($0, v) }
    }

    /// The stored I-features of a video, in frame order.
    public func iFeatures(of v: VideoRecord) throws -> [(index: Int, vector: [Float])] {
        try chunks(of: v).flatMap { try decodeFeatures($0, v) }
    }

    /// Calls `body` with every I-feature of every ready video (for the search matrix), one
    /// video at a time, without holding more than a chunk decoded.
    public func forEachIFeature(_ body: (VideoRecord, Int, [Float]) throws -> Void) throws {
        for v in try videos(status: .ready) {
            for c in try chunks(of: v) {
                for (index, vector) in try decodeFeatures(c, v) { try body(v, index, vector) }
            }
        }
    }

    func chunks(of v: VideoRecord) throws -> [ChunkRecord] {
        try pool.read { try ChunkRecord.filter(Column("video_id") == v.id).order(Column("first_frame")).fetchAll($0) }
    }

    func decodeOffsets(_ c: ChunkRecord, _ v: VideoRecord) throws -> [FrameOffsetRecord] {
        do {
            let o = try OffsetCodec.decode(c.offsets)
            guard o.count == c.frameCount, o.first?.index == c.firstFrame else {
                throw BlobError("offsets blob holds \(o.count) frames from \(o.first?.index ?? -1), row says \(c.frameCount) from \(c.firstFrame)")
            }
            return o
        } catch {
            throw StoreError.corruptBlob(path: path, video: name(v), frame: c.firstFrame, reason: "\(error)")
        }
    }

    func decodeFeatures(_ c: ChunkRecord, _ v: VideoRecord) throws -> [(index: Int, vector: [Float])] {
        let indices = (c.firstFrame..<(c.firstFrame + c.frameCount)).filter { VideoRecord.isIFrame($0, n: v.n) }
        do {
            let (dim, values) = try FeatureCodec.decode(c.features)
            guard values.count == indices.count * dim else {
                throw BlobError("features blob holds \(values.count / max(1, dim)) vectors, the chunk has \(indices.count) I-frames")
            }
            return indices.enumerated().map { ($1, Array(values[$0 * dim..<($0 + 1) * dim])) }
        } catch {
            throw StoreError.corruptBlob(path: path, video: name(v), frame: c.firstFrame, reason: "\(error)")
        }
    }

    // MARK: Maintenance

    /// Decodes every blob of every video; returns one message per problem (empty when sound).
    public func verifyBlobs() throws -> [String] {
        var problems: [String] = []
        for v in try videos() where v.status != .failed {
            var next = 0
            for c in try chunks(of: v) {
                do {
                    _ = try decodeOffsets(c, v)
                    _ = try decodeFeatures(c, v)
                } catch { problems.append("\(error)") }
                if c.firstFrame != next { problems.append("\(path): \(name(v)): frames \(next)..<\(c.firstFrame) missing") }
                next = c.firstFrame + c.frameCount
            }
            if next != v.frameCount { problems.append("\(path): \(name(v)): \(v.frameCount) frames recorded, \(next) stored") }
        }
        return problems
    }

    public struct Stats: Sendable, Codable, Equatable {
        public var videos: Int
        public var hours: Double
        public var frames: Int
        public var iFrames: Int
        public var fileBytes: Int64
        public var featureBytes: Int64
        public var offsetBytes: Int64
        public var bytesPerHour: Double
        public var denseFloat32BytesPerHour: Double
    }

    /// Sizes of what is stored, counting the whole file (features, offsets, rows, indexes).
    public func stats() throws -> Stats {
        try pool.read { db in
            let ready = try VideoRecord.filter(Column("status") == "ready").fetchAll(db)
            let hours = ready.reduce(0) { $0 + $1.duration } / 3600
            let frames = ready.reduce(0) { $0 + $1.frameCount }
            let iFrames = ready.reduce(0) { $0 + ($1.frameCount + $1.n) / ($1.n + 1) }
            let pageSize = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let free = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            let featureBytes = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(LENGTH(features)), 0) FROM chunks") ?? 0
            let offsetBytes = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(LENGTH(offsets)), 0) FROM chunks") ?? 0
            let dim = try ModelRecord.fetchOne(db)?.embedDim ?? 0
            let fileBytes = (pages - free) * pageSize
            return Stats(videos: ready.count, hours: hours, frames: frames, iFrames: iFrames, fileBytes: fileBytes,
                         featureBytes: featureBytes, offsetBytes: offsetBytes,
                         bytesPerHour: hours > 0 ? Double(fileBytes) / hours : 0,
                         denseFloat32BytesPerHour: hours > 0 ? Double(frames * dim * 4) / hours : 0)
        }
    }
}
