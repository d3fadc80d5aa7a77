import Foundation
import TestSupport
import XCTest

/// The disk fills during an ingest's commit (a small tmpfs holds the store): the ingest fails
/// with a message that says so and names the store, nothing committed before is lost, `verify`
/// is clean, and once space is freed the same command finishes the job.
final class DiskFullTests: CLITestCase {
    override var tempPrefix: String { "diskfull" }
    var disk: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard getuid() == 0 else { throw XCTSkip("mounting a tmpfs needs root (CI runs as root)") }
        disk = dir.appendingPathComponent("disk", isDirectory: true)
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        let r = try ExternalCommand.capture(
            URL(fileURLWithPath: "/usr/bin/env"), ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", disk.path])
        guard r.status == 0 else {
            throw XCTSkip("cannot mount a tmpfs here: \(String(decoding: r.stderr, as: UTF8.self))")
        }
    }

    override func tearDownWithError() throws {
        if let disk { _ = try? ExternalCommand.capture(URL(fileURLWithPath: "/usr/bin/env"), ["umount", disk.path]) }
        try super.tearDownWithError()
    }

    func rstore(_ args: [String], store: URL) throws -> RStoreProcess.Output {
        try RStoreProcess.run(
            [args[0], "--model", RStoreProcess.tinyModel.path, "--store", store.path, "--frame-tier-mb", "0"]
                + args.dropFirst())
    }

    func freeKB() throws -> Int {
        let attrs = try FileManager.default.attributesOfFileSystem(forPath: disk.path)
        return Int((attrs[.systemFreeSize] as! NSNumber).int64Value / 1024)
    }

    func testAFullDiskFailsTheIngestCleanlyAndLosesNothing() throws {
        let clips = try ["a", "b"].map { name -> URL in
            let url = dir.appendingPathComponent("\(name).mp4")
            try ffmpeg([
                "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", name == "a" ? "6" : "40",
                "-c:v", "libx264", "-pix_fmt", "yuv420p", url.path,
            ])
            return url
        }
        let store = disk.appendingPathComponent("s.rstore")
        let first = try rstore(["index", clips[0].path], store: store)
        XCTAssertEqual(first.status, 0, first.stderr)

        // Leave about 44 KB: enough to open the store, not to commit the second video's chunks.
        let filler = disk.appendingPathComponent("filler")
        _ = FileManager.default.createFile(atPath: filler.path, contents: Data(count: max(0, try freeKB() - 44) * 1024))
        let full = try rstore(["index", "--chunk-frames", "20", clips[1].path], store: store)
        XCTAssertNotEqual(full.status, 0)
        let said = full.stdout + full.stderr
        XCTAssertTrue(
            said.contains("\(store.path): cannot write the store: the disk is full") && said.contains("MB free")
                && said.contains("what was committed before is intact"), said)

        let verify = try rstore(["verify"], store: store)
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        let listed = try rstore(["ls", "--status", "ready"], store: store)
        XCTAssertTrue(listed.stdout.contains(clips[0].path) && listed.stdout.contains("1 video(s)"), listed.stdout)

        // Space back: the same command finishes the job.
        try FileManager.default.removeItem(at: filler)
        let again = try rstore(["index", "--chunk-frames", "20", clips[1].path], store: store)
        XCTAssertEqual(again.status, 0, again.stdout + again.stderr)
        XCTAssertEqual(try rstore(["verify"], store: store).status, 0)
        XCTAssertTrue(try rstore(["ls", "--status", "ready"], store: store).stdout.contains("2 video(s)"))
    }
}
