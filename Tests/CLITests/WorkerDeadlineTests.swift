import Foundation
import PostgresTestSupport
import Store
import StorePostgres
import TestSupport
import XCTest

/// `rstore worker --job-deadline`: a job still running at its deadline is given up (lease no
/// longer renewed, ingest cancelled, attempt recorded as failed), given back to the queue, and
/// failed for good after `--max-attempts` claims. The job is kept "running" by a live lease on
/// its video held by this test (another ingest), which the worker waits for, as it would for a
/// file that takes forever.
final class WorkerDeadlineTests: CLITestCase {
    override var tempPrefix: String { "worker-deadline" }

    func testJobPastItsDeadlineIsGivenUpThenFailedAfterItsAttempts() throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase("deadline")
        let clips = dir.appendingPathComponent("archive/clips")
        try FileManager.default.createDirectory(at: clips, withIntermediateDirectories: true)
        try ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "3", "-pix_fmt", "yuv420p",
            clips.appendingPathComponent("seed.mp4").path,
        ])
        try FileManager.default.copyItem(
            at: clips.appendingPathComponent("seed.mp4"), to: clips.appendingPathComponent("held.mp4"))
        let model = RStoreProcess.tinyModel.path
        let root = "lib=\(dir.appendingPathComponent("archive").path)"
        let env: [String: String?] = ["HOME": dir.path, "RSTORE_MODEL": nil]
        let indexed = try RStoreProcess.run(
            [
                "index", "--model", model, "--store", url, "--root", root, "--frame-tier-mb", "0",
                clips.appendingPathComponent("seed.mp4").path,
            ], environment: env)
        XCTAssertEqual(indexed.status, 0, indexed.stderr)

        // held.mp4 (the same content) begun by "another ingest" whose lease stays live.
        let pg = try PostgresStore(url: url, localCache: dir.appendingPathComponent("cache"))
        let modelRow = try XCTUnwrap(try pg.model())
        var record = try XCTUnwrap(try pg.video(path: "lib:clips/seed.mp4"))
        record.path = "lib:clips/held.mp4"
        record.id = nil
        let lease = Lease.make(seconds: 600)
        guard case .resume(let row) = try pg.begin(record, model: modelRow, lease: lease), let heldRow = row.id else {
            return XCTFail("expected a new row for held.mp4")
        }
        XCTAssertEqual(try pg.enqueue(root: "lib", paths: ["clips/held.mp4"]), 1)

        let p = Process()
        p.executableURL = RStoreProcess.binary
        p.arguments = [
            "worker", "--model", model, "--store", url, "--root", root, "--frame-tier-mb", "0",
            "--job-deadline", "0.5", "--max-attempts", "2", "--idle-exit", "1", "--poll", "0.2",
        ]
        var e = ProcessInfo.processInfo.environment
        e["RSTORE_MODEL"] = nil
        e["HOME"] = dir.path
        p.environment = e
        let log = dir.appendingPathComponent("worker.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: log)
        let t0 = Date()
        try p.run()
        while p.isRunning, Date().timeIntervalSince(t0) < 90 { Thread.sleep(forTimeInterval: 0.1) }
        if p.isRunning {
            p.terminate()
            p.waitUntilExit()
            return XCTFail("the worker never gave the job up")
        }
        let stderr = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        XCTAssertEqual(p.terminationStatus, 0, stderr)
        XCTAssertTrue(
            stderr.contains(
                "given back: lib:clips/held.mp4 (deadline passed after 0.5 s (--job-deadline) on attempt 1 of 2"),
            stderr)
        XCTAssertTrue(
            stderr.contains(
                "failed: lib:clips/held.mp4 (deadline passed after 0.5 s (--job-deadline) on attempt 2 of 2"), stderr)

        let job = try XCTUnwrap(try pg.jobError(1))
        XCTAssertEqual(job.status, "failed")
        XCTAssertEqual(job.attempts, 2)
        XCTAssertTrue(job.error?.contains("deadline passed") ?? false, job.error ?? "-")
        XCTAssertEqual(try pg.queueCounts().failed, 1)
        // The other ingest's row is its own: untouched, still under its lease.
        let held = try pg.video(id: heldRow)
        XCTAssertEqual(held.status, .indexing)
        XCTAssertEqual(held.leaseOwner, lease.owner)
        try pg.fail(video: heldRow, error: "test done", lease: lease)
    }
}
