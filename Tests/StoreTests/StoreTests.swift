import Foundation
import GRDB
import Support
import TestSupport
import Timeline
import XCTest

@testable import Store

final class StoreTests: XCTestCase {
    var dir: URL!
    var url: URL { dir.appendingPathComponent("lib.rstore") }

    override func setUpWithError() throws {
        dir = try TempDirectory.make("store")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    // MARK: Fixtures

    static let dim = 4

    func model(_ s: SQLiteStore, weights: String = "w1") throws -> ModelRecord {
        try s.bindModel(name: "tiny", config: "{}", weightsSha256: weights, tokenizerSha256: "", embedDim: Self.dim)
    }

    func video(_ path: String = "/v/a.mp4", hash: String = "h1", n: Int = 2, codec: FeatureCodec = .f16) -> VideoRecord
    {
        VideoRecord(
            path: path, contentHash: hash, size: 10, mtime: 0, duration: 6, timeBaseNum: 1, timeBaseDen: 90000,
            fps: 2, n: n, p: 0.85, strategy: "motion", codec: codec, info: "{}")
    }

    func offsets(_ range: Range<Int>) -> [FrameOffsetRecord] {
        range.map {
            FrameOffsetRecord(
                index: $0, pts: Int64($0) * 45000 + 1000, time: Double($0) / 2, seekPTS: Int64($0 / 10) * 450000 + 1000)
        }
    }

    func features(_ range: Range<Int>, n: Int = 2, tag: Float = 0) -> [(index: Int, vector: [Float])] {
        range.filter { $0 % (n + 1) == 0 }.map { ($0, [Float($0), 1, -2, 0.5 + tag]) }
    }

    /// Every stored I-feature of the ready videos, read through the public per-video path (as
    /// the engine builds its search matrix).
    func readyIFeatures(_ s: SQLiteStore) throws -> [(video: Int64, index: Int, vector: [Float])] {
        try s.videos(status: .ready).flatMap { v in try s.iFeatures(of: v).map { (v.id!, $0.index, $0.vector) } }
    }

    func started(_ s: SQLiteStore, _ v: VideoRecord, _ m: ModelRecord) throws -> VideoRecord {
        guard case .resume(let r) = try s.begin(v, model: m) else {
            XCTFail("expected an ingest to run")
            throw CocoaError(.featureUnsupported)
        }
        return r
    }

    /// Everything stored for one video, byte for byte.
    func snapshot(_ id: Int64) throws -> [Row] {
        let q = try DatabaseQueue(path: url.path)
        return try q.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM videos WHERE id = ?", arguments: [id])
                + Row.fetchAll(db, sql: "SELECT * FROM chunks WHERE video_id = ? ORDER BY first_frame", arguments: [id])
        }
    }

    func assertStoreError(
        _ e: any Error, _ match: (StoreError) -> Bool, file: StaticString = #filePath, line: UInt = #line
    ) {
        guard let s = e as? StoreError, match(s) else {
            return XCTFail("unexpected error: \(e)", file: file, line: line)
        }
    }

    // MARK: Migrations

    func testEmbeddedMigrationsAreExactlyTheSQLFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../Migrations"
        ).standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".sql") }
            .sorted()
        XCTAssertFalse(files.isEmpty)
        XCTAssertEqual(Migration.embedded.map(\.name), files, "the build embeds every Migrations/*.sql, in order")
        XCTAssertEqual(Migration.embedded.map(\.version), files.map { Int($0.prefix(4))! })
        XCTAssertEqual(Migration.embedded.map(\.version), Migration.embedded.map(\.version).sorted())
        for m in Migration.embedded {
            XCTAssertEqual(
                Data(m.sql.utf8), try Data(contentsOf: root.appendingPathComponent(m.name)),
                "\(m.name) differs from its embedded copy")
        }
    }

    func testMigrationsApplyInOrderOnceAndAreRecorded() throws {
        let s = try SQLiteStore(url: url)
        XCTAssertEqual(s.schemaWarnings, [])
        let q = try DatabaseQueue(path: url.path)
        let recorded = try q.read {
            try Row.fetchAll(
                $0, sql: "SELECT version, name, sha256, applied_at FROM schema_migrations ORDER BY version")
        }
        XCTAssertEqual(recorded.map { $0["version"] as Int }, Migration.embedded.map(\.version))
        XCTAssertEqual(recorded.map { $0["name"] as String }, Migration.embedded.map(\.name))
        XCTAssertEqual(recorded.map { $0["sha256"] as String }, Migration.embedded.map(\.sha256))
        XCTAssertTrue(recorded.allSatisfy { ($0["applied_at"] as Double) > 1_700_000_000 })
        let tables = try q.read {
            try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        }
        XCTAssertEqual(Set(tables), ["chunks", "models", "schema_migrations", "videos"])
        XCTAssertEqual(try q.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }, "wal")
        _ = try SQLiteStore(url: url)  // reopening applies nothing twice
        XCTAssertEqual(
            try q.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM schema_migrations") }, Migration.embedded.count
        )

        // Later migrations run after the earlier ones, in version order, whatever the list order.
        let v = Migration.latestVersion
        let extra =
            Migration.embedded
            + [
                Migration(version: v + 2, name: "later.sql", sql: "ALTER TABLE notes ADD COLUMN later TEXT;"),
                Migration(version: v + 1, name: "notes.sql", sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY);"),
            ].sorted { $0.version < $1.version }
        try q.write { db in _ = try Migration.migrate(db, path: url.path, known: extra) }
        XCTAssertEqual(
            try q.read {
                try Int.fetchAll($0, sql: "SELECT version FROM schema_migrations ORDER BY applied_at, version")
            },
            Migration.embedded.map(\.version) + [v + 1, v + 2])
        XCTAssertTrue(try q.read { try $0.columns(in: "notes").map(\.name) } == ["id", "later"])
    }

    func testAFailingMigrationChangesNothing() throws {
        _ = try SQLiteStore(url: url)
        let q = try DatabaseQueue(path: url.path)
        let v = Migration.latestVersion
        let broken =
            Migration.embedded + [
                Migration(version: v + 1, name: "good.sql", sql: "CREATE TABLE good (id INTEGER);"),
                Migration(
                    version: v + 2, name: "bad.sql", sql: "CREATE TABLE bad (id INTEGER); SELECT * FROM no_such_table;"),
            ]
        XCTAssertThrowsError(try q.write { db in _ = try Migration.migrate(db, path: url.path, known: broken) }) { e in
            self.assertStoreError(e) { if case .migrationFailed(_, "bad.sql", _) = $0 { true } else { false } }
            XCTAssertTrue("\(e)".contains(self.url.path) && "\(e)".contains("no_such_table"), "\(e)")
        }
        XCTAssertFalse(try q.read { try $0.tableExists("good") }, "all pending migrations are one transaction")
        XCTAssertEqual(
            try q.read { try Int.fetchOne($0, sql: "SELECT MAX(version) FROM schema_migrations") },
            Migration.latestVersion)
    }

    func testNewerSchemaAndForeignFilesAreRefused() throws {
        _ = try SQLiteStore(url: url)
        let q = try DatabaseQueue(path: url.path)
        try q.write { try $0.execute(sql: "INSERT INTO schema_migrations VALUES (999, '0999_future.sql', 'x', 0)") }
        for open in [{ try SQLiteStore(url: self.url) }, { try SQLiteStore.openReadOnly(url: self.url) }] {
            XCTAssertThrowsError(try open()) { e in
                XCTAssertEqual(
                    e as? StoreError, .newerSchema(path: self.url.path, found: 999, supported: Migration.latestVersion))
                XCTAssertTrue(
                    "\(e)".contains(self.url.path) && "\(e)".contains("999") && "\(e)".contains("upgrade rstore"),
                    "\(e)")
            }
        }

        let text = dir.appendingPathComponent("notes.txt")
        try Data("hello, not a database".utf8).write(to: text)
        XCTAssertThrowsError(try SQLiteStore(url: text)) { e in
            self.assertStoreError(e) { $0 == .notAStore(path: text.path, reason: "not an SQLite database") }
        }
        XCTAssertEqual(try String(contentsOf: text, encoding: .utf8), "hello, not a database", "left intact")

        // Another application's SQLite database is not migrated into.
        let other = dir.appendingPathComponent("other.sqlite")
        try DatabaseQueue(path: other.path).write { try $0.execute(sql: "CREATE TABLE contacts (name TEXT)") }
        XCTAssertThrowsError(try SQLiteStore(url: other)) { e in
            self.assertStoreError(e) { if case .notAStore(other.path, _) = $0 { true } else { false } }
            XCTAssertTrue("\(e)".contains("schema_migrations"), "\(e)")
        }
        XCTAssertEqual(
            try DatabaseQueue(path: other.path).read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master") },
            ["contacts"])
        XCTAssertEqual(
            try DatabaseQueue(path: other.path).read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }, "delete",
            "not switched to WAL")

        XCTAssertThrowsError(try SQLiteStore.openReadOnly(url: dir.appendingPathComponent("missing.rstore"))) { e in
            self.assertStoreError(e) { if case .notAStore = $0 { true } else { false } }
        }
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: dir.appendingPathComponent("missing.rstore").path),
            "read-only open creates nothing")
    }

    func testAnEditedAppliedMigrationIsReported() throws {
        _ = try SQLiteStore(url: url)
        try DatabaseQueue(path: url.path).write {
            try $0.execute(sql: "UPDATE schema_migrations SET sha256 = 'edited' WHERE version = 1")
        }
        let s = try SQLiteStore(url: url)
        XCTAssertEqual(
            s.schemaWarnings,
            [StoreError.migrationChanged(path: url.path, name: Migration.embedded[0].name).description])
        XCTAssertTrue(s.schemaWarnings[0].contains("never edited"))
        XCTAssertEqual(try s.verifyBlobs(), s.schemaWarnings)
    }

    func testReadOnlyStoresQueryButNeitherMigrateNorWrite() throws {
        let s = try SQLiteStore(url: url)
        let v = try started(s, video(), try model(s))
        try s.append(video: v.id!, offsets: offsets(0..<6), iFeatures: features(0..<6))
        try s.finish(video: v.id!)
        let r = try SQLiteStore.openReadOnly(url: url)
        XCTAssertTrue(r.isReadOnly)
        XCTAssertEqual(try r.iFeatures(video: v.id!, frames: 0..<6).map(\.index), [0, 3])
        XCTAssertThrowsError(
            try r.bindModel(name: "x", config: "{}", weightsSha256: "w1", tokenizerSha256: "new", embedDim: Self.dim)
        ) { e in
            XCTAssertTrue("\(e)".contains("read-only"), "\(e)")
        }
        // A store from an older rstore must be upgraded read-write first.
        try DatabaseQueue(path: url.path).write {
            try $0.execute(sql: "DELETE FROM schema_migrations WHERE version = ?", arguments: [Migration.latestVersion])
        }
        XCTAssertThrowsError(try SQLiteStore.openReadOnly(url: url)) { e in
            self.assertStoreError(e) {
                if case .needsMigration(self.url.path, _, Migration.latestVersion) = $0 { true } else { false }
            }
        }
    }

    // MARK: Codecs

    func testCodecsRoundTripWithinTheirPrecision() throws {
        var rng = SystemRandomNumberGenerator()
        let dim = 512
        let rows = 16
        for scale in [Float(0.05), 2, 300] {
            let v = (0..<(rows * dim)).map { _ in Float.random(in: -scale...scale, using: &rng) }
            for codec in FeatureCodec.allCases {
                let blob = try codec.encode(v, dim: dim)
                let (d, back) = try FeatureCodec.decode(blob)
                XCTAssertEqual(d, dim)
                XCTAssertEqual(back.count, v.count)
                XCTAssertEqual(try FeatureCodec.header(blob).codec, codec)
                for r in 0..<rows {
                    let a = Array(v[r * dim..<(r + 1) * dim])
                    let b = Array(back[r * dim..<(r + 1) * dim])
                    let maxAbs = a.map(abs).max()!
                    for (x, y) in zip(a, b) {
                        switch codec {
                        case .f32: XCTAssertEqual(x, y)
                        case .f16:
                            XCTAssertLessThanOrEqual(
                                abs(x - y), Float(Float16(x).ulp) / 2, "f16 error is at most half an fp16 ulp")
                        case .i8:
                            XCTAssertLessThanOrEqual(
                                abs(x - y), maxAbs / 127 / 2 * 1.0001, "i8 error is at most scale/2")
                        }
                    }
                    XCTAssertGreaterThanOrEqual(cosine(a, b), 0.999, "\(codec)")
                }
            }
        }
        // Zero vectors, single vectors, empty chunks.
        for codec in FeatureCodec.allCases {
            XCTAssertEqual(try FeatureCodec.decode(codec.encode([0, 0, 0, 0], dim: 4)).values, [0, 0, 0, 0])
            XCTAssertEqual(try FeatureCodec.decode(codec.encode([], dim: 4)).values, [])
        }
        // LZ4 is used when it helps, skipped when it would grow the payload.
        let repetitive = [Float](repeating: 0.25, count: 4096)
        XCTAssertLessThan(try FeatureCodec.f16.encode(repetitive, dim: 512).count, 200)
        let noise = (0..<4096).map { _ in Float.random(in: -1...1, using: &rng) }
        XCTAssertEqual(
            try FeatureCodec.f16.encode(noise, dim: 512).count, 19 + 4096 * 2, "incompressible payload stored as is")
        XCTAssertEqual(try FeatureCodec.i8.encode(noise, dim: 512).count, 19 + 8 * (4 + 512))
        // Values the codec cannot represent are refused, not stored as inf/NaN.
        XCTAssertThrowsError(try FeatureCodec.f16.encode([1, .nan, 0, 0], dim: 4)) {
            XCTAssertTrue("\($0)".contains("element 1"), "\($0)")
        }
        XCTAssertThrowsError(try FeatureCodec.f16.encode([1e6, 0, 0, 0], dim: 4))
        XCTAssertThrowsError(try FeatureCodec.i8.encode([.infinity, 0, 0, 0], dim: 4))
        XCTAssertThrowsError(try FeatureCodec.f16.encode([1, 2, 3], dim: 2))
    }

    /// A 25 fps stream (time base 1/12800, start pts 1024, keyframe every 50 frames) sampled at
    /// 2 fps by the previous-frame rule, times as the video layer computes them.
    static func realisticOffsets(_ range: Range<Int>) -> [FrameOffsetRecord] {
        range.map { k in
            let frame = Int64(k) * 25 / 2
            let start: Int64 = 1024
            let pts = start + frame * 512
            return FrameOffsetRecord(
                index: k, pts: pts, time: Double(pts - start) * Double(1) / Double(12800),
                seekPTS: start + frame / 50 * 50 * 512)
        }
    }

    /// The first offsets layout ("RSO1"), as stores written before "RSO2" hold it.
    static func legacyOffsetBlob(_ o: [FrameOffsetRecord]) -> Data {
        var raw = [UInt8]()
        var prevPTS: Int64 = 0
        var prevTime: UInt64 = 0
        for f in o {
            OffsetCodec.varint(OffsetCodec.zigzag(f.pts - prevPTS), &raw)
            OffsetCodec.varint(OffsetCodec.zigzag(f.pts - f.seekPTS), &raw)
            OffsetCodec.varint(f.time.bitPattern ^ prevTime, &raw)
            prevPTS = f.pts
            prevTime = f.time.bitPattern
        }
        let packed = LZ4Block.compress(raw)!
        var blob = Data("RSO1".utf8)
        for v in [UInt32(o.count), UInt32(o[0].index), UInt32(raw.count), CRC32.checksum(packed)] { blob.appendLE(v) }
        return blob + packed
    }

    func testOffsetsRoundTripCompactly() throws {
        for o in [offsets(0..<240), Self.realisticOffsets(240..<480), Self.realisticOffsets(0..<1)] {
            let blob = try OffsetCodec.encode(o)
            XCTAssertEqual(try OffsetCodec.decode(blob), o)
            XCTAssertEqual(try OffsetCodec.decode(Self.legacyOffsetBlob(o)), o, "RSO1 blobs are still read")
            print("offsets: \(o.count) frames in \(blob.count) bytes (RSO1: \(Self.legacyOffsetBlob(o).count))")
            if o.count > 1 { XCTAssertLessThan(blob.count, o.count * 2, "regular offsets cost under 2 bytes a frame") }
        }
        // Irregular timelines (negative pts, jumps, VFR) round-trip exactly.
        let odd = [
            FrameOffsetRecord(index: 7, pts: -3003, time: 0, seekPTS: -6006),
            FrameOffsetRecord(index: 8, pts: 9_000_000_000, time: 1e5 + 1.0 / 3, seekPTS: 0),
            FrameOffsetRecord(index: 9, pts: 9_000_000_001, time: .ulpOfOne, seekPTS: 9_000_000_001),
        ]
        XCTAssertEqual(try OffsetCodec.decode(OffsetCodec.encode(odd)), odd)
        XCTAssertThrowsError(try OffsetCodec.encode([odd[0], odd[2]]), "frames of a chunk are consecutive")
    }

    func testCorruptBlobsAreDetected() throws {
        var rng = SystemRandomNumberGenerator()
        let v = (0..<(4 * 64)).map { _ in Float.random(in: -1...1, using: &rng) }
        for codec in FeatureCodec.allCases {
            let good = try codec.encode(v, dim: 64)
            for i in stride(from: 0, to: good.count, by: 7) {  // any single flipped bit, header or payload
                var bad = good
                bad[i] ^= 0x10
                if let back = try? FeatureCodec.decode(bad) {
                    XCTFail("\(codec): flipped byte \(i) decoded to \(back.values.count) values")
                }
            }
            XCTAssertThrowsError(try FeatureCodec.decode(good.prefix(good.count - 1))) {
                XCTAssertTrue("\($0)".contains("checksum"), "\($0)")
            }
            XCTAssertThrowsError(try FeatureCodec.decode(good + Data([0])))
        }
        XCTAssertThrowsError(try FeatureCodec.decode(Data([1, 2, 3])))
        XCTAssertThrowsError(try OffsetCodec.decode(FeatureCodec.f16.encode([1, 2], dim: 2)))
        let o = try OffsetCodec.encode(offsets(0..<30))
        for i in 0..<o.count {
            var bad = o
            bad[i] ^= 0x01
            if let back = try? OffsetCodec.decode(bad), back == offsets(0..<30) {
                XCTFail("offsets: flipped byte \(i) went unnoticed")
            }
        }
    }

    func testCorruptionInAStoreNamesStoreVideoAndFrame() throws {
        let s = try SQLiteStore(url: url)
        let v = try started(s, video(), try model(s))
        try s.append(video: v.id!, offsets: offsets(0..<6), iFeatures: features(0..<6))
        try s.append(video: v.id!, offsets: offsets(6..<12), iFeatures: features(6..<12))
        try s.finish(video: v.id!)
        XCTAssertEqual(try s.verifyBlobs(), [])
        let q = try DatabaseQueue(path: url.path)
        try q.write { db in
            let blob = try Data.fetchOne(db, sql: "SELECT features FROM chunks WHERE first_frame = 6")!
            var bad = blob
            bad[bad.count - 2] ^= 0x04
            try db.execute(sql: "UPDATE chunks SET features = ? WHERE first_frame = 6", arguments: [bad])
        }
        XCTAssertEqual(try s.iFeatures(video: v.id!, frames: 0..<6).map(\.index), [0, 3], "intact chunks still read")
        for read in [
            { _ = try s.iFeatures(video: v.id!, frames: 0..<12) }, { _ = try self.readyIFeatures(s) },
            { _ = try s.iFeatures(of: s.video(id: v.id!)) },
        ] {
            XCTAssertThrowsError(try read()) { e in
                self.assertStoreError(e) {
                    if case .corruptBlob(self.url.path, let name, 6, _) = $0 {
                        name.contains("/v/a.mp4")
                    } else {
                        false
                    }
                }
                XCTAssertTrue(
                    "\(e)".contains("frame 6") && "\(e)".contains("checksum") && "\(e)".contains(self.url.path), "\(e)")
            }
        }
        try q.write { try $0.execute(sql: "UPDATE chunks SET offsets = X'0102030405' WHERE first_frame = 0") }
        XCTAssertThrowsError(try s.frameOffsets(video: v.id!, range: 0..<3)) { e in
            self.assertStoreError(e) {
                if case .corruptBlob(_, _, 0, let reason) = $0 { reason.contains("offsets") } else { false }
            }
        }
        let problems = try s.verifyBlobs()
        XCTAssertEqual(problems.count, 2, "\(problems)")
        XCTAssertTrue(problems.allSatisfy { $0.contains("/v/a.mp4") })
    }

    // MARK: Ingest lifecycle

    func testChunkedIngestResumesAfterACrashWithoutGapsOrDuplicates() throws {
        do {
            let s = try SQLiteStore(url: url)
            let v = try started(s, video(), try model(s))
            try s.append(video: v.id!, offsets: offsets(0..<6), iFeatures: features(0..<6))
            try s.append(video: v.id!, offsets: offsets(6..<9), iFeatures: features(6..<9))
            try s.append(video: v.id!, offsets: offsets(9..<13), iFeatures: features(9..<13))
            XCTAssertEqual(try s.videos(status: .ready), [], "not queryable before it finishes")
            XCTAssertTrue(try readyIFeatures(s).isEmpty)
        }  // the process "dies" here: the pool is dropped without finishing
        let s = try SQLiteStore(url: url)
        guard case .resume(let v) = try s.begin(video(), model: try model(s)) else {
            return XCTFail("the partial ingest is resumed")
        }
        XCTAssertEqual(try s.video(id: v.id!).frameCount, 13)
        XCTAssertEqual(v.frameCount, 13)
        XCTAssertThrowsError(
            try s.append(video: v.id!, offsets: offsets(9..<14), iFeatures: features(9..<14)), "no duplicates")
        XCTAssertThrowsError(
            try s.append(video: v.id!, offsets: offsets(14..<16), iFeatures: features(14..<16)), "no gaps")
        XCTAssertThrowsError(
            try s.append(video: v.id!, offsets: offsets(13..<16), iFeatures: []), "I-features required")
        XCTAssertThrowsError(
            try s.append(video: v.id!, offsets: offsets(13..<16), iFeatures: [(15, [1, 2, 3])]), "dimension checked")
        XCTAssertEqual(try s.video(id: v.id!).frameCount, 13, "refused chunks change nothing")
        try s.append(video: v.id!, offsets: offsets(13..<20), iFeatures: features(13..<20))
        XCTAssertThrowsError(try s.finish(video: v.id!, expectedFrames: 21))
        try s.finish(video: v.id!, expectedFrames: 20)
        let ready = try s.readyVideo(path: "/v/a.mp4")
        XCTAssertEqual(ready.status, .ready)
        XCTAssertEqual(try s.offsets(of: ready), offsets(0..<20))
        XCTAssertEqual(try s.iFeatures(of: ready).map(\.index), [0, 3, 6, 9, 12, 15, 18])
        XCTAssertEqual(try s.iFeatures(of: ready)[2].vector, [6, 1, -2, 0.5])
        XCTAssertEqual(try s.verifyBlobs(), [])
        guard case .unchanged = try s.begin(video(), model: try model(s)) else {
            return XCTFail("an unchanged file is skipped")
        }
        guard case .resume = try s.begin(video(n: 3), model: try model(s)) else {
            return XCTFail("other settings are a new ingest")
        }
    }

    func testAVideoIsQueryableOnlyOnceReady() throws {
        let s = try SQLiteStore(url: url)
        XCTAssertThrowsError(try s.readyVideo(path: "/nope.mp4")) { e in
            self.assertStoreError(e) { if case .unknownVideo = $0 { true } else { false } }
        }
        XCTAssertNil(try s.video(path: "/nope.mp4"))
        let v = try started(s, video(), try model(s))
        try s.append(video: v.id!, offsets: offsets(0..<6), iFeatures: features(0..<6))
        XCTAssertEqual(try s.video(path: "/v/a.mp4")?.status, .indexing)
        XCTAssertThrowsError(try s.readyVideo(path: "/v/a.mp4")) { e in
            self.assertStoreError(e) { if case .notReady(_, _, "indexing") = $0 { true } else { false } }
            XCTAssertTrue("\(e)".contains("/v/a.mp4"))
        }
        XCTAssertThrowsError(try s.iFeatures(video: v.id!, frames: 0..<6))
        XCTAssertThrowsError(try s.frameOffsets(video: v.id!, range: 0..<6))
        XCTAssertEqual(try s.videos(status: .ready), [])
        XCTAssertEqual(try s.stats().videos, 0)
        XCTAssertEqual(try s.stats().indexingVideos, 1)
        try s.finish(video: v.id!)
        XCTAssertEqual(try s.videos(status: .ready).map(\.path), ["/v/a.mp4"])
        XCTAssertEqual(try s.video(path: "/v/a.mp4")?.status, .ready)
    }

    func testReindexOfAChangedFileKeepsTheOldVersionUntilTheNewOneCompletes() throws {
        let s = try SQLiteStore(url: url)
        let m = try model(s)
        let v1 = try started(s, video(hash: "old"), m)
        try s.append(video: v1.id!, offsets: offsets(0..<3), iFeatures: features(0..<3))
        try s.finish(video: v1.id!)

        let v2 = try started(s, video(hash: "new"), m)
        try s.append(video: v2.id!, offsets: offsets(0..<6), iFeatures: features(0..<6, tag: 1))
        XCTAssertEqual(
            try s.readyVideo(path: "/v/a.mp4").id, v1.id, "the old version is served while the new one is indexed")
        XCTAssertEqual(try readyIFeatures(s).map(\.video), [v1.id!])
        XCTAssertEqual(try s.iFeatures(video: v1.id!, frames: 0..<3).map(\.vector), [[0, 1, -2, 0.5]])

        // A second process resuming the new version continues it, not the old one.
        guard case .resume(let again) = try s.begin(video(hash: "new"), model: m) else { return XCTFail() }
        XCTAssertEqual(again.id, v2.id)
        XCTAssertEqual(again.frameCount, 6)
        try s.finish(video: v2.id!)
        XCTAssertEqual(try s.readyVideo(path: "/v/a.mp4").contentHash, "new")
        XCTAssertEqual(try s.videos().map(\.id), [v2.id], "the old version is gone, with its chunks")
        XCTAssertEqual(try readyIFeatures(s).map(\.index), [0, 3])
        XCTAssertEqual(
            try DatabaseQueue(path: url.path).read {
                try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM chunks WHERE video_id = ?", arguments: [v1.id])
            }, 0)
    }

    func testAFailedIngestLeavesStoredDataUnchanged() throws {
        let s = try SQLiteStore(url: url)
        let m = try model(s)
        let v1 = try started(s, video(hash: "old"), m)
        try s.append(video: v1.id!, offsets: offsets(0..<6), iFeatures: features(0..<6))
        try s.finish(video: v1.id!)
        let other = try started(s, video("/v/b.mp4"), m)
        try s.append(video: other.id!, offsets: offsets(0..<3), iFeatures: features(0..<3))
        try s.finish(video: other.id!)
        let before = try snapshot(v1.id!) + snapshot(other.id!)

        let v2 = try started(s, video(hash: "new"), m)
        try s.append(video: v2.id!, offsets: offsets(0..<3), iFeatures: features(0..<3, tag: 1))
        try s.fail(video: v2.id!, error: "decoding failed at 0:01.5")
        XCTAssertEqual(try snapshot(v1.id!) + snapshot(other.id!), before, "ready videos untouched, byte for byte")
        XCTAssertEqual(try s.readyVideo(path: "/v/a.mp4").contentHash, "old")
        let failed = try s.video(id: v2.id!)
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.error, "decoding failed at 0:01.5")
        XCTAssertEqual(try s.stats().failedVideos, 1)
        XCTAssertThrowsError(try s.append(video: v2.id!, offsets: offsets(0..<3), iFeatures: features(0..<3)))
        XCTAssertThrowsError(try s.finish(video: v2.id!), "a failed attempt cannot become ready")
        XCTAssertEqual(try s.verifyBlobs(), [])
        // A failed first ingest of a new file leaves no queryable trace either.
        let v3 = try started(s, video("/v/c.mp4"), m)
        try s.append(video: v3.id!, offsets: offsets(0..<3), iFeatures: features(0..<3))
        try s.fail(video: v3.id!, error: "bad input")
        XCTAssertEqual(try s.videos(status: .ready).map(\.path), ["/v/a.mp4", "/v/b.mp4"])
        XCTAssertEqual(try snapshot(v1.id!) + snapshot(other.id!), before)
        // Retrying the file replaces the failed attempt.
        let retry = try started(s, video(hash: "new"), m)
        XCTAssertEqual(retry.frameCount, 0)
        XCTAssertThrowsError(try s.video(id: v2.id!))
    }

    func testModelMismatchNamesBothHashes() throws {
        let s = try SQLiteStore(url: url)
        let m = try model(s, weights: "aaaa")
        XCTAssertEqual(
            try s.bindModel(
                name: "tiny", config: "{}", weightsSha256: "aaaa", tokenizerSha256: "t2", embedDim: Self.dim
            ).id, m.id)
        XCTAssertEqual(
            try DatabaseQueue(path: url.path).read {
                try String.fetchOne($0, sql: "SELECT tokenizer_sha256 FROM models")
            }, "t2", "a new residual tokenizer is recorded")
        for attempt in [
            { _ = try self.model(s, weights: "bbbb") },
            {
                _ = try SQLiteStore(url: self.url).bindModel(
                    name: "x", config: "{}", weightsSha256: "bbbb", tokenizerSha256: "", embedDim: 4)
            },
        ] {
            XCTAssertThrowsError(try attempt()) { e in
                XCTAssertEqual(e as? StoreError, .modelMismatch(path: self.url.path, expected: "aaaa", found: "bbbb"))
                XCTAssertTrue(
                    "\(e)".contains("aaaa") && "\(e)".contains("bbbb") && "\(e)".contains(self.url.path), "\(e)")
            }
        }
        var forged = m
        forged.weightsSha256 = "bbbb"
        XCTAssertThrowsError(try s.begin(video(), model: forged)) { e in
            XCTAssertEqual(e as? StoreError, .modelMismatch(path: self.url.path, expected: "aaaa", found: "bbbb"))
        }
        XCTAssertEqual(try s.videos(), [])
    }

    // MARK: Queries

    func testRangeQueriesAndTheSearchMatrix() throws {
        let s = try SQLiteStore(url: url)
        let m = try model(s)
        let a = try started(s, video("/v/a.mp4"), m)
        for r in [0..<5, 5..<11, 11..<12, 12..<20] {
            try s.append(video: a.id!, offsets: offsets(r), iFeatures: features(r))
        }
        try s.finish(video: a.id!)
        let b = try started(s, video("/v/b.mp4", n: 0, codec: .i8), m)
        try s.append(video: b.id!, offsets: offsets(0..<4), iFeatures: features(0..<4, n: 0))
        try s.finish(video: b.id!)
        let c = try started(s, video("/v/c.mp4"), m)  // still indexing: not in the matrix
        try s.append(video: c.id!, offsets: offsets(0..<3), iFeatures: features(0..<3))

        for r in [0..<20, 4..<6, 5..<5, 10..<13, 18..<100, 11..<12] {
            let clamped = max(0, r.lowerBound)..<min(20, max(r.lowerBound, r.upperBound))
            XCTAssertEqual(try s.frameOffsets(video: a.id!, range: r), offsets(clamped), "\(r)")
            XCTAssertEqual(
                try s.iFeatures(video: a.id!, frames: r).map(\.index), features(clamped).map(\.index), "\(r)")
            XCTAssertEqual(
                try s.iFeatures(video: a.id!, frames: r).map(\.vector), features(clamped).map(\.vector), "\(r)")
        }
        XCTAssertThrowsError(try s.frameOffsets(video: 999, range: 0..<1)) { e in
            self.assertStoreError(e) { if case .unknownVideo = $0 { true } else { false } }
        }

        let all = try readyIFeatures(s)
        let expected =
            features(0..<20).map { (a.id!, $0.index, $0.vector) }
            + features(0..<4, n: 0).map { (b.id!, $0.index, $0.vector) }
        XCTAssertEqual(all.map(\.video), expected.map(\.0))
        XCTAssertEqual(all.map(\.index), expected.map(\.1))
        for (row, e) in zip(all, expected) {
            XCTAssertEqual(row.vector.count, Self.dim)
            if e.0 == a.id {
                XCTAssertEqual(row.vector, e.2)
            } else {
                XCTAssertGreaterThan(cosine(row.vector, e.2), 0.999)
            }
        }
    }

    func testFrameLayoutIsTheOneRuleForKindAndAnchor() {
        let l = FrameLayout(n: 2)
        XCTAssertEqual((0..<7).map { l.kind(of: $0) }, [.i, .p, .p, .i, .p, .p, .i])
        XCTAssertEqual((0..<7).map { l.anchor(of: $0) }, [0, 0, 0, 3, 3, 3, 6])
        XCTAssertEqual((0..<7).filter(l.isIFrame).map(l.lastFrame(anchoredOn:)), [2, 5, 8])
        XCTAssertEqual((0..<8).map { l.iFrameCount(frames: $0) }, [0, 1, 1, 1, 2, 2, 2, 3])
        for n in 0..<5 {
            let l = FrameLayout(n: n)
            for lo in 0..<12 {
                for hi in lo..<14 {
                    XCTAssertEqual(
                        Array(l.iFrames(in: lo..<hi)), (lo..<hi).filter { l.kind(of: $0) == .i }, "n \(n) \(lo)..<\(hi)"
                    )
                }
            }
            XCTAssertEqual(l.iFrameCount(frames: 100), (0..<100).filter { l.kind(of: $0) == .i }.count)
        }
        XCTAssertTrue(FrameLayout(n: 2).isIFrame(6))
        XCTAssertEqual(video(n: 3).layout.anchor(of: 7), 4)
    }

    /// The request budget's bound: no window of consecutive frames, wherever it starts, holds
    /// more P-frames than the layout says.
    func testMaxPFramesBoundsEveryWindowOfTheLayout() {
        for n in 0..<5 {
            let l = FrameLayout(n: n)
            for length in 0..<15 {
                let worst = (0..<12).map { start in (start..<(start + length)).filter { !l.isIFrame($0) }.count }.max()!
                XCTAssertEqual(l.maxPFrames(inAnyRunOf: length), worst, "n \(n) length \(length)")
            }
        }
    }

    // MARK: Concurrency

    func testReadersWorkWhileAWriteTransactionIsOpen() throws {
        let s = try SQLiteStore(url: url)
        let m = try model(s)
        let v = try started(s, video(), m)
        try s.append(video: v.id!, offsets: offsets(0..<3), iFeatures: features(0..<3))
        try s.finish(video: v.id!)
        let w = try started(s, video("/v/b.mp4"), m)
        // Another connection (think: an ingest in another process) holds the write lock, mid-chunk.
        let writer = try DatabaseQueue(path: url.path)
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let done = expectation(description: "writer")
        let url = self.url
        Thread {
            do {
                try writer.write { db in
                    try db.execute(sql: "UPDATE videos SET updated_at = 1 WHERE path = '/v/b.mp4'")
                    entered.signal()
                    release.wait()
                }
            } catch { XCTFail("writer: \(error) (\(url.path))") }
            done.fulfill()
        }.start()
        entered.wait()
        XCTAssertEqual(try s.iFeatures(video: v.id!, frames: 0..<3).count, 1, "read during an open write transaction")
        XCTAssertEqual(try readyIFeatures(s).count, 1)
        XCTAssertEqual(try s.stats().videos, 1)
        XCTAssertEqual(
            try SQLiteStore.openReadOnly(url: url).videos(status: .ready).count, 1, "a second reader process")
        release.signal()
        wait(for: [done], timeout: 10)
        try s.append(video: w.id!, offsets: offsets(0..<3), iFeatures: features(0..<3))
        XCTAssertEqual(try s.video(id: w.id!).frameCount, 3)
    }

    // MARK: Size

    func testBytesPerVideoHour() throws {
        // One hour at 2 fps (7200 frames), N = 2 (2400 I-features), 512-d unit-norm features,
        // 30 chunks of 240 frames, a 25 fps stream's time base and 2 s GOPs.
        let dense = Double(7200 * 512 * 4)
        var figures: [FeatureCodec: Double] = [:]
        for codec in [FeatureCodec.f16, .i8, .f32] {
            let u = dir.appendingPathComponent("\(codec).rstore")
            let s = try SQLiteStore(url: u)
            let m = try s.bindModel(
                name: "ViT-B/32", config: "{}", weightsSha256: String(repeating: "a", count: 64),
                tokenizerSha256: String(repeating: "b", count: 64), embedDim: 512)
            let rec = VideoRecord(
                path: "/archive/2024/hour.mp4", contentHash: String(repeating: "c", count: 64), size: 1 << 30,
                mtime: 1.7e9,
                duration: 3600, timeBaseNum: 1, timeBaseDen: 12800, fps: 2, n: 2, p: 0.85, strategy: "motion",
                codec: codec,
                info: #"{"codec":"h264","width":1920,"height":1080,"fps":25}"#)
            guard case .resume(let v) = try s.begin(rec, model: m) else { return XCTFail() }
            var rng = SystemRandomNumberGenerator()
            for first in stride(from: 0, to: 7200, by: 240) {
                let o = Self.realisticOffsets(first..<first + 240)
                let f = o.map(\.index).filter { v.layout.kind(of: $0) == .i }.map { k in
                    let x = (0..<512).map { _ in Float.random(in: -1...1, using: &rng) }
                    let norm = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    return (k, x.map { $0 / norm })
                }
                try s.append(video: v.id!, offsets: o, iFeatures: f)
            }
            try s.finish(video: v.id!, expectedFrames: 7200)
            let st = try s.stats()
            XCTAssertEqual(st.frames, 7200)
            XCTAssertEqual(st.iFrames, 2400)
            XCTAssertEqual(st.hours, 1)
            XCTAssertEqual(st.denseFloat32BytesPerHour, dense)
            figures[codec] = st.bytesPerHour
            let tables = (st.tableBytes ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                separator: " ")
            print(
                String(
                    format:
                        """
                        bytes per video-hour %@: %.0f (%.3f MB; 1/%.1f of dense float32 %.0f) features %lld, offsets \
                        %lld, file %lld; tables: %@
                        """,
                    codec.rawValue, st.bytesPerHour, st.bytesPerHour / 1e6, dense / st.bytesPerHour, dense,
                    st.featureBytes, st.offsetBytes, st.fileBytes, tables))
            XCTAssertLessThan(Double(st.offsetBytes), 0.02 * Double(st.featureBytes), "offsets are a small fraction")
            XCTAssertEqual(try s.verifyBlobs(), [])
        }
        XCTAssertLessThanOrEqual(figures[.i8]!, dense / 10, "i8 stores at most 1/10 of dense float32")
        XCTAssertLessThanOrEqual(figures[.f16]!, dense / 5)
    }
}

func cosine(_ a: [Float], _ b: [Float]) -> Float {
    let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
    return dot / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
}
