import CLIP
import Foundation
import Store
import TestSupport
import XCTest

@testable import ResidualStore

/// Paths relative to named library roots: two "machines" that mount one archive in different
/// folders share a store and get the same features and frames; a root not mounted, or a stored
/// path that tries to leave its root, is a clear error.
final class RootedPathsTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TempDirectory.make("roots") }
    override func tearDownWithError() throws { TempDirectory.remove(dir) }

    func library(roots: [String: URL]) throws -> Library {
        var config = Library.Configuration()
        config.frameTierBytes = 0  // every machine decodes its own files
        config.roots = try RootMounts(roots)
        return try Library(
            store: dir.appendingPathComponent("shared.rstore"), model: try TinyCLIP.model.get(), configuration: config)
    }

    func testMachinesMountingTheArchiveElsewhereGetTheSameFeaturesAndFrames() async throws {
        let a = dir.appendingPathComponent("machineA/videos")
        let b = dir.appendingPathComponent("machineB/mnt/archive")
        try FileManager.default.createDirectory(
            at: a.appendingPathComponent("clips"), withIntermediateDirectories: true)
        let file = try SearchQualityTests.scenesVideo(in: a.appendingPathComponent("clips"))

        // Machine A indexes.
        var denseA: [Library.FrameEmbedding] = []
        var imageA: [UInt8] = []
        let id: Int64
        do {
            let libA = try library(roots: ["archive": a])
            let summary = try await libA.index([file])
            XCTAssertEqual(summary.files.map(\.outcome), [.indexed], "\(summary.files)")
            let v = try XCTUnwrap(try libA.videos().first)
            XCTAssertEqual(v.path, "archive:clips/scenes.mp4", "stored relative to its root")
            id = v.id!
            denseA = try libA.embeddings(v, from: 0, to: v.duration)
            imageA = try libA.frameImage(v, index: 1).pixels
            XCTAssertEqual(try libA.video(file.path).id, id, "found by its local path")
            XCTAssertEqual(try libA.video("archive:clips/scenes.mp4").id, id, "and by its stored name")
            let again = try await libA.index([file])
            XCTAssertEqual(again.files.map(\.outcome), [.unchanged])
        }

        // Machine B mounts a copy of the archive elsewhere.
        try FileManager.default.createDirectory(at: b.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: a, to: b)
        let libB = try library(roots: ["archive": b])
        let v = try libB.video(id: id)
        XCTAssertEqual(try libB.file(of: v).path, b.appendingPathComponent("clips/scenes.mp4").path)
        let denseB = try libB.embeddings(v, from: 0, to: v.duration)
        XCTAssertEqual(denseB.count, denseA.count)
        XCTAssertTrue(denseB.contains { $0.kind == .p })
        for (x, y) in zip(denseA, denseB) {
            XCTAssertEqual(x.index, y.index)
            XCTAssertEqual(x.vector, y.vector, "frame \(x.index) (\(x.kind))")
        }
        XCTAssertEqual(try libB.frameImage(v, index: 1).pixels, imageA)
        XCTAssertEqual(try libB.video(b.appendingPathComponent("clips/scenes.mp4").path).id, id)
        XCTAssertTrue(try libB.searchReport("a fractal", k: 2).refined)

        // Freshness is checked on the file this machine resolves: B's copy changes, A's does not.
        let h = try FileHandle(forWritingTo: b.appendingPathComponent("clips/scenes.mp4"))
        try h.seekToEnd()
        try h.write(contentsOf: Data([0]))
        try h.close()
        let libB2 = try library(roots: ["archive": b])
        XCTAssertThrowsError(try libB2.embeddings(v, from: 0, to: v.duration)) { e in
            guard case .stale(let path, _)? = e as? FreshnessError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, v.path)
        }
        XCTAssertNil(try library(roots: ["archive": a]).staleness(v))

        // A machine without the root: stage 1 of search works, anything that needs the file says which root is missing.
        let libC = try library(roots: [:])
        let report = try libC.searchReport("a fractal", k: 2)
        XCTAssertFalse(report.moments.isEmpty)
        XCTAssertFalse(report.refined, "coarse: no P-frame can be rebuilt without the file")
        XCTAssertEqual(report.pFrames, 0)
        let notMounted = RootError.notMounted(root: "archive", video: id, path: "archive:clips/scenes.mp4", mounted: [])
        XCTAssertThrowsError(try libC.embeddings(v, from: 0, to: v.duration)) {
            XCTAssertEqual($0 as? RootError, notMounted)
        }
        XCTAssertThrowsError(try libC.frameImage(v, index: 1)) { XCTAssertEqual($0 as? RootError, notMounted) }
        XCTAssertTrue(
            "\(notMounted)".contains("video \(id)") && "\(notMounted)".contains("--root archive="), "\(notMounted)")
        XCTAssertEqual(try libC.embeddings(v, from: 0, to: 0).map(\.kind), [.i], "I-features need no file")
        let other = try library(roots: ["elsewhere": a])
        XCTAssertThrowsError(try other.frameImage(v, index: 0)) {
            XCTAssertEqual(
                $0 as? RootError, .notMounted(root: "archive", video: id, path: v.path, mounted: ["elsewhere"]))
        }
    }

    func testAStoreIndexedWithoutRootsKeepsWorkingWhenRootsAreGiven() async throws {
        let folder = dir.appendingPathComponent("videos")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("a.mp4")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=3", "-pix_fmt", "yuv420p", file.path,
        ])
        let old = try library(roots: [:])
        let indexed = try await old.index([file])
        XCTAssertEqual(indexed.indexed, 1)
        let v = try XCTUnwrap(try old.videos().first)
        XCTAssertEqual(v.path, file.standardizedFileURL.path, "no roots: the absolute path, as before")
        let dense = try old.embeddings(v, from: 0, to: v.duration)

        let rooted = try library(roots: ["archive": folder])
        XCTAssertEqual(try rooted.video(file.path).id, v.id, "found under its absolute name")
        XCTAssertEqual(try rooted.embeddings(v, from: 0, to: v.duration).map(\.vector), dense.map(\.vector))
    }

    func testHostileStoredPathsAndSymlinksLeavingTheRootAreRefused() async throws {
        let root = dir.appendingPathComponent("root")
        let outside = dir.appendingPathComponent("outside")
        for d in [root, outside] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        let secret = outside.appendingPathComponent("secret.mp4")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=2", "-pix_fmt", "yuv420p", secret.path,
        ])
        try FileManager.default.createSymbolicLink(
            at: root.appendingPathComponent("link.mp4"), withDestinationURL: secret)
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("away"), withDestinationURL: outside)
        let mounts = try RootMounts(["archive": root])

        func refused(_ stored: String, _ expected: RootError, line: UInt = #line) {
            XCTAssertThrowsError(try mounts.file(for: stored), line: line) {
                XCTAssertEqual($0 as? RootError, expected, line: line)
            }
        }
        refused("archive:../outside/secret.mp4", .badPath(path: "../outside/secret.mp4", reason: .traversal))
        refused("archive:a/../../outside/secret.mp4", .badPath(path: "a/../../outside/secret.mp4", reason: .traversal))
        refused("archive:/etc/passwd", .badPath(path: "/etc/passwd", reason: .absolute))
        refused("archive:a\0b.mp4", .badPath(path: "a\\0b.mp4", reason: .nul))
        refused("archive:", .badPath(path: "", reason: .empty))
        refused("archive:link.mp4", .leavesRoot(root: "archive", path: "link.mp4"))
        refused("archive:away/secret.mp4", .leavesRoot(root: "archive", path: "away/secret.mp4"))
        refused("relative/file.mp4", .badPath(path: "relative/file.mp4", reason: .unrooted))
        XCTAssertEqual(
            try mounts.file(for: "archive:clips/missing.mp4").path,
            root.appendingPathComponent("clips/missing.mp4").path,
            "a missing file inside the root is the reader's to report")
        XCTAssertEqual(
            try mounts.file(for: "/abs/old.mp4").path, "/abs/old.mp4", "stores without roots keep absolute paths")
        XCTAssertEqual(StoredPath("/data/a:b.mp4"), .absolute("/data/a:b.mp4"))
        XCTAssertEqual(StoredPath("archive:x/a:b.mp4"), .rooted(root: "archive", path: "x/a:b.mp4"))
        XCTAssertThrowsError(try RootMounts(["bad name": root])) {
            XCTAssertEqual($0 as? RootError, .badName("bad name"))
        }

        // Storing: inside a root by name, outside by its real path: refused, nothing stored.
        XCTAssertThrowsError(try mounts.storedPath(for: root.appendingPathComponent("link.mp4"))) {
            XCTAssertEqual($0 as? RootError, .leavesRoot(root: "archive", path: "link.mp4"))
        }
        XCTAssertEqual(try mounts.storedPath(for: secret), secret.path, "under no root: absolute, as without roots")
        let lib = try library(roots: ["archive": root])
        let summary = try await lib.index([root.appendingPathComponent("link.mp4")])
        XCTAssertEqual(summary.files.map(\.outcome), [.failed])
        XCTAssertTrue(
            summary.files[0].error?.contains("resolves outside library root `archive`") ?? false, "\(summary.files)")
        XCTAssertEqual(try lib.videos(), [])
    }
}
