import Foundation
import Store
import Timeline
import XCTest

/// The semantics every `FeatureStoring` backend must have, written once and run against each
/// (SQLiteConformanceTests, PostgresConformanceTests). `Backend` makes fresh, empty stores.
struct Backend {
    var name: String
    /// A new empty store, and a way to open the same store again (another process's view).
    var make: () throws -> (store: any FeatureStoring, reopen: () throws -> any FeatureStoring)
}

enum StoreConformance {
    static let dim = 8
    static let config = #"{"arch":"test","width":8}"#

    static func bind(_ s: any FeatureStoring, weights: String = "w1") throws -> ModelRecord {
        try s.bindModel(name: "test", config: config, weightsSha256: weights, tokenizerSha256: "", embedDim: dim)
    }

    static func record(_ path: String, hash: String = "h1", n: Int = 2) -> VideoRecord {
        VideoRecord(
            path: path, contentHash: hash, size: 1000, mtime: 1, duration: 30, timeBaseNum: 1, timeBaseDen: 1000,
            fps: 2, n: n, p: 0.5, strategy: "motion", codec: .f16, info: "{}", fingerprint: "fp")
    }

    /// Frames `range` of a video: offsets, and the I-features the layout asks for (values
    /// exactly representable in f16 so round trips compare equal).
    static func chunk(_ range: Range<Int>, n: Int = 2, salt: Float = 0) -> (
        [FrameOffsetRecord], [(index: Int, vector: [Float])]
    ) {
        let offsets = range.map {
            FrameOffsetRecord(index: $0, pts: Int64($0) * 500, time: Double($0) * 0.5, seekPTS: Int64($0 / 4) * 2000)
        }
        let layout = FrameLayout(n: n)
        let feats = range.filter { layout.kind(of: $0) == .i }.map { k in
            (index: k, vector: (0..<dim).map { Float((k * 7 + $0) % 16) / 8 + salt })
        }
        return (offsets, feats)
    }

    static func resumeRow(_ plan: StorePlan, file: StaticString = #filePath, line: UInt = #line) throws -> VideoRecord {
        guard case .resume(let v) = plan else {
            XCTFail("expected resume, got \(plan)", file: file, line: line)
            throw XCTSkip("no row")
        }
        return v
    }

    /// Indexes `path` whole (frames 0..<frames in chunks of `step`) and returns the ready row.
    @discardableResult
    static func ingest(
        _ s: any FeatureStoring, _ m: ModelRecord, _ path: String, hash: String = "h1", frames: Int = 20, step: Int = 7,
        salt: Float = 0
    ) throws -> VideoRecord {
        let v = try resumeRow(try s.begin(record(path, hash: hash), model: m, lease: nil))
        for lo in stride(from: v.frameCount, to: frames, by: step) {
            let (o, f) = chunk(lo..<min(frames, lo + step), salt: salt)
            try s.append(video: v.id!, offsets: o, iFeatures: f, lease: nil)
        }
        try s.finish(video: v.id!, expectedFrames: frames, lease: nil, damage: nil)
        return try s.video(id: v.id!)
    }

    // MARK: The checks

    static func deleteRemovesOneVersion(_ b: Backend) throws {
        let (s, reopen) = try b.make()
        let m = try bind(s)
        let a = try ingest(s, m, "/v/a.mp4", frames: 20)
        let other = try ingest(s, m, "/v/b.mp4", hash: "h2", frames: 13, salt: 1)
        let before = (try s.offsets(of: other), try s.iFeatures(of: other))
        let g0 = try s.generation()
        XCTAssertTrue(try s.delete(video: a.id!))
        XCTAssertNotEqual(try s.generation(), g0, "readers following the store see the delete")
        XCTAssertFalse(try s.delete(video: a.id!), "already gone")
        for view in [s, try reopen()] {
            XCTAssertEqual(try view.videos().map(\.path), ["/v/b.mp4"])
            XCTAssertThrowsError(try view.video(id: a.id!)) { e in
                guard case StoreError.unknownVideo? = e as? StoreError else { return XCTFail("\(e)") }
            }
            XCTAssertNil(try view.video(path: "/v/a.mp4"))
            XCTAssertTrue(try view.rawChunks(of: a).isEmpty, "its chunks went with it")
        }
        // The other video is untouched, row and blobs.
        XCTAssertEqual(try s.video(id: other.id!), other)
        XCTAssertEqual(try s.offsets(of: other), before.0)
        XCTAssertEqual(try s.iFeatures(of: other).map(\.vector), before.1.map(\.vector))
        XCTAssertEqual(try s.verifyBlobs(), s.schemaWarnings)

        // An ingest in progress under a live lease is not deleted from under it.
        let live = Lease(owner: "\(ProcessInfo.processInfo.hostName):\(getpid()):x", seconds: 30)
        let c = try resumeRow(try s.begin(record("/v/c.mp4", hash: "h3"), model: m, lease: live))
        let (o, f) = chunk(0..<7)
        try s.append(video: c.id!, offsets: o, iFeatures: f, lease: live)
        XCTAssertThrowsError(try s.delete(video: c.id!)) { e in
            guard case StoreError.leaseLost(_, _, let holder)? = e as? StoreError else { return XCTFail("\(e)") }
            XCTAssertEqual(holder, live.owner)
        }
        XCTAssertEqual(try s.rawChunks(of: try s.video(id: c.id!)).count, 1, "the ingest's chunk is still there")
        try s.append(video: c.id!, offsets: chunk(7..<20).0, iFeatures: chunk(7..<20).1, lease: live)
        try s.finish(video: c.id!, expectedFrames: 20, lease: live, damage: nil)
        XCTAssertTrue(try s.delete(video: c.id!), "once finished, it can go")
    }

    static func modelBinding(_ b: Backend) throws {
        let (s, reopen) = try b.make()
        let m = try bind(s)
        XCTAssertEqual(try bind(s).id, m.id, "binding the same model twice is one model")
        XCTAssertEqual(try reopen().model()?.weightsSha256, "w1")
        XCTAssertThrowsError(try bind(s, weights: "w2")) { e in
            guard case StoreError.modelMismatch(_, let expected, let found)? = e as? StoreError else {
                return XCTFail("\(e)")
            }
            XCTAssertEqual([expected, found], ["w1", "w2"])
        }
        XCTAssertThrowsError(
            try s.bindModel(
                name: "test", config: #"{"arch":"test","width":9}"#, weightsSha256: "w1", tokenizerSha256: "",
                embedDim: dim)
        ) { e in
            guard case StoreError.configMismatch(_, _, _, _, let d)? = e as? StoreError else { return XCTFail("\(e)") }
            XCTAssertEqual(d, ["width: 8 -> 9"])
        }
        XCTAssertThrowsError(
            try s.bindModel(name: "test", config: config, weightsSha256: "w1", tokenizerSha256: "", embedDim: dim + 1))
        XCTAssertEqual(
            try s.bindModel(name: "test", config: config, weightsSha256: "w1", tokenizerSha256: "a1", embedDim: dim)
                .tokenizerSha256, "a1",
            "a new residual tokenizer is recorded, not refused")
    }

    static func ingestAndRead(_ b: Backend) throws {
        let (s, reopen) = try b.make()
        let m = try bind(s)
        let g0 = try s.generation()
        let v = try ingest(s, m, "/v/a.mp4", frames: 20)
        XCTAssertEqual(v.status, .ready)
        XCTAssertEqual(v.frameCount, 20)
        XCTAssertNotEqual(try s.generation(), g0, "a video becoming ready changes the generation")
        let r = try reopen()
        let (o, f) = chunk(0..<20)
        XCTAssertEqual(try r.offsets(of: v), o)
        let stored = try r.iFeatures(of: v)
        XCTAssertEqual(stored.map(\.index), f.map(\.index))
        XCTAssertEqual(stored.map(\.vector), f.map(\.vector))
        XCTAssertEqual(try r.frameOffsets(video: v.id!, range: 5..<9).map(\.index), [5, 6, 7, 8])
        XCTAssertEqual(try r.iFeatures(video: v.id!, frames: 5..<13).map(\.index), [6, 9, 12])
        let matrix = try readyIFeatures(r)
        XCTAssertEqual(matrix.rows.map(\.index), f.map(\.index))
        XCTAssertEqual(matrix.vectors, f.flatMap(\.vector))
        XCTAssertEqual(try r.readyVideo(path: "/v/a.mp4").id, v.id)
        XCTAssertEqual(try r.verifyBlobs(), [])
        let st = try r.stats(tableSizes: true)
        XCTAssertEqual([st.videos, st.frames, st.iFrames, st.indexingVideos], [1, 20, 7, 0])
        XCTAssertGreaterThan(st.featureBytes, 0)
        XCTAssertEqual(try r.rawChunks(of: v).map(\.firstFrame), [0, 7, 14])
        // The same file again: nothing to do.
        guard case .unchanged(let same) = try s.begin(record("/v/a.mp4"), model: m, lease: nil) else {
            return XCTFail("expected unchanged")
        }
        XCTAssertEqual(same.id, v.id)
    }

    static func badChunksWriteNothing(_ b: Backend) throws {
        let (s, _) = try b.make()
        let m = try bind(s)
        let v = try resumeRow(try s.begin(record("/v/b.mp4"), model: m, lease: nil))
        let (o, f) = chunk(0..<6)
        XCTAssertThrowsError(
            try s.append(video: v.id!, offsets: Array(o.dropFirst()), iFeatures: Array(f.dropFirst()), lease: nil),
            "a chunk not starting at the resume point")
        XCTAssertThrowsError(
            try s.append(video: v.id!, offsets: o, iFeatures: [f[0]], lease: nil), "an I-feature missing")
        XCTAssertThrowsError(
            try s.append(
                video: v.id!, offsets: o, iFeatures: f.map { ($0.index, Array($0.vector.prefix(3))) }, lease: nil),
            "wrong dimension")
        XCTAssertThrowsError(try s.begin(record("/v/c.mp4", n: -1), model: m, lease: nil)) { e in
            XCTAssertTrue("\(e)".contains("invalid sampling") || "\(e)".contains("N"), "\(e)")
        }
        XCTAssertEqual(try s.video(id: v.id!).frameCount, 0)
        XCTAssertEqual(try s.rawChunks(of: v), [])
        XCTAssertThrowsError(
            try s.finish(video: v.id!, expectedFrames: 6, lease: nil, damage: nil), "finishing with frames missing")
        XCTAssertEqual(try s.video(id: v.id!).status, .indexing)
    }

    /// Under a lease (the worker's path: PostgreSQL commits a chunk in one statement built from
    /// the row as this process last wrote it), bad chunks still write nothing and a row changed
    /// through another connection is read again, never overwritten.
    static func chunksUnderLeaseSeeOtherWriters(_ b: Backend) throws {
        let (s, reopen) = try b.make()
        let m = try bind(s)
        let lease = Lease(owner: "thishost:3:3", seconds: 30)
        let v = try resumeRow(try s.begin(record("/v/l.mp4"), model: m, lease: lease))
        let (o, f) = chunk(0..<4)
        XCTAssertThrowsError(
            try s.append(video: v.id!, offsets: o, iFeatures: [f[0]], lease: lease), "an I-feature missing"
        ) { e in
            XCTAssertTrue("\(e)".contains("needs I-features"), "\(e)")
        }
        XCTAssertThrowsError(
            try s.append(video: v.id!, offsets: Array(o.dropFirst()), iFeatures: Array(f.dropFirst()), lease: lease),
            "not at the resume point")
        try s.append(video: v.id!, offsets: o, iFeatures: f, lease: lease)
        // The same lease commits frames 4..<8 through another connection (another store object).
        let other = try reopen()
        let (o2, f2) = chunk(4..<8)
        try other.append(video: v.id!, offsets: o2, iFeatures: f2, lease: lease)
        XCTAssertThrowsError(
            try s.append(video: v.id!, offsets: o2, iFeatures: f2, lease: lease), "frames 4..<8 are committed already"
        ) { e in
            XCTAssertTrue("\(e)".contains("8 frames are committed"), "\(e)")
        }
        let (o3, f3) = chunk(8..<12)
        try s.append(video: v.id!, offsets: o3, iFeatures: f3, lease: lease)
        // Another lease took the row: ours can no longer write it.
        let thief = Lease(owner: "thishost:4:4", seconds: 30)
        XCTAssertThrowsError(
            try s.append(video: v.id!, offsets: chunk(12..<16).0, iFeatures: chunk(12..<16).1, lease: thief)
        ) { e in
            guard case StoreError.leaseLost? = e as? StoreError else { return XCTFail("\(e)") }
        }
        try s.finish(video: v.id!, expectedFrames: 12, lease: lease, damage: nil)
        XCTAssertEqual(try s.offsets(of: try s.video(id: v.id!)).map(\.index), Array(0..<12), "every frame once")
        XCTAssertEqual(try s.verifyBlobs(), [])
    }

    static func resumeAfterCrash(_ b: Backend) throws {
        let (s, reopen) = try b.make()
        let m = try bind(s)
        let dead = Lease(owner: "otherhost:1:1", seconds: 0.3)
        let v = try resumeRow(try s.begin(record("/v/r.mp4"), model: m, lease: dead))
        let (o, f) = chunk(0..<8)
        try s.append(video: v.id!, offsets: o, iFeatures: f, lease: dead)
        // The first ingest "dies": another process sees the lease live, then expired.
        let other = try reopen()
        let next = Lease(owner: "thishost:2:2", seconds: 30)
        guard case .busy = try other.begin(record("/v/r.mp4"), model: m, lease: next) else {
            return XCTFail("a live lease must make the row busy")
        }
        Thread.sleep(forTimeInterval: 0.5)
        let resumed = try resumeRow(try other.begin(record("/v/r.mp4"), model: m, lease: next))
        XCTAssertEqual(resumed.id, v.id)
        XCTAssertEqual(resumed.frameCount, 8, "resumes from the last committed chunk")
        XCTAssertThrowsError(
            try s.append(video: v.id!, offsets: chunk(8..<12).0, iFeatures: chunk(8..<12).1, lease: dead)
        ) { e in
            guard case StoreError.leaseLost? = e as? StoreError else { return XCTFail("\(e)") }
        }
        XCTAssertFalse(try s.heartbeat(video: v.id!, lease: dead))
        XCTAssertTrue(try other.heartbeat(video: v.id!, lease: next))
        let (o2, f2) = chunk(8..<12)
        try other.append(video: v.id!, offsets: o2, iFeatures: f2, lease: next)
        try other.finish(video: v.id!, expectedFrames: 12, lease: next, damage: #"{"x":1}"#)
        let done = try s.video(id: v.id!)
        XCTAssertEqual(done.status, .ready)
        XCTAssertNil(done.leaseOwner)
        XCTAssertEqual(done.damage, #"{"x":1}"#)
        XCTAssertEqual(try s.offsets(of: done).map(\.index), Array(0..<12), "every frame once")
        XCTAssertEqual(try s.verifyBlobs(), [])
    }

    static func atomicReindexAndFail(_ b: Backend) throws {
        let (s, _) = try b.make()
        let m = try bind(s)
        let v1 = try ingest(s, m, "/v/x.mp4", hash: "h1", frames: 12)
        let g1 = try s.generation()
        // A new version: indexed beside the old one, which stays queryable until it finishes.
        let v2 = try resumeRow(try s.begin(record("/v/x.mp4", hash: "h2"), model: m, lease: nil))
        XCTAssertNotEqual(v2.id, v1.id)
        let (o, f) = chunk(0..<9, salt: 1)
        try s.append(video: v2.id!, offsets: o, iFeatures: f, lease: nil)
        XCTAssertEqual(try s.readyVideo(path: "/v/x.mp4").id, v1.id)
        XCTAssertEqual(try readyIFeatures(s).rows.count, 4)
        XCTAssertEqual(try s.generation(), g1, "an unfinished re-index changes nothing readers see")
        // A failed attempt drops its partial data and leaves the ready version exactly as it was.
        try s.fail(video: v2.id!, error: "decoder exploded", lease: nil)
        XCTAssertEqual(try s.video(id: v2.id!).status, .failed)
        XCTAssertEqual(try s.rawChunks(of: v2), [])
        XCTAssertEqual(try s.readyVideo(path: "/v/x.mp4").id, v1.id)
        // A complete re-index replaces the old version in one step.
        let v3 = try ingest(s, m, "/v/x.mp4", hash: "h3", frames: 9, salt: 1)
        XCTAssertNotEqual(try s.generation(), g1)
        XCTAssertEqual(try s.videos(status: nil).map(\.id), [v3.id], "the old version and the failed attempt are gone")
        XCTAssertEqual(try readyIFeatures(s).vectors, f.flatMap(\.vector))
        XCTAssertThrowsError(try s.video(id: v1.id!)) { e in
            guard case StoreError.unknownVideo? = e as? StoreError else { return XCTFail("\(e)") }
        }
    }

    /// Every ready video's I-features, read as the engine builds its search matrix: the list of
    /// ready videos, then each one's features.
    static func readyIFeatures(_ s: any FeatureStoring) throws -> (rows: [(video: Int64, index: Int)], vectors: [Float])
    {
        var rows: [(video: Int64, index: Int)] = []
        var vectors: [Float] = []
        for v in try s.videos(status: .ready) {
            for f in try s.iFeatures(of: v) {
                rows.append((v.id!, f.index))
                vectors += f.vector
            }
        }
        return (rows, vectors)
    }

    /// A reader polling while a writer re-indexes over and over sees the old version or the
    /// new one, whole, never both or neither.
    static func readersConsistentWhileWritersCommit(_ b: Backend) throws {
        let (s, reopen) = try b.make()
        let m = try bind(s)
        try ingest(s, m, "/v/y.mp4", hash: "h0", frames: 30, step: 5)
        let reader = try reopen()
        let stop = ManagedFlag()
        let errors = ManagedFlag()
        let t = Thread {
            var seen = 0
            while !stop.value {
                do {
                    let ready = try reader.videos(status: .ready)
                    guard ready.count == 1 else {
                        errors.set()
                        continue
                    }
                    let features = try reader.iFeatures(of: ready[0])
                    if [10, 7].contains(features.count) {
                        seen += 1
                    } else if (try? reader.video(id: ready[0].id!)) != nil {
                        errors.set()  // still there, yet not whole: a torn read
                    }
                    // Else replaced between the two reads: the engine reads the list again.
                } catch StoreError.unknownVideo, StoreError.notReady {
                    // Replaced between the two reads, as above.
                } catch { errors.set() }
            }
        }
        t.start()
        for round in 1...6 {
            try ingest(s, m, "/v/y.mp4", hash: "h\(round)", frames: round % 2 == 0 ? 30 : 20, step: 5)
        }
        stop.set()
        while t.isExecuting { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertFalse(errors.value, "a reader saw a half-committed re-index or failed")
    }
}

final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var v = false
    var value: Bool { lock.withLock { v } }
    func set() { lock.withLock { v = true } }
}
