import Foundation
import ResidualStore
import TestSupport
import XCTest

/// Cancelling an ingest's task stops it within the frame it is on, not at the end of the file:
/// the row is marked failed (its partial chunks dropped), the store verifies clean, the files
/// after it are not started, and indexing again starts it over.
final class IngestCancellationTests: XCTestCase {
    func testCancelStopsWithinAChunk() async throws {
        let dir = try TempDirectory.make("ingest-cancel")
        defer { TempDirectory.remove(dir) }
        let (a, b) = (dir.appendingPathComponent("a.mp4"), dir.appendingPathComponent("b.mp4"))
        for (src, url) in [("testsrc2", a), ("smptebars", b)] {
            try ExternalCommand.ffmpeg([
                "-f", "lavfi", "-i", "\(src)=size=160x120:rate=10", "-t", "6", "-c:v", "libx264", "-g", "10",
                "-pix_fmt", "yuv420p", url.path,
            ])
        }
        var config = Library.Configuration()
        config.recipe.chunkFrames = 3
        let library = try Library(
            store: dir.appendingPathComponent("store.rstore"), model: try TinyCLIP.model.get(), configuration: config)
        let seen = Events()
        let run = Task {
            try await library.index([a, b]) { event in
                seen.add(event)
                // Cancels this very task at frame 5 of 12 (one chunk of 3 committed, 2 frames into the next).
                if case .progress(_, _, _, 5, _) = event { withUnsafeCurrentTask { $0?.cancel() } }
            }
        }
        do {
            _ = try await run.value
            XCTFail("expected the cancelled index to throw")
        } catch {
            XCTAssertTrue(error is CancellationError, "\(error)")
        }
        XCTAssertEqual(seen.maxDone, 5, "no frame after the cancel was processed")
        XCTAssertFalse(seen.startedFiles.contains(b.path), "the next file was not started")
        let row = try XCTUnwrap(try library.videos().first { $0.path == a.path })
        XCTAssertEqual(row.status, .failed)
        XCTAssertTrue((row.error ?? "").contains("cancelled"), row.error ?? "-")
        XCTAssertEqual(try library.verify(sample: 2, minCosine: 0.9).problems, [])
        let again = try await library.index([a, b])
        XCTAssertEqual(again.indexed, 2)
        XCTAssertEqual(try library.video(a.path).frameCount, 12)
    }
}

/// The events one index call reported.
private final class Events: @unchecked Sendable {
    private let lock = NSLock()
    private var done = 0
    private var started: [String] = []
    func add(_ e: Library.IndexEvent) {
        lock.withLock {
            switch e {
            case .progress(_, _, _, let d, _): done = max(done, d)
            case .started(_, _, let path, _): started.append(path)
            default: break
            }
        }
    }
    var maxDone: Int { lock.withLock { done } }
    var startedFiles: [String] { lock.withLock { started } }
}
