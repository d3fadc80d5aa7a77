import Foundation
import GRDB
import Support

/// The on-disk file of the decoded-frame tier: small opaque payloads (what a P-frame's
/// recomputation needs) keyed by (video content hash, recipe, frame index), kept beside the
/// store but never part of it. Deleting the file loses nothing.
///
/// - A header row names the owner (store and model); a file of another owner, another format,
///   or one SQLite cannot read is deleted and started afresh, never used.
/// - Every payload carries a CRC-32; a payload that fails it is dropped and reported missing.
/// - Bounded by bytes: after a write, least recently used payloads go until the file's
///   payload bytes are under the budget.
/// - WAL with a busy timeout, so a server reading and a CLI ingest writing share it safely.
/// - Stills (small JPEGs of I-frames, what thumbnails are served from) sit in their own table
///   under their own budget: evicting P-frame payloads never touches them, and they are keyed
///   by the frame's time, not its index, so a new fps, N, p or strategy does not orphan them.
public final class FrameTierFile: @unchecked Sendable {
    /// /2: P-frame patches as 4:4:4 JPEG (/1 held 4:2:0 ones); a file of /1 is started afresh
    /// rather than left to hold stale payloads until eviction.
    public static let format = "rstore-frame-tier/2"
    public let url: URL
    public let owner: String
    private let lock = NSLock()
    private var pool: DatabasePool
    private var budgets: (frames: Int, stills: Int)
    /// Payload bytes the P-frame entries may take (stills have their own `stillBudget`).
    public var byteBudget: Int { lock.withLock { budgets.frames } }
    public var stillBudget: Int { lock.withLock { budgets.stills } }

    public struct Stats: Sendable, Codable, Equatable {
        public var entries: Int
        public var bytes: Int
        public var videos: Int
        public var hits: Int
        public var misses: Int
        public var byteBudget: Int
        public var stills = 0
        public var stillBytes = 0
        public var stillBudget = 0
        public var hitRate: Double { hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses) }
    }

    /// `stillBudget` nil: 1/8 of `byteBudget` (stills are ~1/10 of the frames' bytes an hour).
    public init(url: URL, owner: String, byteBudget: Int, stillBudget: Int? = nil) throws {
        self.url = url
        self.owner = owner
        budgets = (max(0, byteBudget), max(0, stillBudget ?? byteBudget / 8))
        do {
            pool = try Self.open(url, owner: owner)
        } catch {
            // Unreadable, foreign or of another owner: it is only a cache.
            Self.remove(url)
            pool = try Self.open(url, owner: owner)
        }
    }

    private static func remove(_ url: URL) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: url.path + suffix) }
    }

    private static func open(_ url: URL, owner: String) throws -> DatabasePool {
        if let head = try? FileHandle(forReadingFrom: url).read(upToCount: 16), !head.isEmpty,
            head != Data("SQLite format 3\u{0}".utf8)
        {
            throw StoreError.notAStore(path: url.path, reason: "frame tier is not an SQLite database")
        }
        var config = Configuration()
        config.busyMode = .timeout(10)
        // A cache: WAL without an fsync per commit (a crash may lose the last writes, never
        // corrupt the file), so reads that record hits stay cheap.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        let pool = try DatabasePool(path: url.path, configuration: config)
        try pool.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE IF NOT EXISTS payloads (
                        video TEXT NOT NULL, recipe TEXT NOT NULL, frame INTEGER NOT NULL,
                        blob BLOB NOT NULL, bytes INTEGER NOT NULL, used INTEGER NOT NULL,
                        PRIMARY KEY (video, recipe, frame)) WITHOUT ROWID;
                    CREATE INDEX IF NOT EXISTS payloads_used ON payloads (used);
                    CREATE TABLE IF NOT EXISTS stills (
                        video TEXT NOT NULL, ms INTEGER NOT NULL,
                        blob BLOB NOT NULL, bytes INTEGER NOT NULL, used INTEGER NOT NULL,
                        PRIMARY KEY (video, ms)) WITHOUT ROWID;
                    CREATE INDEX IF NOT EXISTS stills_used ON stills (used);
                    """)
            let format = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'format'")
            let own = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'owner'")
            let empty = try Int.fetchOne(db, sql: "SELECT 1 FROM payloads LIMIT 1") == nil
            if format == nil && own == nil && empty {
                try db.execute(
                    sql:
                        "INSERT OR REPLACE INTO meta VALUES ('format', ?), ('owner', ?), ('hits', '0'), ('misses', '0')",
                    arguments: [Self.format, owner])
            } else if format != Self.format || own != owner {
                throw StoreError.notAStore(
                    path: url.path,
                    reason: "frame tier of another store, model or format (\(own ?? "?"), \(format ?? "?"))")
            }
        }
        return pool
    }

    /// Runs `body` on the pool; a file found damaged while in use (SQLite reports corruption)
    /// is deleted and started afresh, and `body` runs once more on the new file.
    private func withPool<T>(_ body: (DatabasePool) throws -> T) throws -> T {
        let current = lock.withLock { pool }
        do {
            return try body(current)
        } catch let e as DatabaseError where e.resultCode == .SQLITE_CORRUPT || e.resultCode == .SQLITE_NOTADB {
            let fresh: DatabasePool = try lock.withLock {
                if pool !== current { return pool }  // another thread already replaced it
                try? pool.close()
                Self.remove(url)
                pool = try Self.open(url, owner: owner)
                return pool
            }
            return try body(fresh)
        }
    }

    /// A logical clock for LRU order that survives restarts and is shared between processes.
    private static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Payloads of `frames` that are present and intact; counts hits and misses.
    public func get(video: String, recipe: String, frames: [Int]) -> [Int: Data] {
        guard !frames.isEmpty else { return [:] }
        var found: [Int: Data] = [:]
        var bad: [Int] = []
        do {
            try withPool { pool in
                try pool.read { db in
                    for (marks, args) in Self.framesIn(video: video, recipe: recipe, frames: frames) {
                        let rows = try Row.fetchAll(
                            db,
                            sql:
                                """
                                SELECT frame, blob FROM payloads WHERE video = ? AND recipe = ? AND frame IN \
                                (\(marks))
                                """,
                            arguments: args)
                        for r in rows {
                            let k: Int = r["frame"]
                            let blob: Data = r["blob"]
                            if let payload = Self.unwrap(blob) { found[k] = payload } else { bad.append(k) }
                        }
                    }
                }
            }
            let hits = found.count
            let misses = frames.count - found.count
            let stamp = Self.now()
            try withPool { pool in
                try pool.write { db in
                    for k in bad {
                        try db.execute(
                            sql: "DELETE FROM payloads WHERE video = ? AND recipe = ? AND frame = ?",
                            arguments: [video, recipe, k])
                    }
                    for k in found.keys {
                        try db.execute(
                            sql: "UPDATE payloads SET used = ? WHERE video = ? AND recipe = ? AND frame = ?",
                            arguments: [stamp, video, recipe, k])
                    }
                    try db.execute(
                        sql: "UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = 'hits'", arguments: [hits])
                    try db.execute(
                        sql: "UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = 'misses'",
                        arguments: [misses])
                }
            }
        } catch {
            return found  // a cache that cannot be read is a cache miss
        }
        return found
    }

    /// `frames` in chunks of 500 for `video = ? AND recipe = ? AND frame IN (marks)`.
    private static func framesIn(video: String, recipe: String, frames: [Int]) -> [(String, StatementArguments)] {
        stride(from: 0, to: frames.count, by: 500).map { part in
            let slice = Array(frames[part..<min(frames.count, part + 500)])
            var args: StatementArguments = [video, recipe]
            args += StatementArguments(slice)
            return (slice.map { _ in "?" }.joined(separator: ","), args)
        }
    }

    /// Which of `frames` the tier holds (keys only: no payload read, no hit counted, no LRU
    /// stamp), so a planner can tell the frames that would need decoding.
    public func present(video: String, recipe: String, frames: [Int]) -> Set<Int> {
        guard !frames.isEmpty else { return [] }
        var out = Set<Int>()
        try? withPool { pool in
            try pool.read { db in
                for (marks, args) in Self.framesIn(video: video, recipe: recipe, frames: frames) {
                    out.formUnion(
                        try Int.fetchAll(
                            db,
                            sql: "SELECT frame FROM payloads WHERE video = ? AND recipe = ? AND frame IN (\(marks))",
                            arguments: args))
                }
            }
        }
        return out
    }

    /// Stores payloads (replacing older ones under the same key), then evicts by bytes.
    public func put(video: String, recipe: String, payloads: [(frame: Int, data: Data)]) throws {
        let byteBudget = self.byteBudget
        guard !payloads.isEmpty, byteBudget > 0 else { return }
        let stamp = Self.now()
        try withPool { pool in
            try pool.write { db in
                for p in payloads {
                    let blob = Self.wrap(p.data)
                    guard blob.count <= byteBudget else { continue }
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO payloads VALUES (?, ?, ?, ?, ?, ?)",
                        arguments: [video, recipe, p.frame, blob, blob.count, stamp])
                }
                try Self.evict(db, table: "payloads", key: ["video", "recipe", "frame"], budget: byteBudget)
            }
        }
    }

    /// Least recently used rows of `table` go, oldest first, in batches, down to 90% of
    /// `budget` so the next write does not evict again.
    private static func evict(_ db: Database, table: String, key: [String], budget: Int) throws {
        var total = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(bytes), 0) FROM \(table)") ?? 0
        guard total > budget else { return }
        let columns = key.joined(separator: ", ")
        let match = key.map { "\($0) = ?" }.joined(separator: " AND ")
        while total > budget * 9 / 10 {
            let victims = try Row.fetchAll(db, sql: "SELECT \(columns), bytes FROM \(table) ORDER BY used LIMIT 256")
            guard !victims.isEmpty else { break }
            for v in victims {
                try db.execute(
                    sql: "DELETE FROM \(table) WHERE \(match)",
                    arguments: StatementArguments(key.map { v[$0] as DatabaseValue }))
                total -= v["bytes"] as Int
                if total <= budget * 9 / 10 { break }
            }
        }
    }

    /// Changes the budgets (the library's default follows its size); takes effect at the next write.
    public func setBudgets(frames: Int, stills: Int) {
        lock.withLock { budgets = (max(0, frames), max(0, stills)) }
    }

    /// Stores stills of one video keyed by their time in milliseconds (replacing older ones
    /// at the same time), then evicts stills by bytes; P-frame payloads are not touched.
    public func putStills(video: String, stills: [(ms: Int64, data: Data)]) throws {
        let budget = stillBudget
        guard !stills.isEmpty, budget > 0 else { return }
        let stamp = Self.now()
        try withPool { pool in
            try pool.write { db in
                for s in stills {
                    let blob = Self.wrap(s.data)
                    guard blob.count <= budget else { continue }
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO stills VALUES (?, ?, ?, ?, ?)",
                        arguments: [video, s.ms, blob, blob.count, stamp])
                }
                try Self.evict(db, table: "stills", key: ["video", "ms"], budget: budget)
            }
        }
    }

    /// The intact still of `video` at or before `ms` within `tolerance` ms, else the nearest
    /// one after it within `tolerance`; nil when there is none. A still failing its CRC is
    /// deleted and reported missing (the caller decodes the original instead).
    public func still(video: String, at ms: Int64, tolerance: Int64) -> (ms: Int64, data: Data)? {
        do {
            let row = try withPool { pool in
                try pool.read { db -> Row? in
                    let before = try Row.fetchOne(
                        db,
                        sql:
                            """
                            SELECT ms, blob FROM stills WHERE video = ? AND ms <= ? AND ms >= ? ORDER BY ms DESC \
                            LIMIT 1
                            """,
                        arguments: [video, ms, ms - tolerance])
                    if let before { return before }
                    return try Row.fetchOne(
                        db,
                        sql: "SELECT ms, blob FROM stills WHERE video = ? AND ms > ? AND ms <= ? ORDER BY ms LIMIT 1",
                        arguments: [video, ms, ms + tolerance])
                }
            }
            guard let row else { return nil }
            let at: Int64 = row["ms"]
            guard let data = Self.unwrap(row["blob"]) else {
                removeStill(video: video, ms: at)
                return nil
            }
            try withPool { pool in
                try pool.write { db in
                    try db.execute(
                        sql: "UPDATE stills SET used = ? WHERE video = ? AND ms = ?",
                        arguments: [Self.now(), video, at])
                }
            }
            return (at, data)
        } catch {
            return nil  // a cache that cannot be read is a miss
        }
    }

    /// Drops one still (found damaged by its reader).
    public func removeStill(video: String, ms: Int64) {
        _ = try? withPool { pool in
            try pool.write { db in
                try db.execute(sql: "DELETE FROM stills WHERE video = ? AND ms = ?", arguments: [video, ms])
            }
        }
    }

    /// P-frame payloads held per video content hash (the most of any one recipe).
    public func framesPerVideo() throws -> [String: Int] {
        try withPool { pool in
            try pool.read { db in
                var out: [String: Int] = [:]
                for r in try Row.fetchAll(
                    db, sql: "SELECT video, COUNT(*) AS n FROM payloads GROUP BY video, recipe")
                {
                    let v: String = r["video"]
                    out[v] = max(out[v] ?? 0, r["n"] as Int)
                }
                return out
            }
        }
    }

    public func stats() throws -> Stats {
        try withPool { pool in
            try pool.read { db in
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b, COUNT(DISTINCT video) AS v FROM payloads")!
                let hits = Int(try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'hits'") ?? "0") ?? 0
                let misses =
                    Int(try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'misses'") ?? "0") ?? 0
                let still = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM stills")!
                return Stats(
                    entries: row["n"], bytes: row["b"], videos: row["v"], hits: hits, misses: misses,
                    byteBudget: byteBudget, stills: still["n"], stillBytes: still["b"], stillBudget: stillBudget)
            }
        }
    }

    /// Drops every payload and still of one video (its content hash), whatever the recipe.
    public func remove(video: String) throws {
        try withPool { pool in
            try pool.write { db in
                try db.execute(sql: "DELETE FROM payloads WHERE video = ?", arguments: [video])
                try db.execute(sql: "DELETE FROM stills WHERE video = ?", arguments: [video])
            }
        }
    }

    /// Payload bytes stored for one video.
    public func bytes(video: String) throws -> Int {
        try withPool { pool in
            try pool.read { db in
                try Int.fetchOne(
                    db, sql: "SELECT COALESCE(SUM(bytes), 0) FROM payloads WHERE video = ?", arguments: [video]) ?? 0
            }
        }
    }

    // Blob: "RSP1", CRC-32 of the payload (u32 LE), payload.
    static let magic = Data("RSP1".utf8)

    static func wrap(_ payload: Data) -> Data {
        var out = magic
        var crc = CRC32.checksum(payload).littleEndian
        withUnsafeBytes(of: &crc) { out.append(contentsOf: $0) }
        out.append(payload)
        return out
    }

    static func unwrap(_ blob: Data) -> Data? {
        guard blob.count >= 8, blob.prefix(4) == magic else { return nil }
        let stored = blob.dropFirst(4).prefix(4).enumerated().reduce(UInt32(0)) {
            $0 | UInt32($1.element) << (8 * UInt32($1.offset))
        }
        let payload = Data(blob.dropFirst(8))
        return CRC32.checksum(payload) == stored ? payload : nil
    }
}
