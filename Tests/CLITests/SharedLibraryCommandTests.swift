import Foundation
import PostgresTestSupport
import Store
import StorePostgres
import TestSupport
import XCTest

/// A library shared through PostgreSQL, driven as users drive it: `rstore enqueue`, three
/// `rstore worker` processes (one killed with -9 mid-video), `rstore search`, `rstore store copy`.
final class SharedLibraryCommandTests: CLITestCase {
    override var tempPrefix: String { "shared" }
    var model: String { RStoreProcess.tinyModel.path }

    /// Six short generated videos, each a different lavfi source.
    func makeVideos() throws -> URL {
        let videos = dir.appendingPathComponent("archive/clips")
        try FileManager.default.createDirectory(at: videos, withIntermediateDirectories: true)
        for (i, src) in ["testsrc2", "smptebars", "rgbtestsrc", "testsrc", "mandelbrot", "yuvtestsrc"].enumerated() {
            try ffmpeg([
                "-f", "lavfi", "-i", "\(src)=size=160x120:rate=10", "-t", "8", "-pix_fmt", "yuv420p",
                videos.appendingPathComponent("v\(i).mp4").path,
            ])
        }
        return videos
    }

    struct SearchOut: Decodable {
        struct M: Decodable, Equatable {
            var path: String
            var start: Double
            var end: Double
            var score: Float
        }
        var moments: [M]
    }

    /// Searches with the archive mounted (`--root`): stage 2 reads the files.
    func search(_ store: String, _ text: String) throws -> [SearchOut.M] {
        let out = try RStoreProcess.run(
            [
                "search", "--model", model, "--store", store, "--root", root, "--frame-tier-mb", "0", text, "-k", "5",
                "--json",
            ],
            environment: ["HOME": dir.path])
        XCTAssertEqual(out.status, 0, out.stderr)
        return try JSONDecoder().decode(SearchOut.self, from: Data(out.stdout.utf8)).moments
    }

    var root: String { "lib=\(dir.appendingPathComponent("archive").path)" }

    func testThreeWorkersOneKilledEveryVideoOnceSameSearchAsSQLite() throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase("workers")
        let videos = try makeVideos()
        let env = ["HOME": dir.path, "RSTORE_LEASE_SECONDS": "2"]
        let settings = ["--fps", "4", "--chunk-frames", "3", "--frame-tier-mb", "0"]

        let queued = try RStoreProcess.run(
            ["enqueue", "--store", url, "--root", root, videos.path, "--json"], environment: env)
        XCTAssertEqual(queued.status, 0, queued.stderr)
        XCTAssertTrue(queued.stdout.contains("\"added\":6"), queued.stdout)
        let again = try RStoreProcess.run(
            ["enqueue", "--store", url, "--root", root, videos.path, "--json"], environment: env)
        XCTAssertTrue(again.stdout.contains("\"added\":0"), "a queued path is not queued twice: \(again.stdout)")

        var workers: [Process] = []
        for i in 0..<3 {
            let p = Process()
            p.executableURL = RStoreProcess.binary
            p.arguments =
                ["worker", "--model", model, "--store", url, "--root", root, "--idle-exit", "4", "--poll", "0.2"]
                + settings
            var e = ProcessInfo.processInfo.environment
            e["RSTORE_MODEL"] = nil
            for (k, v) in env { e[k] = v }
            p.environment = e
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle(forWritingAtPath: "/dev/null")
            if i == 0 {
                let log = dir.appendingPathComponent("worker0.log")
                FileManager.default.createFile(atPath: log.path, contents: nil)
                p.standardError = try FileHandle(forWritingTo: log)
            }
            try p.run()
            workers.append(p)
        }
        // Kill worker 0 with -9 once it has committed part of a video (not all of it).
        let watcher = try PostgresStore(url: url, localCache: dir.appendingPathComponent("cache"))
        defer { watcher.close() }
        let victim = workers[0].processIdentifier
        var killedMidVideo = false
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, workers[0].isRunning {
            let mine = try watcher.videos(status: .indexing).filter {
                ($0.leaseOwner ?? "").contains(":\(victim):") && $0.frameCount > 0
            }
            if !mine.isEmpty {
                kill(victim, SIGKILL)
                killedMidVideo = true
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertTrue(killedMidVideo, "worker 0 was never seen mid-video")
        for p in workers { p.waitUntilExit() }
        XCTAssertEqual(workers[0].terminationReason, .uncaughtSignal)
        XCTAssertEqual(workers[1].terminationStatus, 0)
        XCTAssertEqual(workers[2].terminationStatus, 0)

        // Every video ready exactly once, every frame present once, the queue drained.
        let all = try watcher.videos(status: nil)
        XCTAssertEqual(all.count, 6, "\(all.map { "\($0.path) \($0.status)" })")
        XCTAssertTrue(all.allSatisfy { $0.status == .ready })
        XCTAssertEqual(Set(all.map(\.path)).count, 6)
        XCTAssertTrue(
            all.allSatisfy { $0.path.hasPrefix("lib:clips/v") }, "stored relative to the root: \(all.map(\.path))")
        XCTAssertEqual(try watcher.verifyBlobs(), [])
        for v in all { XCTAssertEqual(try watcher.offsets(of: v).map(\.index), Array(0..<v.frameCount), v.path) }
        let counts = try watcher.queueCounts()
        XCTAssertEqual(counts.done, 6, "\(counts)")

        // The same videos in a SQLite store answer searches the same.
        let sqlite = dir.appendingPathComponent("local.rstore").path
        let indexed = try RStoreProcess.run(
            ["index", "--model", model, "--store", sqlite, "--root", root] + settings + [videos.path], environment: env)
        XCTAssertEqual(indexed.status, 0, indexed.stderr)
        for text in ["colour bars", "a fractal"] {
            let a = try search(url, text)
            let b = try search(sqlite, text)
            XCTAssertFalse(a.isEmpty)
            XCTAssertEqual(a, b, text)
        }
        XCTAssertEqual(
            try SQLiteStore(path: sqlite).videos().map(\.frameCount).sorted(), all.map(\.frameCount).sorted())

        // Move the SQLite library into a new PostgreSQL database; verify it there.
        let copyTarget = try cluster.createDatabase("copy")
        let copy = try RStoreProcess.run(["store", "copy", sqlite, copyTarget, "--json"], environment: env)
        XCTAssertEqual(copy.status, 0, copy.stderr)
        XCTAssertTrue(copy.stdout.contains("\"copied\":6"), copy.stdout)
        XCTAssertFalse(
            copy.stdout.contains(cluster.password) || copy.stderr.contains(cluster.password),
            "the password is never printed")
        let verify = try RStoreProcess.run(
            ["verify", "--model", model, "--store", copyTarget, "--root", root, "--frame-tier-mb", "0"],
            environment: env)
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertEqual(try search(copyTarget, "colour bars"), try search(sqlite, "colour bars"))
    }
}
