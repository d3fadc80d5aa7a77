import CLIP
import Foundation
import Store
import Tensor
import TestSupport
import Timeline
import XCTest

@testable import ResidualStore

/// Stage 1 on the FAISS index: the wrapper itself, the index file (never trusted), and the
/// index following the store through adds, re-indexes and deletes in agreement with the scan.
final class Stage1ANNTests: XCTestCase {
    // MARK: The wrapper

    func testWrapperTrainsAddsSearchesRemovesAndRoundTrips() throws {
        let dim = 16
        let n = 600
        var rng = SplitMix(seed: 5)
        let rows = (0..<n).map { _ in VectorMath.normalized((0..<dim).map { _ in rng.normal() }) }
        let ids = (0..<n).map { Stage1ANNIDs.id(video: Int64($0 % 7 + 1), frame: $0) }
        let index = try FaissIndex(dim: dim, factory: "IVF4,Flat")
        XCTAssertFalse(index.isTrained)
        XCTAssertThrowsError(
            try index.add(rows.flatMap { $0 }, ids: ids), "adding before training is an error, not a crash")
        try index.train(rows.flatMap { $0 })
        try index.add(rows.flatMap { $0 }, ids: ids)
        XCTAssertEqual(index.count, n)
        XCTAssertEqual(index.lists, 4)
        XCTAssertEqual(index.codeSize, dim * 4)

        // Every list probed over flat codes: the exact top 10 by inner product (brute force).
        let q = VectorMath.normalized((0..<dim).map { _ in rng.normal() })
        var scored: [(id: Int64, score: Float)] = []
        for i in 0..<n { scored.append((ids[i], VectorMath.cosine(rows[i], q))) }
        let exact = scored.sorted { $0.score > $1.score }.prefix(10)
        let hits = try index.search(q, k: 10, nprobe: 4)
        XCTAssertEqual(hits.map(\.id), exact.map(\.id))
        for (h, e) in zip(hits, exact) { XCTAssertEqual(h.score, e.score, accuracy: 1e-4) }

        // Removing two videos' rows: exactly theirs go.
        let removed = try index.remove(groups: [2, 5], shift: Stage1ANNIDs.shift)
        XCTAssertEqual(removed, ids.filter { [2, 5].contains(Stage1ANNIDs.video($0)) }.count)
        let all = try index.search(q, k: n, nprobe: 4)
        XCTAssertEqual(Set(all.map(\.id)), Set(ids.filter { ![2, 5].contains(Stage1ANNIDs.video($0)) }))

        // Serialised and read back: the same answers.
        let bytes = try index.serialized()
        let back = try bytes.withUnsafeBytes { try FaissIndex(serialized: $0) }
        XCTAssertEqual(back.count, index.count)
        XCTAssertEqual(try back.search(q, k: 10, nprobe: 4).map(\.id), try index.search(q, k: 10, nprobe: 4).map(\.id))

        // Hostile bytes: errors, never a crash.
        for bad in [Data(), Data("garbage".utf8), bytes.prefix(bytes.count / 2), Data(repeating: 0xff, count: 64)] {
            XCTAssertThrowsError(try bad.withUnsafeBytes { try FaissIndex(serialized: $0) })
        }
        XCTAssertThrowsError(try FaissIndex(dim: dim, factory: "NotAnIndex"))
        XCTAssertThrowsError(try index.search([1, 2], k: 3, nprobe: 1))
    }

    func testQuantisedIndexFindsTheNearestRows() throws {
        let dim = 32
        let n = 2000
        var rng = SplitMix(seed: 8)
        let rows = (0..<n).map { _ in VectorMath.normalized((0..<dim).map { _ in rng.normal() }) }
        let index = try FaissIndex(dim: dim, factory: "IVF8,SQ8")
        try index.train(rows.flatMap { $0 })
        try index.add(rows.flatMap { $0 }, ids: (0..<n).map(Int64.init))
        XCTAssertEqual(index.codeSize, dim)
        var found = 0
        for i in 0..<20 {
            // A stored row plus a little noise: its own id must come back first.
            let q = VectorMath.normalized(rows[i * 50].map { $0 + 0.05 * rng.normal() })
            if try index.search(q, k: 1, nprobe: 8).first?.id == Int64(i * 50) { found += 1 }
        }
        XCTAssertGreaterThanOrEqual(found, 19)
    }

    // MARK: The engine

    /// A library over a store holding synthetic videos (I-features only, no files).
    struct Fixture {
        let dir: URL
        let storeURL: URL
        let model: CLIPModel
        var rng = SplitMix(seed: 11)

        init() throws {
            dir = try TempDirectory.make("ann")
            storeURL = dir.appendingPathComponent("a.rstore")
            model = try TinyCLIP.model.get()
        }

        func open(
            _ mode: Stage1Mode, videos: Int = 1000, threshold: Int? = nil, videosPerResult: Int = 4,
            maxCandidateRows: Int? = nil
        ) throws -> Library {
            var c = Library.Configuration()
            c.frameTierBytes = 0
            c.stage1.mode = mode
            c.stage1.factory = "IVF4,Flat"
            c.stage1.nprobe = 4
            c.stage1.minHits = 1_000_000
            c.stage1.minVideos = videos
            c.stage1.videosPerResult = videosPerResult
            if let maxCandidateRows { c.stage1.maxCandidateRows = maxCandidateRows }
            if let threshold { c.stage1.annThreshold = threshold }
            return try Library(store: storeURL, model: model, configuration: c)
        }

        /// Stores a video of `frames` sampled frames (N = 2): a scene drifting from a random start.
        mutating func add(_ lib: Library, path: String, frames: Int) throws -> Int64 {
            let dim = model.config.embedDim
            let v = VideoRecord(
                path: path, contentHash: UUID().uuidString, size: 0, mtime: 0, duration: Double(frames) / 2,
                timeBaseNum: 1,
                timeBaseDen: 1000, fps: 2, n: 2, p: 0.85, strategy: "random", codec: .f16, info: "{}")
            guard case .resume(let row) = try lib.store.begin(v, model: lib.modelRecord, lease: nil) else {
                throw XCTSkip("store refused")
            }
            var vec = (0..<dim).map { _ in rng.normal() }
            var feats: [(index: Int, vector: [Float])] = []
            for k in stride(from: 0, to: frames, by: 3) {
                for j in 0..<dim { vec[j] += 0.4 * rng.normal() }
                feats.append((k, vec))
            }
            let offsets = (0..<frames).map {
                FrameOffsetRecord(index: $0, pts: Int64($0) * 500, time: Double($0) / 2, seekPTS: 0)
            }
            try lib.store.append(video: row.id!, offsets: offsets, iFeatures: feats, shotStarts: [], lease: nil)
            try lib.store.finish(video: row.id!, expectedFrames: frames, lease: nil, damage: nil)
            return row.id!
        }
    }

    /// The index holds exactly the ready videos' I-features, and the approximate plan (every
    /// list probed, every video a candidate) equals the exact scan's, after each change.
    func assertAgrees(_ f: Fixture, _ why: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let exact = try f.open(.exact)
        let ann = try f.open(.ann)
        let dim = f.model.config.embedDim
        var rng = SplitMix(seed: 99)
        for _ in 0..<3 {
            let q = VectorMath.normalized((0..<dim).map { _ in rng.normal() })
            let e = try exact.stage1Plan(query: q, k: 5)
            let a = try ann.stage1Plan(query: q, k: 5)
            XCTAssertEqual(e.mode, Stage1Mode.exact, why, file: file, line: line)
            XCTAssertEqual(a.mode, Stage1Mode.ann, why, file: file, line: line)
            XCTAssertEqual(a.candidates, e.candidates, why, file: file, line: line)
        }
        let state = try XCTUnwrap(ann.stage1ANN.state, file: file, line: line)
        let index = try XCTUnwrap(state.index, file: file, line: line)
        let stored = try exact.matrix().rows.map { Stage1ANNIDs.id(video: $0.video, frame: $0.frame) }
        let q = [Float](repeating: 1 / Float(dim).squareRoot(), count: dim)
        XCTAssertEqual(
            Set(try index.search(q, k: index.count + 5, nprobe: 4).map(\.id)), Set(stored), why, file: file, line: line)
        XCTAssertEqual(index.count, stored.count, why, file: file, line: line)
        XCTAssertTrue(ann.stage1IndexWarnings.isEmpty, "\(why): \(ann.stage1IndexWarnings)", file: file, line: line)
    }

    func testAddReindexAndDeleteKeepTheIndexInAgreementWithTheScan() throws {
        var f = try Fixture()
        defer { TempDirectory.remove(f.dir) }
        let lib = try f.open(.ann)
        let a = try f.add(lib, path: "/v/a.mp4", frames: 300)
        _ = try f.add(lib, path: "/v/b.mp4", frames: 240)
        let c = try f.add(lib, path: "/v/c.mp4", frames: 180)
        try assertAgrees(f, "three videos")

        // One long-lived library follows the store too (its in-memory index is updated).
        let dim = f.model.config.embedDim
        let q = VectorMath.normalized((0..<dim).map { Float($0 % 3) - 1 })
        XCTAssertEqual(
            try lib.stage1Plan(query: q, k: 3).candidates, try f.open(.exact).stage1Plan(query: q, k: 3).candidates)

        _ = try f.add(lib, path: "/v/d.mp4", frames: 360)
        try assertAgrees(f, "a fourth added")
        XCTAssertTrue(try lib.delete(videoID: a))
        try assertAgrees(f, "the first deleted")
        // Re-indexed: the old row goes, a new row (new id, new features) comes.
        XCTAssertTrue(try lib.delete(videoID: c))
        _ = try f.add(lib, path: "/v/c.mp4", frames: 210)
        _ = try f.add(lib, path: "/v/e.mp4", frames: 150)
        try assertAgrees(f, "one re-indexed, one added")
        XCTAssertEqual(
            try lib.stage1Plan(query: q, k: 3).candidates, try f.open(.exact).stage1Plan(query: q, k: 3).candidates,
            "the long-lived library followed every change")
    }

    /// Candidate videos are read from the store two at a time: a damaged one among them is
    /// named and left out, the others answer exactly as the scan does without it.
    func testADamagedCandidateIsNamedAndTheOthersAnswer() throws {
        var f = try Fixture()
        defer { TempDirectory.remove(f.dir) }
        let lib = try f.open(.ann)
        var ids: [Int64] = []
        for i in 0..<5 { ids.append(try f.add(lib, path: "/v/\(i).mp4", frames: 240)) }
        let dim = f.model.config.embedDim
        let q = VectorMath.normalized((0..<dim).map { Float($0 % 5) - 2 })
        _ = try lib.stage1Plan(query: q, k: 3)  // the index is built from sound bytes
        let r = try ExternalCommand.capture(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["sqlite3", f.storeURL.path, "UPDATE chunks SET features = X'0102' WHERE video_id = \(ids[2])"])
        XCTAssertEqual(r.status, 0, String(decoding: r.stderr, as: UTF8.self))
        let ann = try f.open(.ann)
        let plan = try ann.stage1Plan(query: q, k: 3)
        XCTAssertEqual(plan.videosScored, 4)
        XCTAssertFalse(plan.candidates.contains { $0.videoID == ids[2] })
        XCTAssertTrue(ann.stage1Counters.skipped.contains { $0.contains("/v/2.mp4") }, "\(ann.stage1Counters)")
        XCTAssertEqual(plan.candidates, try f.open(.exact).stage1Plan(query: q, k: 3).candidates)
    }

    /// One query's candidates hold at most `maxCandidateRows` I-features (the best video
    /// always): long videos cannot make a query read and hold without bound.
    func testCandidatesAreBoundedByTheirRows() throws {
        XCTAssertEqual(Stage1ANNIDs.withinRows([4, 2, 9], max: 150, rows: { _ in 80 }), [4])
        XCTAssertEqual(Stage1ANNIDs.withinRows([4, 2, 9], max: 160, rows: { _ in 80 }), [4, 2])
        XCTAssertEqual(Stage1ANNIDs.withinRows([4, 2], max: 10, rows: { _ in 80 }), [4], "the best whatever its size")
        var f = try Fixture()
        defer { TempDirectory.remove(f.dir) }
        let lib = try f.open(.ann)
        for i in 0..<5 { _ = try f.add(lib, path: "/v/\(i).mp4", frames: 240) }  // 80 I-features each
        let dim = f.model.config.embedDim
        let q = VectorMath.normalized((0..<dim).map { Float($0 % 7) - 3 })
        XCTAssertEqual(try f.open(.ann).stage1Plan(query: q, k: 3).videosScored, 5)
        let bounded = try f.open(.ann, maxCandidateRows: 200).stage1Plan(query: q, k: 3)
        XCTAssertEqual(bounded.videosScored, 2)
        XCTAssertEqual(bounded.rowsScored, 160)
    }

    func testDamagedOrForeignIndexFileIsRebuiltWithAWarning() throws {
        var f = try Fixture()
        defer { TempDirectory.remove(f.dir) }
        let lib = try f.open(.ann)
        for i in 0..<3 { _ = try f.add(lib, path: "/v/\(i).mp4", frames: 240) }
        try assertAgrees(f, "built")
        let file = URL(fileURLWithPath: f.storeURL.path + ".ann")
        let good = try Data(contentsOf: file)
        let dim = f.model.config.embedDim
        let q = VectorMath.normalized((0..<dim).map { Float(($0 * 5) % 7) - 3 })
        let expected = try f.open(.exact).stage1Plan(query: q, k: 4).candidates

        func reopen(_ bytes: Data, expect cause: String, line: UInt = #line) throws {
            try bytes.write(to: file)
            let l = try f.open(.ann)
            XCTAssertEqual(try l.stage1Plan(query: q, k: 4).candidates, expected, cause, line: line)
            XCTAssertTrue(
                l.stage1IndexWarnings.contains { $0.contains(cause) && $0.contains("rebuilding") },
                "\(cause): \(l.stage1IndexWarnings)", line: line)
            // Rebuilt and rewritten: the next process loads it without a warning.
            let next = try f.open(.ann)
            XCTAssertEqual(try next.stage1Plan(query: q, k: 4).candidates, expected, line: line)
            XCTAssertEqual(next.stage1IndexWarnings, [], line: line)
        }
        var flipped = good
        flipped[flipped.count - 9] ^= 0x41
        try reopen(flipped, expect: "checksum mismatch")
        try reopen(good.prefix(Stage1ANNFile.headerSize - 3), expect: "shorter than the header")
        try reopen(good.prefix(good.count - 100), expect: "body of")
        // Another model's file: stale.
        var foreign = good
        foreign.replaceSubrange(56..<120, with: MatrixFile.modelBytes("another-model"))
        try reopen(foreign, expect: "another model")
        // The checksum is no defence against a crafted file: FAISS's own parse must fail cleanly.
        var crafted = good
        let tableEnd = Stage1ANNFile.headerSize + 3 * 20
        for i in tableEnd..<(tableEnd + 4) { crafted[i] = 0x5a }
        let sum = Stage1ANNFile.checksum(
            table: crafted[Stage1ANNFile.headerSize..<tableEnd], faiss: crafted[tableEnd...])
        withUnsafeBytes(of: sum.littleEndian) { crafted.replaceSubrange(48..<56, with: $0) }
        try reopen(crafted, expect: "FAISS read failed")
    }

    func testBelowTheThresholdMomentsAreTheExactScans() throws {
        var f = try Fixture()
        defer { TempDirectory.remove(f.dir) }
        let lib = try f.open(.exact)
        for i in 0..<4 { _ = try f.add(lib, path: "/v/\(i).mp4", frames: 270) }
        let rows = try lib.matrix().rows.count
        for text in ["a red car", "people talking"] {
            let exact = try lib.searchReport(text, k: 3)
            let auto = try f.open(.auto, threshold: rows + 1).searchReport(text, k: 3)
            XCTAssertEqual(exact.stage1, .exact)
            XCTAssertEqual(auto.stage1, .exact, "below the threshold")
            XCTAssertEqual(auto.moments, exact.moments)
            XCTAssertFalse(
                FileManager.default.fileExists(atPath: f.storeURL.path + ".ann"), "no index below the threshold")
            let above = try f.open(.auto, threshold: rows).searchReport(text, k: 3)
            XCTAssertEqual(above.stage1, .ann, "at the threshold")
            XCTAssertEqual(
                above.moments, exact.moments, "every list probed and every video a candidate: the same moments")
            try FileManager.default.removeItem(atPath: f.storeURL.path + ".ann")
        }
    }

    /// A filtered query on the index never falls back to the whole matrix: a filter admitting
    /// few videos scores them whole (the scan's moments exactly); a wide one takes the index's
    /// best admitted videos, each scored within its span (the scan's moments of those videos).
    func testFilteredQueriesOnTheIndexAgreeWithTheFilteredScan() throws {
        var f = try Fixture()
        defer { TempDirectory.remove(f.dir) }
        let lib = try f.open(.exact)
        var ids: [Int64] = []
        for i in 0..<6 { ids.append(try f.add(lib, path: i < 3 ? "/news/\(i).mp4" : "/film/\(i).mp4", frames: 240)) }
        let exact = try f.open(.exact)
        let few = try f.open(.ann, videos: 3, videosPerResult: 1)
        let dim = f.model.config.embedDim
        var rng = SplitMix(seed: 5)
        let filters = [
            SearchFilter(videoIDs: [ids[1], ids[4]]),
            SearchFilter(pathPrefix: "/news"),
            SearchFilter(videoIDs: [ids[0], ids[2], ids[5]], from: 20, to: 80),
            SearchFilter(from: 30),
            SearchFilter(videoIDs: [999]),
        ]
        for (n, filter) in filters.enumerated() {
            let q = VectorMath.normalized((0..<dim).map { _ in rng.normal() })
            let e = try exact.stage1Plan(query: q, k: 1, filter: filter)
            let a = try few.stage1Plan(query: q, k: 1, filter: filter)
            XCTAssertEqual(a.mode, .ann, "filter \(n)")
            XCTAssertEqual(a.allowed, e.allowed, "filter \(n): the same admitted spans")
            if (e.allowed?.count ?? 6) <= 3 {
                XCTAssertEqual(a.candidates, e.candidates, "filter \(n): few admitted videos are scored whole")
            } else {
                let chosen = Set(a.candidates.map(\.videoID))
                XCTAssertEqual(chosen.count, 3, "filter \(n): the limit of candidate videos")
                XCTAssertTrue(chosen.isSubset(of: Set(e.allowed!.keys)), "filter \(n): only admitted videos")
                XCTAssertEqual(
                    a.candidates, e.candidates.filter { chosen.contains($0.videoID) },
                    "filter \(n): each candidate video scored within its span as the scan does")
            }
        }
        XCTAssertNil(few.stage1.lock.withLock { few.stage1.current }, "filtered queries built no full matrix")
    }

    /// `prepareStage1` does the index's work before any query: the file is written, and a
    /// query of a new process finds it up to date (nothing trained or added, no warning).
    func testPrepareBringsTheIndexUpToDateBeforeAnyQuery() throws {
        var f = try Fixture()
        defer { TempDirectory.remove(f.dir) }
        let lib = try f.open(.exact)
        for i in 0..<3 { _ = try f.add(lib, path: "/v/\(i).mp4", frames: 240) }
        let rows = try lib.matrix().rows.count
        let annFile = f.storeURL.path + ".ann"

        let exact = try f.open(.exact)
        XCTAssertEqual(try exact.prepareStage1(indexOnly: true).mode, nil, "an exact library has no index")
        XCTAssertEqual(try exact.prepareStage1().mode, .exact)
        XCTAssertEqual(try exact.prepareStage1().rows, rows)
        XCTAssertFalse(FileManager.default.fileExists(atPath: annFile))

        let p = try f.open(.ann).prepareStage1(indexOnly: true)
        XCTAssertEqual(p.mode, .ann)
        XCTAssertEqual(p.rows, rows)
        XCTAssertTrue(FileManager.default.fileExists(atPath: annFile), "written beside the store")
        let written = try Data(contentsOf: URL(fileURLWithPath: annFile))
        let next = try f.open(.ann)
        let q = VectorMath.normalized((0..<f.model.config.embedDim).map { Float($0 % 5) - 2 })
        XCTAssertEqual(
            try next.stage1Plan(query: q, k: 3).candidates, try exact.stage1Plan(query: q, k: 3).candidates)
        XCTAssertEqual(next.stage1IndexWarnings, [])
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: annFile)), written, "the query found it up to date")
    }
}
