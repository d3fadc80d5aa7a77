import Foundation
import GRDB
import TestSupport
import Video
import XCTest

/// The store through the real binary: kill -9 at any moment of an ingest, then resume.
final class IndexCommandTests: CLITestCase {
    override var tempPrefix: String { "index" }

    func committedFrames(_ store: URL) -> Int {
        guard let q = try? DatabaseQueue(path: store.path) else { return 0 }
        return
            (try? q.read {
                try Int.fetchOne($0, sql: "SELECT COALESCE(MAX(frame_count), 0) FROM videos WHERE status = 'indexing'")
                    ?? 0
            }) ?? 0
    }

    func testKilledIngestResumesWithoutDuplicatesOrGaps() throws {
        let video = dir.appendingPathComponent("long.mp4")
        try ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "90", "-c:v", "libx264", "-preset", "ultrafast",
            "-g", "50", "-pix_fmt", "yuv420p", video.path,
        ])
        let store = dir.appendingPathComponent("lib.rstore")
        let args = [
            "index", "--model", RStoreProcess.tinyModel.path, "--store", store.path, "--chunk-frames", "9", video.path,
        ]

        // Kill -9 as soon as some chunks are committed (and not finished).
        let p = Process()
        p.executableURL = RStoreProcess.binary
        p.arguments = args
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while committedFrames(store) < 27 && p.isRunning && Date() < deadline { usleep(2000) }
        XCTAssertTrue(p.isRunning, "ingest finished before it could be killed; make the video longer")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let before = committedFrames(store)
        XCTAssertGreaterThanOrEqual(before, 27)

        // Not queryable while incomplete.
        let early = try RStoreProcess.run([
            "search", "--model", RStoreProcess.tinyModel.path, "--store", store.path, "x", "--json",
        ])
        XCTAssertEqual(early.status, 0, early.stderr)
        XCTAssertTrue(early.stdout.contains("\"moments\":[]"), early.stdout)

        let resumed = try RStoreProcess.run(args + ["--json"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("\"outcome\":\"resumed\""), resumed.stdout)

        // Every sampled frame exactly once, with the offsets a fresh pass gives.
        let expected = try VideoReader(url: video).sampleOffsets(fps: 2)
        let out = try RStoreProcess.run([
            "embed", "--model", RStoreProcess.tinyModel.path, "--store", store.path, video.path,
        ])
        XCTAssertEqual(out.status, 0, out.stderr)
        let rows = out.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        XCTAssertEqual(rows.map { $0["index"] as? Int }, expected.map(\.index))
        XCTAssertEqual(rows.map { $0["time"] as? Double }, expected.map(\.time))
        XCTAssertEqual(rows.filter { $0["kind"] as? String == "I" }.count, (expected.count + 2) / 3)

        let again = try RStoreProcess.run(args + ["--json"])
        XCTAssertTrue(again.stdout.contains("\"outcome\":\"unchanged\""), again.stdout)
        let verify = try RStoreProcess.run(["verify", "--model", RStoreProcess.tinyModel.path, "--store", store.path])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
    }

    func testBadFilesAreReportedAndOthersGoOn() throws {
        let good = dir.appendingPathComponent("good.mp4")
        try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "3", "-pix_fmt", "yuv420p", good.path])
        let fake = dir.appendingPathComponent("fake.mp4")
        try Data("this is text".utf8).write(to: fake)
        let store = dir.appendingPathComponent("lib.rstore")
        let out = try RStoreProcess.run([
            "index", "--model", RStoreProcess.tinyModel.path, "--store", store.path, dir.path, "/no/such.mp4",
        ])
        XCTAssertEqual(out.status, 1)
        XCTAssertTrue(out.stderr.contains("fake.mp4"), out.stderr)
        XCTAssertTrue(out.stderr.contains("/no/such.mp4: no such file"), out.stderr)
        XCTAssertTrue(out.stdout.contains("1 indexed"), out.stdout)

        // Errors of the query commands: clear message, non-zero exit.
        let m = ["--model", RStoreProcess.tinyModel.path, "--store", store.path]
        let unknown = try RStoreProcess.run(["embed"] + m + ["/no/such.mp4"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("no video /no/such.mp4"), unknown.stderr)
        let range = try RStoreProcess.run(["embed"] + m + [good.path, "--from", "50", "--to", "60"])
        XCTAssertNotEqual(range.status, 0)
        XCTAssertTrue(range.stderr.contains("outside the video"), range.stderr)
        let empty = try RStoreProcess.run(["search"] + m + ["   "])
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(empty.stderr.contains("query text is empty"), empty.stderr)
        let notStore = try RStoreProcess.run(["stats", "--model", RStoreProcess.tinyModel.path, "--store", fake.path])
        XCTAssertNotEqual(notStore.status, 0)
        XCTAssertTrue(notStore.stderr.contains("not an SQLite database"), notStore.stderr)
        XCTAssertEqual(try String(contentsOf: fake, encoding: .utf8), "this is text")
        let ok = try RStoreProcess.run(["search"] + m + ["a test pattern", "-k", "2"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("good.mp4"), ok.stdout)
    }
}
