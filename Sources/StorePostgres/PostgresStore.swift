import Foundation
import PostgresNIO
import Store
import Timeline

/// The store of a library shared by many machines: the same rows and byte-identical blobs as
/// `SQLiteStore`, in PostgreSQL, with the same semantics (see `FeatureStoring`).
///
/// Concurrency: every write is one transaction. Writers of one path (begin, finish) serialise
/// on a transaction-scoped advisory lock of the path; writers of one row (append, fail,
/// heartbeat) on the row (`FOR UPDATE`). Lease times are the server's clock, so machines with
/// drifting clocks agree on expiry. Multi-statement reads run in one REPEATABLE READ snapshot,
/// so a reader never sees half of a re-index.
public final class PostgresStore: FeatureStoring, @unchecked Sendable {
    public let location: PostgresLocation
    public var path: String { location.description }
    public let localBase: String
    public let isReadOnly = false
    public let schemaWarnings: [String]
    let pool: PostgresPool
    /// The rows this process is writing, as its last write left them (see `commitFast`).
    let writing = WritingRows()

    /// Connects (checking the server, the credentials and the database) and migrates.
    /// `localCache`: the folder for this machine's side files of the store.
    public init(location: PostgresLocation, localCache: URL? = nil, maxConnections: Int = 8) throws {
        self.location = location
        let cache = localCache ?? URL(fileURLWithPath: NSHomeDirectory()).appendingPathComponent(".cache/rstore")
        try? FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        localBase = cache.appendingPathComponent(location.cacheName).path
        pool = try PostgresPool(location: location, maxConnections: maxConnections)
        do {
            schemaWarnings = try pool.transaction("opening the store") { try PostgresMigration.migrate($0) }
        } catch {
            pool.close()
            throw error
        }
    }

    public convenience init(url: String, localCache: URL? = nil) throws {
        try self.init(location: try PostgresLocation(url: url), localCache: localCache)
    }

    /// Closes the connections (also done when the store is released).
    public func close() { pool.close() }

    /// Round trips and pool waits so far.
    public var poolCounters: PostgresPoolCounters { pool.stats }

    // MARK: Model

    @discardableResult
    public func bindModel(name: String, config: String, weightsSha256: String, tokenizerSha256: String, embedDim: Int)
        throws -> ModelRecord
    {
        try pool.transaction("binding the model") { s in
            try s.query("SELECT pg_advisory_xact_lock(\(PostgresMigration.lockKey + 1))")
            let existing = try s.rows("SELECT \(unescaped: PostgresRows.modelColumns) FROM models ORDER BY id LIMIT 1")
                .first.map(PostgresRows.model)
            var (m, insert, update) = try StoreRules.bind(
                store: path, existing: existing, name: name, config: config, weightsSha256: weightsSha256,
                tokenizerSha256: tokenizerSha256, embedDim: embedDim)
            if insert {
                m.id = try s.rows(
                    """
                    INSERT INTO models (name, config, weights_sha256, tokenizer_sha256, embed_dim, created_at, config_sha256)
                    VALUES (\(m.name), \(m.config), \(m.weightsSha256), \(m.tokenizerSha256), \(m.embedDim), \(m.createdAt), \(m.configSha256))
                    RETURNING id
                    """)[0]["id"].decode(Int64.self)
            } else if update {
                try s.query(
                    """
                    UPDATE models SET config = \(m.config), config_sha256 = \(m.configSha256), tokenizer_sha256 = \
                    \(m.tokenizerSha256) WHERE id = \(m.id!)
                    """
                )
            }
            return m
        }
    }

    public func model() throws -> ModelRecord? {
        try pool.transaction("reading the model", readOnly: true, retry: true) { s in
            try s.rows("SELECT \(unescaped: PostgresRows.modelColumns) FROM models ORDER BY id LIMIT 1").first.map(
                PostgresRows.model)
        }
    }

    // MARK: Ingest

    /// Model row `id` and the server's clock, after taking path `p`'s advisory lock for this
    /// transaction, in one round trip; nil when there is no such model.
    func lockPath(_ s: PostgresSession, _ p: String, model id: Int64) throws -> (model: ModelRecord, now: Double)? {
        try s.rows(
            """
            SELECT \(unescaped: PostgresRows.modelColumns), l.now FROM models,
                (SELECT extract(epoch FROM clock_timestamp())::float8 AS now FROM (SELECT pg_advisory_xact_lock(hashtextextended(\(p), 0))) x OFFSET 0) l
            WHERE models.id = \(id)
            """
        ).first.map { (try PostgresRows.model($0), try $0["now"].decode(Double.self)) }
    }

    func now(_ s: PostgresSession) throws -> Double {
        try s.rows("SELECT extract(epoch FROM clock_timestamp())::float8 AS now")[0]["now"].decode(Double.self)
    }

    /// A video row locked for this transaction, with its model's dimension and the server's
    /// clock, in one round trip (a chunk commit is latency-bound).
    struct Locked {
        var video: VideoRecord
        var dim: Int
        var now: Double
    }

    func lockedRow(_ s: PostgresSession, _ id: Int64) throws -> Locked? {
        try s.rows(
            """
            SELECT \(unescaped: PostgresRows.videoColumns), (SELECT embed_dim FROM models m WHERE m.id = videos.model_id) AS embed_dim,
                   extract(epoch FROM clock_timestamp())::float8 AS now
            FROM videos WHERE id = \(id) FOR UPDATE
            """
        ).first.map {
            Locked(
                video: try StoreRules.checked(PostgresRows.video($0), store: path),
                dim: try $0["embed_dim"].decode(Int?.self) ?? 0, now: try $0["now"].decode(Double.self))
        }
    }

    public func begin(_ video: VideoRecord, model: ModelRecord, lease: Lease?) throws -> StorePlan {
        guard let modelId = model.id else { throw StoreError.invalidArgument("model is not registered") }
        try StoreRules.checkNew(video)
        return try pool.transaction("starting \(video.path)") { s in
            guard let (stored, now) = try lockPath(s, video.path, model: modelId) else {
                throw StoreError.invalidArgument("\(path): model \(modelId) is not registered in this store")
            }
            guard stored.weightsSha256 == model.weightsSha256 else {
                throw StoreError.modelMismatch(path: path, expected: stored.weightsSha256, found: model.weightsSha256)
            }
            var v = video
            v.modelId = modelId
            let versions = try s.rows(
                "SELECT \(unescaped: PostgresRows.videoColumns) FROM videos WHERE path = \(v.path) ORDER BY id"
            ).map(PostgresRows.video)
            let dropping: [VideoRecord]
            switch StoreRules.begin(v, versions: versions, lease: lease, now: now) {
            case .unchanged(let ready):
                return .unchanged(ready)
            case .busy(let holder):
                return .busy(holder)
            case .resume(let partial):
                if let lease {
                    try s.query(
                        """
                        UPDATE videos SET lease_owner = \(lease.owner), lease_heartbeat_at = \(now), lease_expires_at = \(now + lease.seconds)
                        WHERE id = \(partial.id!)
                        """)
                    writing.set(partial, dim: stored.embedDim)
                }
                return .resume(partial)
            case .start(let new, let old):
                v = new
                dropping = old
            }
            for old in dropping { try s.query("DELETE FROM videos WHERE id = \(old.id!)") }
            v.id = try s.rows(
                """
                INSERT INTO videos (path, content_hash, size, mtime, duration, time_base_num, time_base_den, fps, n, p, strategy, codec,
                    model_id, status, error, frame_count, info, mask_seed, created_at, updated_at, fingerprint, damage,
                    lease_owner, lease_heartbeat_at, lease_expires_at, motion_source, iframes)
                VALUES (\(v.path), \(v.contentHash), \(v.size), \(v.mtime), \(v.duration), \(v.timeBaseNum), \(v.timeBaseDen), \(v.fps),
                    \(v.n), \(v.p), \(v.strategy), \(v.codec), \(v.modelId), 'indexing', NULL, 0, \(v.info), \(v.maskSeed),
                    \(v.createdAt), \(v.updatedAt), \(v.fingerprint), \(v.damage), \(v.leaseOwner), \(v.leaseHeartbeatAt), \(v.leaseExpiresAt),
                    \(v.motionSource), \(v.iframes))
                RETURNING id
                """)[0]["id"].decode(Int64.self)
            v.shotStarts = .none
            if lease != nil { writing.set(v, dim: stored.embedDim) }
            return .resume(v)
        }
    }

    public func refreshFileFacts(video id: Int64, size: Int64, mtime: Double, fingerprint: String) throws {
        try pool.transaction("refreshing file facts", retry: true) { s in
            try s.query(
                """
                UPDATE videos SET size = \(size), mtime = \(mtime), fingerprint = \(fingerprint) WHERE id = \(id) AND \
                status = 'ready'
                """
            )
        }
    }

    /// Throws `leaseLost` unless the caller may write row `v` (it holds the lease; or, without
    /// one, nobody else holds a live one), then renews a held lease (unless `renew` is false:
    /// the write ends the lease anyway).
    func claimWrite(_ s: PostgresSession, _ v: VideoRecord, lease: Lease?, now: Double, renew: Bool = true) throws {
        if let lease {
            guard v.leaseOwner == lease.owner else {
                throw StoreError.leaseLost(path: path, video: v.path, holder: v.leaseOwner)
            }
            guard renew else { return }
            try s.query(
                """
                UPDATE videos SET lease_heartbeat_at = \(now), lease_expires_at = \(now + lease.seconds) WHERE id = \
                \(v.id!)
                """
            )
        } else if v.isLeasedByOther(than: nil, at: now) {
            throw StoreError.leaseLost(path: path, video: v.path, holder: v.leaseOwner)
        }
    }

    public func append(
        video id: Int64, offsets: [FrameOffsetRecord], iFeatures: [(index: Int, vector: [Float])],
        shotStarts: [Int], lease: Lease?
    ) throws {
        guard let first = offsets.first?.index else { return }
        let what = "committing the chunk at frame \(first) of video \(id)"
        let make = { (v: VideoRecord, dim: Int) throws -> (RawChunk, ShotStarts) in
            let v = try StoreRules.adding(
                shotStarts: shotStarts, to: v, chunk: first..<(first + offsets.count), store: self.path)
            return (
                try StoreRules.encodeChunk(store: self.path, v, dim: dim, offsets: offsets, iFeatures: iFeatures),
                v.shotStarts
            )
        }
        if let lease, try commitFast(video: id, during: what, lease: lease, make) { return }
        try commit(video: id, during: what, lease: lease, make)
    }

    public func appendRaw(video id: Int64, chunk c: RawChunk) throws {
        try commit(video: id, during: "copying the chunk at frame \(c.firstFrame) of video \(id)", lease: nil) {
            v, dim in
            let v = try StoreRules.adding(
                shotStarts: c.shotStarts, to: v, chunk: c.firstFrame..<(c.firstFrame + c.frameCount), store: path)
            try StoreRules.checkRaw(store: path, v, c, dim: dim)
            return (c, v.shotStarts)
        }
    }

    /// One chunk commit: the row locked, the caller's right to write it checked (and its lease
    /// renewed), the chunk `make` builds inserted and the frame count advanced, all or nothing.
    /// `make` returns the chunk and the video's shot starts with the chunk's joined.
    func commit(
        video id: Int64, during what: String, lease: Lease?, _ make: (VideoRecord, Int) throws -> (RawChunk, ShotStarts)
    ) throws {
        try pool.transaction(what) { s in
            guard let row = try lockedRow(s, id) else { throw StoreError.unknownVideo(path: path, video: "id \(id)") }
            let v = row.video
            guard v.status == .indexing else {
                if lease != nil { throw StoreError.leaseLost(path: path, video: v.path, holder: nil) }
                throw StoreError.invalidArgument("\(path): \(StoreRules.name(v)) is \(v.status.rawValue), not indexing")
            }
            try claimWrite(s, v, lease: lease, now: row.now)
            let (c, starts) = try make(v, row.dim)
            try insert(s, video: id, c)
            try s.query(
                """
                UPDATE videos SET frame_count = \(c.firstFrame + c.frameCount), shot_starts = \(StoreRules.encode(starts)),
                    updated_at = \(Date().timeIntervalSince1970) WHERE id = \(id)
                """)
            if lease != nil { writing.set(v.advanced(by: c, shotStarts: starts), dim: row.dim) }
        }
    }

    /// A chunk commit in ONE round trip: the chunk is built from the row as this process last
    /// wrote it, and one statement (so one transaction) advances the row, renews the lease and
    /// inserts the chunk only if the row is still exactly that (indexing, our lease, the same
    /// frame count and shot starts). False (nothing written) when there is no remembered row
    /// or it went stale: `commit` then reads the row and decides, with its precise errors.
    /// The row lock the UPDATE takes serialises concurrent writers of the row, as `FOR UPDATE` does.
    func commitFast(
        video id: Int64, during what: String, lease: Lease, _ make: (VideoRecord, Int) throws -> (RawChunk, ShotStarts)
    ) throws -> Bool {
        guard let (v, dim) = writing.get(id) else { return false }
        // Forgotten until this commit is known to be written: after a refused chunk (`commit`
        // refuses it against the stored row) or a lost answer, the next commit reads the row.
        writing.remove(id)
        guard let (c, starts) = try? make(v, dim) else { return false }
        let written = try pool.statement(what) { s in
            try s.rows(
                """
                WITH v AS (
                    UPDATE videos SET frame_count = \(c.firstFrame + c.frameCount), shot_starts = \(StoreRules.encode(starts)),
                        updated_at = \(Date().timeIntervalSince1970),
                        lease_heartbeat_at = extract(epoch FROM clock_timestamp()),
                        lease_expires_at = extract(epoch FROM clock_timestamp()) + \(lease.seconds)
                    WHERE id = \(id) AND status = 'indexing' AND lease_owner = \(lease.owner) AND frame_count = \(v.frameCount)
                      AND shot_starts IS NOT DISTINCT FROM \(StoreRules.encode(v.shotStarts))
                    RETURNING id),
                c AS (
                    INSERT INTO chunks (video_id, first_frame, frame_count, offsets, features)
                    SELECT id, \(c.firstFrame), \(c.frameCount), \(c.offsets), \(c.features) FROM v
                    RETURNING 1)
                SELECT count(*)::int8 AS n FROM c
                """)[0]["n"].decode(Int.self) == 1
        }
        if written { writing.set(v.advanced(by: c, shotStarts: starts), dim: dim) }
        return written
    }

    func insert(_ s: PostgresSession, video id: Int64, _ c: RawChunk) throws {
        try s.query(
            """
            INSERT INTO chunks (video_id, first_frame, frame_count, offsets, features)
            VALUES (\(id), \(c.firstFrame), \(c.frameCount), \(c.offsets), \(c.features))
            """)
    }

    public func finish(video id: Int64, expectedFrames: Int?, lease: Lease?, damage: String?) throws {
        writing.remove(id)
        // Five round trips: BEGIN, the path's lock, every version of the path locked, one
        // statement that swaps them and bumps the generation, COMMIT.
        try pool.transaction("finishing video \(id)") { s in
            guard
                let locked = try s.rows(
                    """
                    SELECT extract(epoch FROM clock_timestamp())::float8 AS now
                    FROM (SELECT pg_advisory_xact_lock(hashtextextended(path, 0)) FROM videos WHERE id = \(id) OFFSET 0) l
                    """
                ).first
            else { throw StoreError.unknownVideo(path: path, video: "id \(id)") }
            let now = try locked["now"].decode(Double.self)
            let versions = try s.rows(
                """
                SELECT \(unescaped: PostgresRows.videoColumns) FROM videos WHERE path = (SELECT path FROM videos WHERE id = \(id)) ORDER BY id FOR UPDATE
                """
            ).map(PostgresRows.video)
            guard let v = versions.first(where: { $0.id == id }) else {
                throw StoreError.unknownVideo(path: path, video: "id \(id)")
            }
            if v.status == .ready { return }
            guard v.status == .indexing else {
                throw StoreError.invalidArgument(
                    "\(path): \(StoreRules.name(v)) is \(v.status.rawValue); it cannot be finished")
            }
            try claimWrite(s, v, lease: lease, now: now, renew: false)
            if let expectedFrames, expectedFrames != v.frameCount {
                throw StoreError.invalidArgument(
                    "\(path): \(StoreRules.name(v)): \(v.frameCount) frames committed, \(expectedFrames) expected")
            }
            let replaced = versions.filter { $0.id != id && !$0.isLeasedByOther(than: lease?.owner, at: now) }.map {
                $0.id!
            }
            try s.query(
                """
                WITH gone AS (DELETE FROM videos WHERE id = ANY(\(replaced)) RETURNING id),
                ready AS (
                    UPDATE videos SET status = 'ready', damage = \(damage), lease_owner = NULL, lease_heartbeat_at = NULL,
                        lease_expires_at = NULL, error = NULL, updated_at = \(Date().timeIntervalSince1970)
                    WHERE id = \(id) RETURNING id),
                g AS (UPDATE library_state SET generation = generation + 1 WHERE id = 1 RETURNING generation)
                SELECT pg_notify('rstore_library', (SELECT generation FROM g)::text), (SELECT count(*) FROM gone), (SELECT count(*) FROM ready)
                """)
        }
    }

    public func fail(video id: Int64, error: String, lease: Lease?) throws {
        writing.remove(id)
        try pool.transaction("failing video \(id)") { s in
            guard let row = try lockedRow(s, id), row.video.status == .indexing else { return }
            let (v, now) = (row.video, row.now)
            if lease.map({ v.leaseOwner != $0.owner }) ?? v.isLeasedByOther(than: nil, at: now) { return }
            try s.query("DELETE FROM chunks WHERE video_id = \(id)")
            try s.query(
                """
                UPDATE videos SET status = 'failed', error = \(error), frame_count = 0, lease_owner = NULL, lease_expires_at = NULL,
                    updated_at = \(Date().timeIntervalSince1970)
                WHERE id = \(id)
                """)
        }
    }

    public func heartbeat(video id: Int64, lease: Lease) throws -> Bool {
        try pool.statement("renewing the lease of video \(id)", retry: true) { s in
            try s.query(
                """
                UPDATE videos SET lease_heartbeat_at = extract(epoch FROM clock_timestamp()),
                    lease_expires_at = extract(epoch FROM clock_timestamp()) + \(lease.seconds)
                WHERE id = \(id) AND lease_owner = \(lease.owner) AND status = 'indexing'
                """
            ).affected > 0
        }
    }

    // MARK: Queries

    /// A read in one snapshot, retried once on a fresh connection if the connection drops.
    func read<T>(_ what: String, _ body: (PostgresSession) throws -> T) throws -> T {
        try pool.transaction(what, readOnly: true, retry: true, body)
    }

    public func videos(status: VideoRecord.Status?) throws -> [VideoRecord] {
        StoreRules.usable(
            try read("listing videos") { s in
                try s.rows(
                    """
                    SELECT \(unescaped: PostgresRows.videoColumns) FROM videos
                    WHERE \(status?.rawValue)::text IS NULL OR status = \(status?.rawValue) ORDER BY path, id
                    """
                ).compactMap { try? PostgresRows.video($0) }  // a row that does not decode is left out
            })
    }

    public func video(id: Int64) throws -> VideoRecord {
        guard
            let v = try read(
                "reading video \(id)",
                { s in
                    try s.rows("SELECT \(unescaped: PostgresRows.videoColumns) FROM videos WHERE id = \(id)").first.map(
                        PostgresRows.video)
                })
        else { throw StoreError.unknownVideo(path: path, video: "id \(id)") }
        return try StoreRules.checked(v, store: path)
    }

    public func video(path p: String) throws -> VideoRecord? {
        try read("reading \(p)") { s in
            let versions = try s.rows(
                "SELECT \(unescaped: PostgresRows.videoColumns) FROM videos WHERE path = \(p) ORDER BY id DESC"
            ).map(PostgresRows.video)
            return try (versions.first { $0.status == .ready } ?? versions.first).map {
                try StoreRules.checked($0, store: path)
            }
        }
    }

    func chunks(_ s: PostgresSession, of id: Int64, overlapping range: Range<Int>? = nil) throws -> [RawChunk] {
        guard let range else {
            return try s.rows(
                """
                SELECT first_frame, frame_count, offsets, features FROM chunks WHERE video_id = \(id) ORDER BY \
                first_frame
                """
            ).map(PostgresRows.chunk)
        }
        guard !range.isEmpty else { return [] }
        return try s.rows(
            """
            SELECT first_frame, frame_count, offsets, features FROM chunks
            WHERE video_id = \(id) AND first_frame < \(range.upperBound)
              AND first_frame >= COALESCE((SELECT max(first_frame) FROM chunks WHERE video_id = \(id) AND first_frame <= \(range.lowerBound)), 0)
            ORDER BY first_frame
            """
        ).map(PostgresRows.chunk)
    }

    public func rawChunks(of v: VideoRecord) throws -> [RawChunk] {
        try read("reading the chunks of \(v.path)") { s in
            try chunks(s, of: v.id!).map { c in
                var c = c
                c.shotStarts = StoreRules.shotStarts(of: v, in: c.firstFrame..<(c.firstFrame + c.frameCount))
                return c
            }
        }
    }

    public func offsets(of v: VideoRecord) throws -> [FrameOffsetRecord] {
        try rawChunks(of: v).flatMap { try StoreRules.decodeOffsets(store: path, $0, v) }
    }

    public func iFeatures(of v: VideoRecord) throws -> [(index: Int, vector: [Float])] {
        try rawChunks(of: v).flatMap { try StoreRules.decodeFeatures(store: path, $0, v) }
    }

    func readyChunks(video id: Int64, range: Range<Int>) throws -> (VideoRecord, [RawChunk]) {
        try read("reading frames of video \(id)") { s in
            guard
                let v = try s.rows("SELECT \(unescaped: PostgresRows.videoColumns) FROM videos WHERE id = \(id)").first
                    .map(PostgresRows.video)
            else {
                throw StoreError.unknownVideo(path: path, video: "id \(id)")
            }
            _ = try StoreRules.checked(v, store: path)
            guard v.status == .ready else {
                throw StoreError.notReady(path: path, video: v.path, status: v.status.rawValue)
            }
            return (v, try chunks(s, of: id, overlapping: range))
        }
    }

    public func frameOffsets(video id: Int64, range: Range<Int>) throws -> [FrameOffsetRecord] {
        let (v, chunks) = try readyChunks(video: id, range: range)
        return try chunks.flatMap { try StoreRules.decodeOffsets(store: path, $0, v) }.filter {
            range.contains($0.index)
        }
    }

    public func iFeatures(video id: Int64, frames range: Range<Int>) throws -> [(index: Int, vector: [Float])] {
        let (v, chunks) = try readyChunks(video: id, range: range)
        return try chunks.flatMap { try StoreRules.decodeFeatures(store: path, $0, v) }.filter {
            range.contains($0.index)
        }
    }

    public func generation() throws -> Int64 {
        try read("reading the library generation") { s in
            try s.rows("SELECT generation FROM library_state WHERE id = 1").first?["generation"].decode(Int64.self) ?? 0
        }
    }

    // MARK: Maintenance

    public func verifyBlobs() throws -> [String] {
        try read("verifying the store") { s in
            let dim = try s.rows("SELECT embed_dim FROM models ORDER BY id LIMIT 1").first?["embed_dim"].decode(
                Int.self)
            var problems = schemaWarnings
            for row in try s.rows(
                "SELECT \(unescaped: PostgresRows.videoColumns) FROM videos WHERE status <> 'failed' ORDER BY id")
            {
                let v: VideoRecord
                do { v = try PostgresRows.video(row) } catch {
                    problems.append(
                        StoreError.corruptRow(
                            path: path, video: "a video row", reason: "the row does not decode: \(error)"
                        ).description)
                    continue
                }
                problems += StoreRules.verify(store: path, v, chunks: try chunks(s, of: v.id!), dim: dim)
            }
            return problems
        }
    }

    /// Sizes as PostgreSQL counts them: `fileBytes` is the database's size on the server.
    public func stats(tableSizes: Bool) throws -> StoreStats {
        try read("reading store statistics") { s in
            let all = try s.rows("SELECT \(unescaped: PostgresRows.videoColumns) FROM videos").map(PostgresRows.video)
            let ready = StoreRules.usable(all).filter { $0.status == .ready }
            let hours = ready.reduce(0) { $0 + $1.duration } / 3600
            let frames = ready.reduce(0) { $0 + $1.frameCount }
            let iFrames = ready.reduce(0) { $0 + $1.layout.iFrameCount(frames: $1.frameCount) }
            let sizes = try s.rows(
                """
                SELECT pg_database_size(current_database())::int8 AS db,
                       COALESCE(sum(octet_length(features)), 0)::int8 AS f, COALESCE(sum(octet_length(offsets)), 0)::int8 AS o FROM chunks
                """)[0]
            let fileBytes = try sizes["db"].decode(Int64.self)
            var tables: [String: Int64]?
            if tableSizes {
                tables = Dictionary(
                    uniqueKeysWithValues: try s.rows(
                        """
                        SELECT tablename AS name, pg_total_relation_size(quote_ident(tablename))::int8 AS bytes
                        FROM pg_tables WHERE schemaname = current_schema()
                        """
                    ).map { (try $0["name"].decode(String.self), try $0["bytes"].decode(Int64.self)) })
            }
            let dim =
                try s.rows("SELECT embed_dim FROM models ORDER BY id LIMIT 1").first?["embed_dim"].decode(Int.self) ?? 0
            return StoreStats(
                videos: ready.count, indexingVideos: all.filter { $0.status == .indexing }.count,
                failedVideos: all.filter { $0.status == .failed }.count, hours: hours, frames: frames, iFrames: iFrames,
                fileBytes: fileBytes, featureBytes: try sizes["f"].decode(Int64.self),
                offsetBytes: try sizes["o"].decode(Int64.self),
                tableBytes: tables, bytesPerHour: hours > 0 ? Double(fileBytes) / hours : 0,
                denseFloat32BytesPerHour: hours > 0 ? Double(frames * dim * 4) / hours : 0)
        }
    }
}
