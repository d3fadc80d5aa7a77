import Foundation
import GRDB
import Store
import TestSupport
import XCTest

/// Ingest robustness through the real binary: reconstruction memory on 4K sources, several
/// `rstore index` processes (one killed) over one folder, and `stats` on damaged/stale files.
final class IngestRobustnessCommandTests: CLITestCase {
    override var tempPrefix: String { "robust-cli" }
    var model: String { RStoreProcess.tinyModel.path }

    /// Reading P-features of a 4K clip holds model-sized inputs, not 4K frames: peak RSS of the
    /// whole `rstore embed` process stays under 300 MB while it decodes 40 sampled 4K frames
    /// (24.9 MB each as RGB: ~1 GB if they were held together, as they were).
    func testReconstructingA4KRangeStaysUnderAMemoryBound() throws {
        let video = dir.appendingPathComponent("uhd.mp4")
        try ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=3840x2160:rate=25", "-t", "4", "-c:v", "libx264", "-preset",
            "ultrafast",
            "-g", "50", "-pix_fmt", "yuv420p", video.path,
        ])
        let store = dir.appendingPathComponent("lib.rstore").path
        let index = try RStoreProcess.run([
            "index", "--model", model, "--store", store, "--fps", "10", "--strategy", "uniform", video.path,
        ])
        XCTAssertEqual(index.status, 0, index.stderr + index.stdout)

        let rss = dir.appendingPathComponent("rss.txt")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        p.arguments = [
            "-f", "%M", "-o", rss.path, RStoreProcess.binary.path, "embed", "--model", model, "--store", store,
            video.path, "--from", "0", "--to", "4",
        ]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let rows = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(
            separator: "\n")
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(rows.count, 40)
        XCTAssertEqual(rows.filter { $0.contains("\"kind\":\"P\"") }.count, 26)
        let kb = try XCTUnwrap(
            Int(String(contentsOf: rss, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        print("rstore embed over 40 frames of 4K: max RSS \(kb / 1024) MB")
        XCTAssertLessThan(kb, 300 * 1024, "peak RSS \(kb / 1024) MB")
    }

    func videoRows(_ store: URL) throws -> [Row] {
        try DatabaseQueue(path: store.path).read {
            try Row.fetchAll($0, sql: "SELECT id, path, status, frame_count, lease_owner FROM videos ORDER BY path, id")
        }
    }

    /// Three `rstore index` processes over one folder, one killed with -9 while it holds a
    /// lease with chunks committed; then one more run. Every video ends `ready` exactly once,
    /// with exactly the frames a clean single-process index stores.
    func testThreeIndexersOneKilledLeaveEveryVideoReadyOnce() throws {
        let folder = dir.appendingPathComponent("videos")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let sources = ["testsrc2", "mandelbrot", "smptebars", "rgbtestsrc"]
        for (i, src) in sources.enumerated() {
            try ffmpeg([
                "-f", "lavfi", "-i", "\(src)=size=320x240:rate=25", "-t", "24", "-c:v", "libx264", "-preset",
                "ultrafast",
                "-g", "50", "-pix_fmt", "yuv420p", folder.appendingPathComponent("v\(i).mp4").path,
            ])
        }
        let clean = dir.appendingPathComponent("clean.rstore")
        let reference = try RStoreProcess.run([
            "index", "--model", model, "--store", clean.path, "--chunk-frames", "6", folder.path,
        ])
        XCTAssertEqual(reference.status, 0, reference.stderr)

        let store = dir.appendingPathComponent("shared.rstore")
        let args = ["index", "--model", model, "--store", store.path, "--chunk-frames", "6", folder.path]
        var env = ProcessInfo.processInfo.environment
        env["RSTORE_MODEL"] = nil
        env["RSTORE_LEASE_SECONDS"] = "2"
        // Creating the store first keeps the three from racing on its migration.
        XCTAssertEqual(try RStoreProcess.run(["stats", "--model", model, "--store", store.path]).status, 0)
        var procs: [Process] = []
        var outputs: [URL] = []
        for i in 0..<3 {
            let p = Process()
            p.executableURL = RStoreProcess.binary
            p.arguments = args
            p.environment = env
            // Files, not pipes: a full pipe would stall an indexer that others wait for.
            let log = dir.appendingPathComponent("index\(i).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            p.standardOutput = handle
            p.standardError = handle
            try p.run()
            procs.append(p)
            outputs.append(log)
        }
        // Kill the first as soon as it holds a lease with chunks committed.
        let victim = procs[0]
        let mark = ":\(victim.processIdentifier):"
        let deadline = Date().addingTimeInterval(120)
        var killedAt: Row?
        while victim.isRunning && Date() < deadline {
            if let row = (try? videoRows(store))?.first(where: {
                ($0["lease_owner"] as String?)?.contains(mark) == true && ($0["frame_count"] as Int) > 0
            }) {
                kill(victim.processIdentifier, SIGKILL)
                killedAt = row
                break
            }
            usleep(5000)
        }
        victim.waitUntilExit()
        let killed = try XCTUnwrap(killedAt, "the first indexer never held a lease with committed chunks")
        print(
            """
            killed pid \(victim.processIdentifier) at \(killed["path"] as String) frame \
            \(killed["frame_count"] as Int)
            """
        )
        XCTAssertEqual(victim.terminationReason, .uncaughtSignal)

        var logs: [String] = []
        for (p, out) in zip(procs.dropFirst(), outputs.dropFirst()) {
            p.waitUntilExit()
            let text = try String(contentsOf: out, encoding: .utf8)
            logs.append(text)
            XCTAssertEqual(p.terminationStatus, 0, text)
        }
        XCTAssertTrue(logs.joined().contains("waiting: "), "a live lease is waited for and said so:\n\(logs.joined())")

        let final = try RStoreProcess.run(args + ["--json"], environment: ["RSTORE_LEASE_SECONDS": "2"])
        XCTAssertEqual(final.status, 0, final.stderr)
        XCTAssertFalse(final.stdout.contains("\"outcome\":\"failed\""), final.stdout)

        let rows = try videoRows(store)
        XCTAssertEqual(
            rows.map { $0["path"] as String }, try videoRows(clean).map { $0["path"] as String }, "one row per video")
        XCTAssertTrue(
            rows.allSatisfy { ($0["status"] as String) == "ready" && ($0["lease_owner"] as String?) == nil }, "\(rows)")

        let a = try SQLiteStore.openReadOnly(url: store)
        let b = try SQLiteStore.openReadOnly(url: clean)
        XCTAssertEqual(try a.verifyBlobs(), [])
        for (va, vb) in zip(try a.videos(), try b.videos()) {
            XCTAssertEqual(va.frameCount, vb.frameCount, va.path)
            XCTAssertEqual(try a.offsets(of: va), try b.offsets(of: vb), va.path)
            let fa = try a.iFeatures(of: va)
            let fb = try b.iFeatures(of: vb)
            XCTAssertEqual(fa.map(\.index), fb.map(\.index), va.path)
            let worst = zip(fa, fb).flatMap { zip($0.vector, $1.vector).map { abs($0 - $1) } }.max() ?? 0
            XCTAssertLessThan(worst, 1e-2, va.path)
        }
    }

    /// `rstore stats` lists damaged videos (with what was concealed) and stale ones.
    func testStatsShowsDamagedAndStaleVideos() throws {
        let good = dir.appendingPathComponent("good.mp4")
        let cut = dir.appendingPathComponent("cut.mp4")
        for url in [good, cut] {
            try ffmpeg([
                "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "6", "-c:v", "libx264", "-preset",
                "ultrafast",
                "-movflags", "+faststart", "-pix_fmt", "yuv420p", url.path,
            ])
        }
        let whole = try Data(contentsOf: cut)
        try whole.prefix(whole.count / 2).write(to: cut)
        let store = dir.appendingPathComponent("lib.rstore").path
        let strict = try RStoreProcess.run(["index", "--model", model, "--store", store, "--strict", cut.path])
        XCTAssertEqual(strict.status, 1, "--strict fails a truncated file")
        let index = try RStoreProcess.run(["index", "--model", model, "--store", store, good.path, cut.path])
        XCTAssertEqual(index.status, 0, index.stderr)
        XCTAssertTrue(index.stderr.contains("damaged, concealed: "), index.stderr)

        try ffmpeg([
            "-f", "lavfi", "-i", "mandelbrot=size=160x120:rate=25", "-t", "3", "-c:v", "libx264", "-preset",
            "ultrafast",
            "-pix_fmt", "yuv420p", "-f", "mp4", good.path,
        ])
        let text = try RStoreProcess.run(["stats", "--model", model, "--store", store])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("damaged      1 "), text.stdout)
        XCTAssertTrue(text.stdout.contains("\(cut.path): ") && text.stdout.contains("truncated at"), text.stdout)
        XCTAssertTrue(text.stdout.contains("stale        1 "), text.stdout)
        XCTAssertTrue(text.stdout.contains("\(good.path): the file changed since it was indexed ("), text.stdout)

        let json = try RStoreProcess.run(["stats", "--model", model, "--store", store, "--json"])
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let damaged = try XCTUnwrap(obj["damaged"] as? [[String: Any]])
        XCTAssertEqual(damaged.first?["path"] as? String, cut.path)
        XCTAssertNotNil((damaged.first?["damage"] as? [String: Any])?["truncated_at"])
        XCTAssertEqual((obj["stale"] as? [[String: Any]])?.first?["path"] as? String, good.path)

        // Stale videos are refused, not read.
        let embed = try RStoreProcess.run(["embed", "--model", model, "--store", store, good.path, "--to", "2"])
        XCTAssertNotEqual(embed.status, 0)
        XCTAssertTrue(embed.stderr.contains("changed since it was indexed"), embed.stderr)

        // `index --stale` re-indexes exactly the changed files.
        let reindex = try RStoreProcess.run(["index", "--model", model, "--store", store, "--stale", "--json"])
        XCTAssertEqual(reindex.status, 0, reindex.stderr)
        let files = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: Data(reindex.stdout.utf8)) as? [String: Any])?["files"]
                as? [[String: Any]])
        XCTAssertEqual(files.map { $0["path"] as? String }, [good.path])
        XCTAssertEqual(files.first?["outcome"] as? String, "indexed")
        let after = try RStoreProcess.run(["stats", "--model", model, "--store", store])
        XCTAssertTrue(after.stdout.contains("stale        0 "), after.stdout)
        XCTAssertEqual(
            try RStoreProcess.run(["embed", "--model", model, "--store", store, good.path, "--to", "2"]).status, 0)
    }
}
