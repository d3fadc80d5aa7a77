import CLIP
import Foundation
import PostgresTestSupport
import ResidualStore
import Store
import StorePostgres
import XCTest

/// A search server on a PostgreSQL library (a long-lived `Library`) follows videos another
/// machine indexes, reading only what is new.
final class SharedSearchFollowsTests: XCTestCase {
    /// A shared database, a scratch folder and a way to open a `Library` on it as another
    /// machine would (its own local cache folder).
    struct Shared {
        let url: String
        let dir: URL
        let model: CLIPModel

        init(_ name: String) throws {
            url = try PostgresCluster.shared().createDatabase(name)
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            model = try CLIPModel(
                directory: PostgresCluster.packageRoot.appendingPathComponent("Tests/CLIPTests/Fixtures/tiny-clip"))
        }

        func open() throws -> Library {
            var c = Library.Configuration()
            c.frameTierBytes = 0
            let cache = dir.appendingPathComponent("cache-\(UUID().uuidString)")
            return try Library(
                opening: { try PostgresStore(url: url, localCache: cache) }, model: model, configuration: c)
        }

        /// A 4 s test-pattern video made by ffmpeg's lavfi source `source` (written over `name`).
        func video(_ source: String, name: String? = nil) throws -> URL {
            let v = dir.appendingPathComponent(name ?? "\(source).mp4")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [
                "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "\(source)=size=160x120:rate=10", "-t", "4",
                "-pix_fmt", "yuv420p", v.path,
            ]
            try p.run()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "ffmpeg \(source)")
            return v
        }

        func remove() { try? FileManager.default.removeItem(at: dir) }
    }

    func testASearchServerSeesVideosIndexedElsewhere() async throws {
        let shared = try Shared("follow")
        defer { shared.remove() }
        let videos = [try shared.video("testsrc2"), try shared.video("smptebars")]
        let server = try shared.open()
        let worker = try shared.open()
        _ = try await worker.index([videos[0]])
        let g1 = try server.generation()
        XCTAssertEqual(Set(try server.search("a test pattern", k: 10).map(\.path)), [videos[0].path])
        _ = try await worker.index([videos[1]])
        XCTAssertNotEqual(try server.generation(), g1, "the server can tell the library changed")
        XCTAssertEqual(
            Set(try server.search("a test pattern", k: 10).map(\.path)), Set(videos.map(\.path)),
            "the running server finds the video indexed by another process")
    }

    /// The server's stage 1 follows the generation: an unchanged library costs one generation
    /// read and no listing; a new video and a re-indexed one are the only features it reads.
    func testAServerReloadsOnlyTheVideosThatChanged() async throws {
        let shared = try Shared("incremental")
        defer { shared.remove() }
        let a = try shared.video("testsrc2", name: "a.mp4")
        let b = try shared.video("smptebars", name: "b.mp4")
        let server = try shared.open()
        let worker = try shared.open()
        _ = try await worker.index([a, b])
        let query = "a test pattern"
        XCTAssertEqual(Set(try server.search(query, k: 10).map(\.path)), [a.path, b.path])
        let first = server.stage1Counters
        XCTAssertEqual(first.listings, 1)
        XCTAssertEqual(first.videosLoaded, 2, "a cold server reads every video once")

        _ = try server.search(query, k: 10)
        _ = try server.search("something else", k: 3)
        let idle = server.stage1Counters
        XCTAssertEqual(idle.generationChecks, first.generationChecks + 2, "one generation read per query")
        XCTAssertEqual(idle.listings, first.listings, "an unchanged generation lists nothing")
        XCTAssertEqual(idle.videosLoaded, first.videosLoaded, "and reads no features")

        // Another machine indexes a third video and re-indexes `a` (new content at the same path).
        let oldA = try worker.video(a.path).id!
        let c = try shared.video("rgbtestsrc", name: "c.mp4")
        _ = try await worker.index([c])
        _ = try shared.video("mandelbrot", name: "a.mp4")
        _ = try await worker.index([a])
        let newA = try worker.video(a.path).id!
        XCTAssertNotEqual(newA, oldA, "a re-index is a new version of the path")

        let followed = try server.search(query, k: 10)
        let after = server.stage1Counters
        XCTAssertEqual(after.listings, idle.listings + 1, "one listing for the new generation")
        XCTAssertEqual(after.videosLoaded, idle.videosLoaded + 2, "only the new video and the re-indexed one are read")
        XCTAssertEqual(after.videosReused, idle.videosReused + 1, "the unchanged video's rows are kept")
        XCTAssertEqual(Set(followed.map(\.path)), [a.path, b.path, c.path])
        XCTAssertFalse(followed.contains { $0.videoID == oldA }, "the replaced version is gone")
        XCTAssertTrue(followed.contains { $0.videoID == newA })
        // Exactly the state a server started now sees.
        let fresh = try shared.open()
        XCTAssertEqual(followed, try fresh.search(query, k: 10))
        XCTAssertEqual(fresh.stage1Counters.videosLoaded, 3)
    }
}
