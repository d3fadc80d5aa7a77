import CLIP
import Foundation
import Hummingbird
import HummingbirdTesting
import ResidualStore
import Server
import TestSupport
import XCTest

/// One library shared by every server test: short generated videos in a temp "library root",
/// a file outside it, a symlink escaping it, the tiny CLIP, two videos indexed in setup.
final class ServerFixture: Sendable {
    let dir: URL
    let root: URL
    let outside: URL
    let library: Library
    let videoA: Int64
    let videoB: Int64
    static let token = "s3cret-token"

    static let shared = Task { try await ServerFixture() }

    init() async throws {
        dir = try TempDirectory.make("server")
        root = dir.appendingPathComponent("lib")
        outside = dir.appendingPathComponent("outside")
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("later"), withIntermediateDirectories: true)
        try fm.createDirectory(at: outside, withIntermediateDirectories: true)
        let enc = ["-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p"]
        try ExternalCommand.ffmpeg(
            ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "4"] + enc + [
                root.appendingPathComponent("a.mp4").path
            ])
        try ExternalCommand.ffmpeg(
            ["-f", "lavfi", "-i", "smptebars=size=160x120:rate=10", "-t", "3"] + enc + [
                root.appendingPathComponent("b.mp4").path
            ])
        try ExternalCommand.ffmpeg(
            ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "2"] + enc + [
                root.appendingPathComponent("later/c.mp4").path
            ])
        try ExternalCommand.ffmpeg(
            ["-f", "lavfi", "-i", "rgbtestsrc=size=160x120:rate=10", "-t", "2"] + enc + [
                outside.appendingPathComponent("secret.mp4").path
            ])
        try fm.createSymbolicLink(
            at: root.appendingPathComponent("escape.mp4"),
            withDestinationURL: outside.appendingPathComponent("secret.mp4"))

        let model = try TinyCLIP.model.get()
        var config = Library.Configuration()
        config.frameCacheBytes = 32 << 20
        library = try Library(store: dir.appendingPathComponent("store.rstore"), model: model, configuration: config)
        let summary = try await library.index([
            root.appendingPathComponent("a.mp4"), root.appendingPathComponent("b.mp4"),
        ])
        guard summary.indexed == 2 else { throw CocoaError(.fileReadCorruptFile) }
        let vs = try library.videos()
        videoA = vs.first { $0.path.hasSuffix("/a.mp4") }!.id!
        videoB = vs.first { $0.path.hasSuffix("/b.mp4") }!.id!
    }

    /// A library of a test's own in `dir` (the fixture's a.mp4 and b.mp4 copied and indexed),
    /// for tests that damage or delete what they serve.
    func privateLibrary(in dir: URL) async throws -> (library: Library, store: URL, a: Int64, b: Int64) {
        for name in ["a.mp4", "b.mp4"] {
            try FileManager.default.copyItem(
                at: root.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let store = dir.appendingPathComponent("private.rstore")
        let library = try Library(store: store, model: TinyCLIP.model.get())
        _ = try await library.index([dir.appendingPathComponent("a.mp4"), dir.appendingPathComponent("b.mp4")])
        return (
            library, store, try library.video(dir.appendingPathComponent("a.mp4").path).id!,
            try library.video(dir.appendingPathComponent("b.mp4").path).id!
        )
    }

    func server(token: String? = nil, roots: Bool = true, configure: (inout ServerConfiguration) -> Void = { _ in })
        throws -> RStoreServer
    {
        var c = ServerConfiguration(token: token, libraryRoots: roots ? [root] : [])
        c.thumbnailCacheBytes = 4 << 20
        configure(&c)
        return try RStoreServer(library: library, configuration: c)
    }
}

/// Runs `body` against a server through Hummingbird's router test client.
func withClient<T: Sendable>(_ server: RStoreServer, _ body: @Sendable (any TestClientProtocol) async throws -> T)
    async throws -> T
{
    let app = Application(router: server.makeRouter().router)
    return try await app.test(.router, body)
}

extension TestResponse {
    var bytes: [UInt8] { Array(body.readableBytesView) }
    var text: String { String(decoding: bytes, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:] }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }
}

/// Asserts a JSON error body with `status` (and `code` when given) and a non-empty message.
func assertError(
    _ r: TestResponse, _ status: Int, _ code: String? = nil, file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(r.status.code, status, "\(r.text)", file: file, line: line)
    XCTAssertTrue(
        r.headers[.contentType]?.hasPrefix("application/json") ?? false,
        "content type \(r.headers[.contentType] ?? "-")", file: file, line: line)
    XCTAssertFalse((r.errorMessage ?? "").isEmpty, "error message in \(r.text)", file: file, line: line)
    if let code { XCTAssertEqual(r.errorCode, code, "\(r.text)", file: file, line: line) }
}

func bearer(_ token: String) -> HTTPFields {
    var h = HTTPFields()
    h[.authorization] = "Bearer \(token)"
    return h
}
