import Foundation
import GRDB
import Timeline

/// The boundary between the engine and a store backend: exactly what ingest, queries and
/// maintenance need. `SQLiteStore` (SQLite, embedded, the default) and `PostgresStore` (a
/// library shared by many machines) implement it with the same semantics, checked by one
/// conformance suite (Tests/StoreConformanceTests):
///
/// - migrations applied in order and recorded; a store of a newer schema, another
///   application's database or another model is refused with a typed error;
/// - one model per store (`bindModel`);
/// - chunked resumable ingest under leases: `begin` -> `append`... -> `finish` | `fail`, each a
///   transaction, so a killed ingest resumes from its last committed chunk;
/// - atomic re-index: a new version of a path becomes ready and the old one disappears in one
///   transaction; readers see one or the other, never both or neither;
/// - only `ready` videos are queryable.
///
/// Calls are synchronous and may block on I/O (a disk, a server): callers run them off any
/// event loop, as they already do for SQLite.
public protocol FeatureStoring: AnyObject, Sendable {
    /// Where the store is, for messages: a file path, or a `postgres://` URL without password.
    var path: String { get }
    /// This machine's base path for side files of the store (`<base>.matrix`, `<base>.frames`):
    /// the store file itself for SQLite, a per-database path in the user's cache for PostgreSQL.
    var localBase: String { get }
    var isReadOnly: Bool { get }
    /// Problems with the recorded schema that do not stop the store from working.
    var schemaWarnings: [String] { get }

    // Model
    @discardableResult
    func bindModel(name: String, config: String, weightsSha256: String, tokenizerSha256: String, embedDim: Int) throws
        -> ModelRecord
    func model() throws -> ModelRecord?

    // Ingest
    func begin(_ video: VideoRecord, model: ModelRecord, lease: Lease?) throws -> StorePlan
    func refreshFileFacts(video id: Int64, size: Int64, mtime: Double, fingerprint: String) throws
    /// `shotStarts`: frames of this chunk that start a shot (adaptive videos), joining the
    /// video's layout in the same transaction.
    func append(
        video id: Int64, offsets: [FrameOffsetRecord], iFeatures: [(index: Int, vector: [Float])], shotStarts: [Int],
        lease: Lease?) throws
    func finish(video id: Int64, expectedFrames: Int?, lease: Lease?, damage: String?) throws
    func fail(video id: Int64, error: String, lease: Lease?) throws
    /// Extends `lease`; false when it is no longer ours.
    func heartbeat(video id: Int64, lease: Lease) throws -> Bool
    /// Removes one stored version (its row and chunks) in one transaction and moves the
    /// generation, so readers following the store drop it; false when there is no such row.
    /// A row too damaged to decode can be deleted; an `indexing` row another live ingest holds
    /// cannot (`leaseLost`, naming the holder).
    func delete(video id: Int64) throws -> Bool

    // Queries
    func videos(status: VideoRecord.Status?) throws -> [VideoRecord]
    func video(id: Int64) throws -> VideoRecord
    func video(path: String) throws -> VideoRecord?
    func offsets(of v: VideoRecord) throws -> [FrameOffsetRecord]
    func iFeatures(of v: VideoRecord) throws -> [(index: Int, vector: [Float])]
    func frameOffsets(video id: Int64, range: Range<Int>) throws -> [FrameOffsetRecord]
    func iFeatures(video id: Int64, frames range: Range<Int>) throws -> [(index: Int, vector: [Float])]
    /// A number that changes whenever the set of ready videos changes (a video becomes ready,
    /// or a re-index replaces one): a reader polls it to know when to look again.
    func generation() throws -> Int64

    // Maintenance
    func stats(tableSizes: Bool) throws -> StoreStats
    func verifyBlobs() throws -> [String]
    /// The raw committed chunks of a video (offsets and features blobs as stored), in frame
    /// order: what `rstore store copy` moves between backends without re-encoding.
    func rawChunks(of v: VideoRecord) throws -> [RawChunk]
    /// Commits a chunk read from another store by `rawChunks`, blobs as they are (no re-encoding:
    /// an i8 codec would not survive a decode and encode), after checking they decode and
    /// continue the video (`StoreRules.checkRaw`).
    func appendRaw(video id: Int64, chunk: RawChunk) throws
}

/// One committed chunk as stored: both backends hold byte-identical blobs.
public struct RawChunk: Sendable, Equatable {
    public var firstFrame: Int
    public var frameCount: Int
    public var offsets: Data
    public var features: Data
    /// Frames of the chunk that start a shot (the video's layout, adaptive videos only).
    public var shotStarts: [Int]
    public init(firstFrame: Int, frameCount: Int, offsets: Data, features: Data, shotStarts: [Int] = []) {
        self.firstFrame = firstFrame
        self.frameCount = frameCount
        self.offsets = offsets
        self.features = features
        self.shotStarts = shotStarts
    }
}

extension FeatureStoring {
    /// The queryable version of a path; throws `notReady` or `unknownVideo` otherwise.
    public func readyVideo(path p: String) throws -> VideoRecord {
        guard let v = try video(path: p) else { throw StoreError.unknownVideo(path: path, video: p) }
        guard v.status == .ready else { throw StoreError.notReady(path: path, video: p, status: v.status.rawValue) }
        return v
    }

    public func videos() throws -> [VideoRecord] { try videos(status: nil) }
    public func stats() throws -> StoreStats { try stats(tableSizes: true) }
    public func begin(_ video: VideoRecord, model: ModelRecord) throws -> StorePlan {
        try begin(video, model: model, lease: nil)
    }
    /// A chunk of a fixed-layout video (no shot starts).
    public func append(
        video id: Int64, offsets: [FrameOffsetRecord], iFeatures: [(index: Int, vector: [Float])], lease: Lease?
    ) throws {
        try append(video: id, offsets: offsets, iFeatures: iFeatures, shotStarts: [], lease: lease)
    }
    public func finish(video id: Int64, lease: Lease? = nil, damage: String? = nil) throws {
        try finish(video: id, expectedFrames: nil, lease: lease, damage: damage)
    }
}

extension SQLiteStore: FeatureStoring {
    public var localBase: String { path }

    /// SQLite: a hash of the ready rows' (id, updated_at); only `finish` changes that set.
    public func generation() throws -> Int64 {
        try read { db in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            let rows = try Row.fetchAll(db, sql: "SELECT id, updated_at FROM videos WHERE status = 'ready' ORDER BY id")
            for r in rows {
                for word in [UInt64(bitPattern: r["id"] as Int64), (r["updated_at"] as Double).bitPattern] {
                    h = (h ^ word) &* 0x100_0000_01b3
                }
            }
            return Int64(bitPattern: h)
        }
    }

    public func rawChunks(of v: VideoRecord) throws -> [RawChunk] {
        try read { db in
            try chunks(db, of: v).map {
                RawChunk(
                    firstFrame: $0.firstFrame, frameCount: $0.frameCount, offsets: $0.offsets, features: $0.features,
                    shotStarts: StoreRules.shotStarts(of: v, in: $0.firstFrame..<($0.firstFrame + $0.frameCount)))
            }
        }
    }

    public func appendRaw(video id: Int64, chunk c: RawChunk) throws {
        try write { db in
            guard var v = try fetchVideo(db, id: id) else {
                throw StoreError.unknownVideo(path: path, video: "id \(id)")
            }
            guard v.status == .indexing else {
                throw StoreError.invalidArgument("\(path): \(name(v)) is \(v.status.rawValue), not indexing")
            }
            try claimWrite(db, v, lease: nil)
            v = try StoreRules.adding(
                shotStarts: c.shotStarts, to: v, chunk: c.firstFrame..<(c.firstFrame + c.frameCount), store: path)
            try StoreRules.checkRaw(store: path, v, c, dim: try ModelRecord.fetchOne(db, key: v.modelId)?.embedDim ?? 0)
            try ChunkRecord(
                videoId: id, firstFrame: c.firstFrame, frameCount: c.frameCount, offsets: c.offsets,
                features: c.features
            ).insert(db)
            try db.execute(
                sql: "UPDATE videos SET frame_count = ?, shot_starts = ?, updated_at = ? WHERE id = ?",
                arguments: [c.firstFrame + c.frameCount, v.shotStarts, Date().timeIntervalSince1970, id])
        }
    }
}

extension VideoRecord {
    /// This row as a new ingest writes it at `now`: indexing, nothing committed, held by
    /// `lease` (none: unleased). Both backends' `begin` insert exactly this.
    public func startingIngest(lease: Lease?, now: Double) -> VideoRecord {
        var v = self
        v.status = .indexing
        v.leaseOwner = lease?.owner
        v.leaseHeartbeatAt = lease.map { _ in now }
        v.leaseExpiresAt = lease.map { now + $0.seconds }
        v.frameCount = 0
        v.error = nil
        v.createdAt = now
        v.updatedAt = now
        return v
    }

    /// Public form of the lease rule both backends apply: held by someone other than `owner`,
    /// unexpired at `now`, by a process that may still be alive.
    public func isLeasedByOther(than owner: String?, at now: Double) -> Bool { leasedByOther(than: owner, at: now) }
}

extension ModelRecord {
    /// A row read by another backend.
    public static func stored(
        id: Int64?, name: String, config: String, weightsSha256: String, tokenizerSha256: String,
        embedDim: Int, createdAt: Double, configSha256: String
    ) -> ModelRecord {
        ModelRecord(
            id: id, name: name, config: config, weightsSha256: weightsSha256, tokenizerSha256: tokenizerSha256,
            embedDim: embedDim, createdAt: createdAt, configSha256: configSha256)
    }
}
