import CLIP
import Digest
import Foundation
import Store
import TestSupport
import Timeline
import Video
import XCTest

@testable import ResidualStore

/// The engine over changed and damaged files: stale files are refused before a pixel is read
/// and re-indexed by the next `index`; damaged files become ready with their damage recorded
/// (or fail under `strict`), and their damaged spans reconstruct the same way every time.
final class IngestRobustnessTests: XCTestCase {
    var dir: URL!
    var storeURL: URL { dir.appendingPathComponent("lib.rstore") }

    override func setUpWithError() throws {
        dir = try TempDirectory.make("robust")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func make(_ name: String, source: String = "testsrc2=size=160x120:rate=25", seconds: Int = 4, extra: [String] = [])
        throws -> URL
    {
        let url = dir.appendingPathComponent(name)
        try ExternalCommand.ffmpeg(
            [
                "-f", "lavfi", "-i", source, "-t", "\(seconds)", "-c:v", "libx264", "-preset", "veryfast", "-g", "25",
                "-bf", "2",
                "-pix_fmt", "yuv420p",
            ] + extra + [url.path])
        return url
    }

    func library(strict: Bool = false, wait: Bool = true) throws -> Library {
        var config = Library.Configuration()
        config.strict = strict
        config.waitForLeases = wait
        config.recipe.strategy = .uniform
        return try Library(store: storeURL, model: try TinyCLIP.model.get(), configuration: config)
    }

    func isStale(_ e: any Error) -> Bool {
        if case .stale? = e as? FreshnessError { return true }
        return false
    }

    func testAChangedFileIsStaleUntilTheNextIndex() async throws {
        let url = try make("a.mp4")
        let first = try await library().index([url])
        XCTAssertEqual(first.files.map(\.outcome), [.indexed])
        let v = try library().video(url.path)
        XCTAssertFalse(v.fingerprint.isEmpty)
        XCTAssertEqual(try library().embeddings(v, from: 0, to: 2).count, 5)

        // Only touched: same bytes, new mtime. Still fresh; the next index records the new mtime.
        let touched = Date().addingTimeInterval(60)
        try FileManager.default.setAttributes([.modificationDate: touched], ofItemAtPath: url.path)
        XCTAssertNil(try library().staleness(v))
        let retouched = try await library().index([url])
        XCTAssertEqual(retouched.files.map(\.outcome), [.unchanged])
        XCTAssertEqual(try library().video(url.path).mtime, touched.timeIntervalSince1970, accuracy: 1e-3)

        // Replaced by another video: refused before any pixel is read, with a clear message.
        let other = try make("b.mp4", source: "mandelbrot=size=160x120:rate=25")
        try FileManager.default.removeItem(at: url)
        try FileManager.default.copyItem(at: other, to: url)
        let lib = try library()
        XCTAssertThrowsError(try lib.embeddings(v, from: 0, to: 2)) { e in
            XCTAssertTrue(self.isStale(e), "\(e)")
            XCTAssertTrue("\(e)".contains(url.path) && "\(e)".contains("changed since it was indexed"), "\(e)")
        }
        XCTAssertThrowsError(try lib.frameImage(v, index: 1)) { XCTAssertTrue(self.isStale($0), "\($0)") }
        XCTAssertNotNil(lib.staleness(v))

        // The next index re-indexes it; the new version is fresh and readable.
        let again = try await lib.index([url])
        XCTAssertEqual(again.files.map(\.outcome), [.indexed])
        let v2 = try library().video(url.path)
        XCTAssertNotEqual(v2.contentHash, v.contentHash)
        XCTAssertNil(try library().staleness(v2))
        XCTAssertEqual(try library().embeddings(v2, from: 0, to: 2).count, 5)
    }

    func testSameSizeSameMtimeRewriteIsCaughtByTheFingerprint() async throws {
        let url = try make("a.mp4")
        _ = try await library().index([url])
        let v = try library().video(url.path)
        var data = try Data(contentsOf: url)
        data[data.count - 100] ^= 0xff  // within the last MiB
        try data.write(to: url)
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: v.mtime)], ofItemAtPath: url.path)
        XCTAssertThrowsError(try library().embeddings(v, from: 0, to: 2)) { e in
            XCTAssertTrue(self.isStale(e), "\(e)")
            XCTAssertTrue("\(e)".contains("first or last MiB"), "\(e)")
        }
        try FileManager.default.removeItem(at: url)
        XCTAssertThrowsError(try library().embeddings(v, from: 0, to: 2)) { e in
            XCTAssertEqual(e as? FreshnessError, .missing(path: url.path))
        }
    }

    /// A file another (live) ingest holds is skipped with `waitForLeases` off, and waited for
    /// with it on; when the holder's lease expires without a heartbeat, this ingest takes over.
    func testABusyFileIsSkippedOrWaitedForThenTakenOver() async throws {
        let url = try make("a.mp4")
        let lib = try library()
        let model = lib.modelRecord
        let v = VideoRecord(
            path: url.path, contentHash: try SHA256.hex(fileAt: url), size: 0, mtime: 0, duration: 4, timeBaseNum: 1,
            timeBaseDen: 12800, fps: 2, n: 2, p: 0.85, strategy: "uniform", codec: .f16, info: "{}")
        let other = Lease(owner: "elsewhere:1:x", seconds: 1.5)
        guard case .resume(let row) = try lib.store.begin(v, model: model, lease: other) else {
            return XCTFail("expected a new row")
        }

        let skipped = try await library(wait: false).index([url])
        XCTAssertEqual(skipped.files.map(\.outcome), [.skipped])
        XCTAssertTrue(skipped.files[0].error?.contains("another process") == true, "\(skipped.files)")
        XCTAssertEqual(try lib.store.video(id: row.id!).leaseOwner, other.owner, "the holder's row is untouched")

        final class Seen: @unchecked Sendable { var waiting: [String] = [] }
        let seen = Seen()
        let waited = try await library().index([url]) { event in
            if case .waiting(_, _, _, let holder, _) = event { seen.waiting.append(holder) }
        }
        XCTAssertEqual(seen.waiting, [other.owner])
        XCTAssertEqual(waited.files.map(\.outcome), [.indexed], "\(waited.files)")
        let done = try lib.store.video(id: row.id!)
        XCTAssertEqual(done.status, .ready, "the expired row was taken over, not duplicated")
        XCTAssertNil(done.leaseOwner)
        XCTAssertEqual(try lib.videos().count, 1)
    }

    /// A TS with bytes overwritten in its middle, and a faststart MP4 cut in half.
    func damagedFiles() throws -> (corrupt: URL, cut: URL) {
        let ts = try make("c.ts", seconds: 8, extra: ["-g", "50"])
        var data = try Data(contentsOf: ts)
        let mid = data.count / 2
        for i in mid..<(mid + 6000) { data[i] ^= UInt8(truncatingIfNeeded: i &* 131 &+ 7) }
        try data.write(to: ts)
        let mp4 = try make("cut.mp4", seconds: 6, extra: ["-movflags", "+faststart"])
        let whole = try Data(contentsOf: mp4)
        try whole.prefix(whole.count / 2).write(to: mp4)
        return (ts, mp4)
    }

    func testDamagedFilesAreReadyWithTheirDamageAndStrictFailsThem() async throws {
        let (corrupt, cut) = try damagedFiles()
        let strict = try await library(strict: true).index([corrupt, cut])
        XCTAssertEqual(strict.files.map(\.outcome), [.failed, .failed], "\(strict.files)")
        XCTAssertTrue(strict.files.allSatisfy { $0.error?.contains(dir.path) == true }, "\(strict.files)")

        let summary = try await library().index([corrupt, cut])
        XCTAssertEqual(summary.files.map(\.outcome), [.indexed, .indexed], "\(summary.files)")
        XCTAssertTrue(summary.files.allSatisfy { $0.damage != nil }, "\(summary.files)")
        let lib = try library()
        let c = try lib.video(corrupt.path)
        let t = try lib.video(cut.path)
        XCTAssertEqual(c.status, .ready)
        let cDamage = try XCTUnwrap(c.damageReport)
        XCTAssertGreaterThan(cDamage.corruptPackets + cDamage.damagedFrames + cDamage.decodeErrors, 0)
        XCTAssertEqual(c.frameCount, 16)
        let tDamage = try XCTUnwrap(t.damageReport)
        let at = try XCTUnwrap(tDamage.truncatedAt)
        XCTAssertLessThan(at, 4)
        XCTAssertEqual(t.frameCount, Int(at * 2) + 1, "indexed up to where the file ends")

        // The damaged span reconstructs to the same features in two fresh processes' worth of state.
        let span = try XCTUnwrap(cDamage.spans.first)
        let a = try library().embeddings(c, from: max(0, span.start - 1), to: span.end + 1)
        let b = try library().embeddings(c, from: max(0, span.start - 1), to: span.end + 1)
        XCTAssertGreaterThan(a.filter { $0.kind == .p }.count, 0)
        XCTAssertEqual(a.map(\.vector), b.map(\.vector))
    }
}
