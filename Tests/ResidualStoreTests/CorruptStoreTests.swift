import Foundation
import Store
import TestSupport
import XCTest

@testable import ResidualStore

/// Damaged stored bytes never trap: each kind is corrupted in a real store, and the library
/// keeps answering for the other videos while the damaged one gets a typed error naming it.
final class CorruptStoreTests: XCTestCase {
    var dir: URL!
    var storeURL: URL!
    /// The video whose rows each test damages, and the one that stays sound.
    var damaged: URL!
    var sound: URL!

    override func setUp() async throws {
        dir = try TempDirectory.make("corrupt")
        storeURL = dir.appendingPathComponent("c.rstore")
        damaged = dir.appendingPathComponent("damaged.mp4")
        sound = dir.appendingPathComponent("sound.mp4")
        for (url, source) in [(damaged!, "testsrc2"), (sound!, "mandelbrot")] {
            try ExternalCommand.ffmpeg([
                "-f", "lavfi", "-i", "\(source)=size=160x120:rate=10", "-t", "6",
                "-pix_fmt", "yuv420p", "-c:v", "libx264", "-g", "20", url.path,
            ])
        }
        let lib = try open()
        let summary = try await lib.index([damaged, sound])
        XCTAssertEqual(summary.indexed, 2)
    }

    override func tearDown() async throws {
        TempDirectory.remove(dir)
    }

    func open() throws -> Library { try Library(store: storeURL, model: TinyCLIP.model.get()) }

    func sql(_ statement: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try ExternalCommand.capture(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["sqlite3", "-cmd", ".timeout 20000", storeURL.path, statement])
        XCTAssertEqual(r.status, 0, String(decoding: r.stderr, as: UTF8.self), file: file, line: line)
    }

    var damagedID: Int64 { get throws { try open().video(damaged.path).id! } }

    /// Search answers from the sound video only, and names the damaged one where it says anything.
    func assertSearchSurvives(_ lib: Library, file: StaticString = #filePath, line: UInt = #line) throws {
        let moments = try lib.search("a test pattern", k: 5)
        XCTAssertFalse(moments.isEmpty, "the sound video still answers", file: file, line: line)
        XCTAssertTrue(moments.allSatisfy { $0.path == sound.path }, "\(moments.map(\.path))", file: file, line: line)
    }

    func testAFeatureBlobOfAnotherWidthLeavesTheVideoOutOfSearch() throws {
        let id = try damagedID
        let dim = try open().embedDim
        // A well-formed blob, but of vectors one value wider than the model's.
        let blob = try FeatureCodec.f16.encode([Float](repeating: 0.5, count: 3 * (dim + 1)), dim: dim + 1)
        try sql(
            "UPDATE chunks SET features = X'\(blob.map { String(format: "%02x", $0) }.joined())' WHERE video_id = \(id)"
        )
        try? FileManager.default.removeItem(atPath: storeURL.path + ".matrix")
        let lib = try open()
        try assertSearchSurvives(lib)
        XCTAssertTrue(
            lib.stage1Counters.skipped.contains { $0.contains(damaged.path) }, "\(lib.stage1Counters.skipped)")
        // The range query of that video is a typed error naming it, not a trap.
        XCTAssertThrowsError(try lib.embeddings(lib.video(id: id), from: 0, to: 6)) { e in
            guard case StoreError.corruptBlob = e else { return XCTFail("\(e)") }
            XCTAssertEqual(LayerFailure(e)?.code, "corrupt_store")
            XCTAssertTrue("\(e)".contains(self.damaged.path), "\(e)")
        }
    }

    func testDamagedColumnsAreCorruptRowsNotTraps() throws {
        let id = try damagedID
        for (column, value) in [
            ("n", "-1"), ("fps", "0"), ("fps", "'nan'"), ("p", "7"), ("frame_count", "-5"),
            ("time_base_den", "0"), ("shot_starts", "X'00'"),
        ] {
            // A writer that bypasses the schema's CHECKs (another tool, a hand edit, an attacker).
            try sql("PRAGMA ignore_check_constraints = ON; UPDATE videos SET \(column) = \(value) WHERE id = \(id)")
            let lib = try open()
            try assertSearchSurvives(lib)
            XCTAssertFalse(try lib.videos().contains { $0.id == id }, "\(column) = \(value): listed")
            XCTAssertEqual(try lib.stats().videos, 1, "\(column) = \(value): stats count the sound video only")
            XCTAssertThrowsError(try lib.video(id: id), "\(column) = \(value)") { e in
                XCTAssertEqual(LayerFailure(e)?.code, "corrupt_store", "\(column) = \(value): \(e)")
            }
            XCTAssertTrue(
                try lib.verify(sample: 0, minCosine: 0.99).problems.contains { $0.contains(damaged.path) },
                "\(column) = \(value): verify names it")
            try sql(
                """
                UPDATE videos SET n = 2, fps = 2, p = 0.85, frame_count = 12, time_base_den = 12800, shot_starts = \
                NULL WHERE id = \(id)
                """
            )
        }
    }

    func testAnOffsetsBlobThatEndsEarlyIsCorruptNotAShortList() throws {
        let id = try damagedID
        try sql("UPDATE chunks SET offsets = substr(offsets, 1, 6) WHERE video_id = \(id)")
        let lib = try open()
        try assertSearchSurvives(lib)
        XCTAssertThrowsError(try lib.embeddings(lib.video(id: id), from: 0, to: 6)) { e in
            XCTAssertEqual(LayerFailure(e)?.code, "corrupt_store", "\(e)")
        }
    }

    func testAMatrixHeaderWithAHugeRowCountIsRebuiltNotACrashLoop() throws {
        let file = URL(fileURLWithPath: storeURL.path + ".matrix")
        let lib = try open()
        let before = try lib.matrix()
        var bytes = try Data(contentsOf: file)
        // rows u64 sits after magic, format, dim and videos (16 bytes in).
        for i in 16..<24 { bytes[i] = 0xff }
        try bytes.write(to: file)
        XCTAssertNil(MatrixFile.read(file, dim: before.dim, model: try TinyCLIP.model.get().weightsSHA256))
        for attempt in 0..<2 {  // every restart: rebuilt, then read back
            let fresh = try open()
            XCTAssertEqual(try fresh.matrix().rows, before.rows, "start \(attempt)")
            XCTAssertEqual(Set(try fresh.search("a test pattern", k: 5).map(\.path)).count, 2)
        }
        XCTAssertNotNil(
            MatrixFile.read(file, dim: before.dim, model: try TinyCLIP.model.get().weightsSHA256), "rewritten")
    }

    func testMatrixRowsThatDoNotMatchTheVideoAreReadAgainFromTheStore() throws {
        // A file with a valid checksum whose rows point past the video's frames (a writer bug or
        // a hand-made file): the stored rows win.
        let lib = try open()
        let built = try lib.matrix()
        let file = URL(fileURLWithPath: storeURL.path + ".matrix")
        let read = try XCTUnwrap(MatrixFile.read(file, dim: built.dim, model: try TinyCLIP.model.get().weightsSHA256))
        var rows = read.matrix.rows
        rows[0].frame = 1_000_000
        let bad = IFeatureMatrix(dim: built.dim, codes: read.matrix.codes, scales: read.matrix.scales, rows: rows)
        MatrixFile.write(file, segments: read.segments, matrix: bad, model: try TinyCLIP.model.get().weightsSHA256)
        XCTAssertEqual(try open().matrix().rows, built.rows)
    }
}
