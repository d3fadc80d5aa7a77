import Foundation
import PostgresTestSupport
import Store
import StorePostgres
import TestSupport
import XCTest

/// `--root NAME=PATH` on every command that reads a store: the same store opened by "machines"
/// that mount the archive in different folders, and the errors when a root is missing or a
/// queued path tries to leave its root.
final class LibraryRootsCommandTests: CLITestCase {
    override var tempPrefix: String { "roots" }
    var model: String { RStoreProcess.tinyModel.path }

    func testEveryCommandResolvesStoredPathsThroughItsOwnRoots() throws {
        let a = dir.appendingPathComponent("A")
        let b = dir.appendingPathComponent("B")
        try FileManager.default.createDirectory(
            at: a.appendingPathComponent("clips"), withIntermediateDirectories: true)
        try ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "4", "-pix_fmt", "yuv420p",
            a.appendingPathComponent("clips/v.mp4").path,
        ])
        let store = dir.appendingPathComponent("lib.rstore").path
        let env = ["HOME": dir.path]
        let common = ["--model", model, "--store", store, "--frame-tier-mb", "0"]
        let indexed = try RStoreProcess.run(
            ["index"] + common + ["--root", "archive=\(a.path)", a.path], environment: env)
        XCTAssertEqual(indexed.status, 0, indexed.stderr)
        try FileManager.default.copyItem(at: a, to: b)

        func embed(_ extra: [String]) throws -> RStoreProcess.Output {
            try RStoreProcess.run(["embed"] + common + extra + ["archive:clips/v.mp4"], environment: env)
        }
        let onA = try embed(["--root", "archive=\(a.path)"])
        let onB = try embed(["--root", "archive=\(b.path)"])
        XCTAssertEqual(onA.status, 0, onA.stderr)
        XCTAssertTrue(onA.stdout.contains("\"kind\":\"P\""))
        XCTAssertEqual(onB.stdout, onA.stdout, "the same dense embeddings from the other mount")
        let verify = try RStoreProcess.run(["verify"] + common + ["--root", "archive=\(b.path)"], environment: env)
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)

        let none = try embed([])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("lies under library root `archive`, which is not mounted here"), none.stderr)
        let search = try RStoreProcess.run(["search"] + common + ["test pattern", "--json"], environment: env)
        XCTAssertEqual(search.status, 0, "stage 1 needs no file: \(search.stderr)")
        XCTAssertTrue(search.stdout.contains("archive:clips/v.mp4"), search.stdout)
        let badRoot = try RStoreProcess.run(
            ["embed"] + common + ["--root", "ar chive=\(b.path)", "1"], environment: env)
        XCTAssertNotEqual(badRoot.status, 0)
        XCTAssertTrue(badRoot.stderr.contains("expected NAME=PATH"), badRoot.stderr)
    }

    func testWorkerFailsAQueuedPathThatLeavesItsRoot() throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase("roots")
        let root = dir.appendingPathComponent("archive")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "2", "-pix_fmt", "yuv420p",
            dir.appendingPathComponent("secret.mp4").path,
        ])
        let pg = try PostgresStore(url: url, localCache: dir.appendingPathComponent("cache"))
        defer { pg.close() }
        // Rows another machine (or an attacker with queue access) wrote.
        let n = try pg.enqueue(root: "archive", paths: ["../secret.mp4", "/etc/passwd"])
        XCTAssertEqual(n, 2)
        let worker = try RStoreProcess.run(
            [
                "worker", "--model", model, "--store", url, "--root", "archive=\(root.path)",
                "--idle-exit", "0.5", "--poll", "0.1", "--frame-tier-mb", "0",
            ], environment: ["HOME": dir.path])
        XCTAssertEqual(worker.status, 0, worker.stderr)
        XCTAssertEqual(try pg.queueCounts().failed, 2)
        XCTAssertTrue(worker.stderr.contains("refused: it contains `..`"), worker.stderr)
        XCTAssertTrue(worker.stderr.contains("a path under a root must be relative"), worker.stderr)
        XCTAssertEqual(try pg.videos(), [], "nothing indexed")
    }
}
