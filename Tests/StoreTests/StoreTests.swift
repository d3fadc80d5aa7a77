import Foundation
import GRDB
@testable import Store
import XCTest

final class StoreTests: XCTestCase {
    var dir: URL!
    var url: URL { dir.appendingPathComponent("lib.rstore") }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rstore-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func model(_ s: FeatureStore, weights: String = "w1") throws -> ModelRecord {
        try s.bindModel(name: "tiny", config: "{}", weightsSha256: weights, tokenizerSha256: "", embedDim: 4)
    }

    func video(_ path: String = "/v/a.mp4", hash: String = "h1", n: Int = 2) -> VideoRecord {
        VideoRecord(path: path, contentHash: hash, size: 10, mtime: 0, duration: 6, timeBaseNum: 1, timeBaseDen: 90000,
                    fps: 2, n: n, p: 0.85, strategy: "motion", codec: .f16, info: "{}")
    }

    func offsets(_ range: Range<Int>) -> [FrameOffsetRecord] {
        range.map { FrameOffsetRecord(index: $0, pts: Int64($0) * 45000 + 1000, time: Double($0) / 2, seekPTS: Int64($0 / 10) * 450000 + 1000) }
    }

    func features(_ range: Range<Int>, n: Int = 2) -> [(index: Int, vector: [Float])] {
        range.filter { $0 % (n + 1) == 0 }.map { ($0, [Float($0), 1, -2, 0.5]) }
    }

    func started(_ s: FeatureStore, _ v: VideoRecord, _ m: ModelRecord) throws -> VideoRecord {
        guard case .resume(let r) = try s.begin(v, model: m) else { XCTFail("expected a fresh ingest"); throw CocoaError(.featureUnsupported) }
        return r
    }

    func testMigrationsMatchTheSQLFilesAndAreRecorded() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Migrations").standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".sql") }.sorted()
        XCTAssertEqual(Migration.embedded.map(\.name), files, "run Tools/embed-migrations.py")
        for m in Migration.embedded {
            XCTAssertEqual(m.sql, try String(contentsOf: root.appendingPathComponent(m.name), encoding: .utf8).trimmingCharacters(in: .newlines),
                           "\(m.name) differs from its embedded copy: run Tools/embed-migrations.py")
        }
        _ = try FeatureStore(url: url)
        let queue = try DatabaseQueue(path: url.path)
        let versions = try queue.read { try Int.fetchAll($0, sql: "SELECT version FROM schema_migrations ORDER BY version") }
        XCTAssertEqual(versions, Migration.embedded.map(\.version))
        _ = try FeatureStore(url: url)   // reopening applies nothing twice
    }

    func testNewerSchemaAndForeignFilesAreRefused() throws {
        _ = try FeatureStore(url: url)
        let queue = try DatabaseQueue(path: url.path)
        try queue.write { try $0.execute(sql: "INSERT INTO schema_migrations VALUES (999, '0999_future.sql', 'x', 0)") }
        XCTAssertThrowsError(try FeatureStore(url: url)) { e in
            XCTAssertEqual(e as? StoreError, .newerSchema(path: url.path, found: 999, supported: Migration.latestVersion))
            XCTAssertTrue("\(e)".contains("upgrade rstore"))
        }
        let text = dir.appendingPathComponent("notes.txt")
        try Data("hello, not a database".utf8).write(to: text)
        XCTAssertThrowsError(try FeatureStore(url: text)) { e in
            guard case .notAStore(text.path, _) = e as? StoreError else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(try String(contentsOf: text, encoding: .utf8), "hello, not a database", "left intact")
    }

    func testCodecsRoundTripWithinTheirPrecision() throws {
        var rng = SystemRandomNumberGenerator()
        let dim = 512
        let v = (0..<(3 * dim)).map { _ in Float.random(in: -2...2, using: &rng) }
        for codec in FeatureCodec.allCases {
            let (d, back) = try FeatureCodec.decode(codec.encode(v, dim: dim))
            XCTAssertEqual(d, dim)
            for r in 0..<3 {
                let a = v[r * dim..<(r + 1) * dim], b = back[r * dim..<(r + 1) * dim]
                let maxAbs = a.map(abs).max()!
                let err = zip(a, b).map { abs($0 - $1) }.max()!
                switch codec {
                case .f32: XCTAssertEqual(err, 0)
                case .f16: XCTAssertLessThanOrEqual(err, maxAbs / 1024)
                case .i8: XCTAssertLessThanOrEqual(err, maxAbs / 127 / 2 * 1.0001)
                }
                let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
                let cos = dot / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
                XCTAssertGreaterThanOrEqual(cos, 0.999, "\(codec)")
            }
        }
        let o = offsets(0..<50)
        XCTAssertEqual(try OffsetCodec.decode(OffsetCodec.encode(o)), o)
        XCTAssertLessThan(OffsetCodec.encode(o).count, 50 * 8, "regular offsets cost a few bytes a frame")
    }

    func testCorruptBlobsAreDetected() throws {
        var blob = FeatureCodec.i8.encode([1, 2, 3, 4, 5, 6, 7, 8], dim: 4)
        blob[blob.count - 1] ^= 0x40
        XCTAssertThrowsError(try FeatureCodec.decode(blob)) { XCTAssertTrue("\($0)".contains("checksum"), "\($0)") }
        XCTAssertThrowsError(try FeatureCodec.decode(Data([1, 2, 3])))
        XCTAssertThrowsError(try OffsetCodec.decode(FeatureCodec.f16.encode([1, 2], dim: 2)))

        // In a store: the error names the store, video and frame; verify lists it.
        let s = try FeatureStore(url: url)
        let m = try model(s)
        let v = try started(s, video(), m)
        try s.append(video: v.id!, offsets: offsets(0..<6), iFeatures: features(0..<6))
        try s.finish(video: v.id!)
        let queue = try DatabaseQueue(path: url.path)
        try queue.write { try $0.execute(sql: "UPDATE chunks SET features = X'0102030405' WHERE first_frame = 0") }
        XCTAssertThrowsError(try s.iFeatures(of: s.video(id: v.id!))) { e in
            guard case .corruptBlob(_, let name, 0, _) = e as? StoreError else { return XCTFail("\(e)") }
            XCTAssertTrue(name.contains("/v/a.mp4"))
        }
        XCTAssertEqual(try s.verifyBlobs().count, 1)
    }

    func testChunkedIngestResumesWithoutGapsOrDuplicates() throws {
        do {
            let s = try FeatureStore(url: url)
            let v = try started(s, video(), try model(s))
            try s.append(video: v.id!, offsets: offsets(0..<6), iFeatures: features(0..<6))
            try s.append(video: v.id!, offsets: offsets(6..<9), iFeatures: features(6..<9))
            XCTAssertEqual(try s.videos(status: .ready), [], "not queryable before it finishes")
        }   // the process "dies" here
        let s = try FeatureStore(url: url)
        guard case .resume(let v) = try s.begin(video(), model: try model(s)) else { return XCTFail() }
        XCTAssertEqual(v.frameCount, 9)
        XCTAssertThrowsError(try s.append(video: v.id!, offsets: offsets(6..<9), iFeatures: features(6..<9)), "no duplicates")
        XCTAssertThrowsError(try s.append(video: v.id!, offsets: offsets(10..<12), iFeatures: features(10..<12)), "no gaps")
        XCTAssertThrowsError(try s.append(video: v.id!, offsets: offsets(9..<12), iFeatures: []), "I-features required")
        try s.append(video: v.id!, offsets: offsets(9..<12), iFeatures: features(9..<12))
        try s.finish(video: v.id!)
        let ready = try s.readyVideo(path: "/v/a.mp4")
        XCTAssertEqual(try s.offsets(of: ready), offsets(0..<12))
        XCTAssertEqual(try s.iFeatures(of: ready).map(\.index), [0, 3, 6, 9])
        XCTAssertEqual(try s.iFeatures(of: ready)[2].vector, [6, 1, -2, 0.5])
        guard case .unchanged = try s.begin(video(), model: try model(s)) else { return XCTFail("unchanged file is skipped") }
    }

    func testReindexKeepsOldVersionUntilTheNewOneCompletesAndFailureChangesNothing() throws {
        let s = try FeatureStore(url: url)
        let m = try model(s)
        let v1 = try started(s, video(hash: "old"), m)
        try s.append(video: v1.id!, offsets: offsets(0..<3), iFeatures: features(0..<3))
        try s.finish(video: v1.id!)

        let v2 = try started(s, video(hash: "new"), m)
        try s.append(video: v2.id!, offsets: offsets(0..<3), iFeatures: features(0..<3))
        XCTAssertEqual(try s.readyVideo(path: "/v/a.mp4").contentHash, "old", "old version still served")
        try s.fail(video: v2.id!, error: "decoding failed at 0:01.5")
        XCTAssertEqual(try s.readyVideo(path: "/v/a.mp4").contentHash, "old")
        XCTAssertEqual(try s.iFeatures(of: s.readyVideo(path: "/v/a.mp4")).count, 1)

        let v3 = try started(s, video(hash: "new"), m)
        try s.append(video: v3.id!, offsets: offsets(0..<6), iFeatures: features(0..<6))
        try s.finish(video: v3.id!)
        XCTAssertEqual(try s.readyVideo(path: "/v/a.mp4").contentHash, "new")
        XCTAssertEqual(try s.videos().count, 1, "the old version and the failed attempt are gone")
    }

    func testModelMismatchNamesBothHashes() throws {
        let s = try FeatureStore(url: url)
        _ = try model(s, weights: "aaaa")
        XCTAssertThrowsError(try model(s, weights: "bbbb")) { e in
            XCTAssertEqual(e as? StoreError, .modelMismatch(path: url.path, expected: "aaaa", found: "bbbb"))
            XCTAssertTrue("\(e)".contains("aaaa") && "\(e)".contains("bbbb"))
        }
    }

    func testUnknownAndUnfinishedVideosAreReported() throws {
        let s = try FeatureStore(url: url)
        XCTAssertThrowsError(try s.readyVideo(path: "/nope.mp4")) { guard case .unknownVideo = $0 as? StoreError else { return XCTFail("\($0)") } }
        _ = try started(s, video(), try model(s))
        XCTAssertThrowsError(try s.readyVideo(path: "/v/a.mp4")) { guard case .notReady(_, _, "indexing") = $0 as? StoreError else { return XCTFail("\($0)") } }
    }

    func testReadersWorkWhileAnIngestTransactionIsOpen() throws {
        let s = try FeatureStore(url: url)
        let m = try model(s)
        let v = try started(s, video(), m)
        try s.append(video: v.id!, offsets: offsets(0..<3), iFeatures: features(0..<3))
        try s.finish(video: v.id!)
        let writer = try DatabaseQueue(path: url.path)
        let entered = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let done = expectation(description: "writer")
        Thread {
            try? writer.write { db in
                try db.execute(sql: "UPDATE videos SET updated_at = 1")
                entered.signal()
                release.wait()
            }
            done.fulfill()
        }.start()
        entered.wait()
        XCTAssertEqual(try s.iFeatures(of: s.readyVideo(path: "/v/a.mp4")).count, 1, "read during an open write transaction")
        release.signal()
        wait(for: [done], timeout: 10)
    }

    func testBytesPerVideoHour() throws {
        // One hour at 2 fps, N = 2, 512-d, random features: i8 must be <= 1/10 of dense float32.
        var figures: [FeatureCodec: Double] = [:]
        for codec in [FeatureCodec.f16, .i8] {
            let u = dir.appendingPathComponent("\(codec).rstore")
            let s = try FeatureStore(url: u)
            let m = try s.bindModel(name: "b32", config: "{}", weightsSha256: "w", tokenizerSha256: "", embedDim: 512)
            var rec = VideoRecord(path: "/hour.mp4", contentHash: "h", size: 1, mtime: 0, duration: 3600, timeBaseNum: 1, timeBaseDen: 15360,
                                  fps: 2, n: 2, p: 0.85, strategy: "motion", codec: codec, info: "{}")
            rec.duration = 3600
            guard case .resume(let v) = try s.begin(rec, model: m) else { return XCTFail() }
            var rng = SystemRandomNumberGenerator()
            for first in stride(from: 0, to: 7200, by: 240) {
                let o = (first..<first + 240).map { FrameOffsetRecord(index: $0, pts: Int64($0) * 7680, time: Double($0) / 2, seekPTS: Int64($0 / 20) * 153600) }
                let f = o.map(\.index).filter { $0 % 3 == 0 }.map { ($0, (0..<512).map { _ in Float.random(in: -0.1...0.1, using: &rng) }) }
                try s.append(video: v.id!, offsets: o, iFeatures: f)
            }
            try s.finish(video: v.id!)
            let st = try s.stats()
            XCTAssertEqual(st.frames, 7200)
            XCTAssertEqual(st.iFrames, 2400)
            figures[codec] = st.bytesPerHour
            print("bytes per video-hour \(codec.rawValue): \(Int(st.bytesPerHour)) (dense float32 \(Int(st.denseFloat32BytesPerHour)); features \(st.featureBytes), offsets \(st.offsetBytes))")
            XCTAssertEqual(st.denseFloat32BytesPerHour, 7200 * 512 * 4)
        }
        XCTAssertLessThanOrEqual(figures[.i8]!, 7200 * 512 * 4 / 10)
    }
}
