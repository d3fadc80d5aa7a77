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
    func testASearchServerSeesVideosIndexedElsewhere() async throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.createDatabase("follow")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("follow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var videos: [URL] = []
        for src in ["testsrc2", "smptebars"] {
            let v = dir.appendingPathComponent("\(src).mp4")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "\(src)=size=160x120:rate=10", "-t", "4", "-pix_fmt", "yuv420p", v.path]
            try p.run(); p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            videos.append(v)
        }
        let model = try CLIPModel(directory: PostgresCluster.packageRoot.appendingPathComponent("Tests/CLIPTests/Fixtures/tiny-clip"))
        var c = Library.Configuration()
        c.frameTierBytes = 0
        let open = { try Library(opening: { try PostgresStore(url: url, localCache: dir.appendingPathComponent("cache-\(UUID().uuidString)")) }, model: model, configuration: c) }
        let server = try open()
        let worker = try open()
        _ = try await worker.index([videos[0]])
        let g1 = try server.generation()
        XCTAssertEqual(Set(try server.search("a test pattern", k: 10).map(\.path)), [videos[0].path])
        _ = try await worker.index([videos[1]])
        XCTAssertNotEqual(try server.generation(), g1, "the server can tell the library changed")
        XCTAssertEqual(Set(try server.search("a test pattern", k: 10).map(\.path)), Set(videos.map(\.path)),
                       "the running server finds the video indexed by another process")
    }
}
