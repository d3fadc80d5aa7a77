import Foundation
import Store
import TestSupport
import Timeline
import XCTest

@testable import ResidualStore

/// A video re-indexed or removed while a query reads it gives the old version, the new one,
/// or a clean `notReady` (HTTP 409), never a trap on offsets that came back short.
final class ReindexRaceTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TempDirectory.make("race") }
    override func tearDownWithError() throws { TempDirectory.remove(dir) }

    func clip(_ name: String, _ source: String, seconds: Int = 8) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "\(source)=size=160x120:rate=10", "-t", "\(seconds)",
            "-pix_fmt", "yuv420p", "-c:v", "libx264", "-g", "20", url.path,
        ])
        return url
    }

    func testStage2OfAVideoThatVanishedSinceStage1DropsItsCandidates() throws {
        // The candidate points at frames of a version whose offsets are gone (0 frames now):
        // today's refine must skip it, not build a reversed range.
        let layout = FrameLayout(n: 2)
        let c = MomentSearch.Candidate(
            videoID: 1, firstFrame: 30, lastFrame: 35, peakFrame: 33, score: 0.9, threshold: 0.1)
        let other = MomentSearch.Candidate(
            videoID: 2, firstFrame: 0, lastFrame: 5, peakFrame: 3, score: 0.5, threshold: 0.1)
        let times = (0..<12).map { Double($0) / 2 }
        for vanished in [MomentSearch.VideoContext(id: 1, path: "/gone.mp4", times: [], fps: 2, layout: layout), nil] {
            var videos = [
                Int64(2): MomentSearch.VideoContext(id: 2, path: "/b.mp4", times: times, fps: 2, layout: layout)
            ]
            videos[1] = vanished
            let plan = MomentSearch().plan([c, other], k: 2, videos: videos)
            let features = plan.requests.map { $0.frameIndices.map { _ in [Float(1), 0] } }
            let moments = MomentSearch().rank(plan, features: features, query: [1, 0], k: 2)
            XCTAssertEqual(moments.map(\.videoID), [2])
        }
        XCTAssertTrue(MomentSearch().span(c, layout: layout, frames: 0).isEmpty)
        XCTAssertTrue(MomentSearch().span(c, layout: layout, frames: 20).isEmpty, "candidate past the end")
    }

    func testARangeReadOfAStaleRowIsNotReadyNotEmpty() async throws {
        let a = try clip("a.mp4", "testsrc2")
        let store = dir.appendingPathComponent("r.rstore")
        let reader = try Library(store: store, model: TinyCLIP.model.get())
        _ = try await reader.index([a])
        let stale = try reader.video(a.path)
        // Another process re-indexes the file (new content): the row the reader holds is replaced.
        try FileManager.default.removeItem(at: a)
        _ = try clip("a.mp4", "mandelbrot")
        let writer = try Library(store: store, model: TinyCLIP.model.get())
        let summary = try await writer.index([a])
        XCTAssertEqual(summary.indexed, 1)
        XCTAssertThrowsError(try reader.embeddings(stale, from: 0, to: 8)) { e in
            guard case StoreError.notReady = e else { return XCTFail("\(e)") }
            XCTAssertEqual(LayerFailure(e)?.code, "not_ready")
        }
        // The current row answers.
        XCTAssertFalse(try reader.embeddings(reader.video(a.path), from: 0, to: 8).isEmpty)
    }

    func testASearchOverAReplacedFileKeepsItsCoarseMoments() async throws {
        // Replaced on disk, not yet re-indexed: its stored moments still answer, unrefined.
        let a = try clip("a.mp4", "testsrc2")
        let store = dir.appendingPathComponent("r.rstore")
        let lib = try Library(store: store, model: TinyCLIP.model.get())
        _ = try await lib.index([a])
        let other = try clip("other/x.mp4", "mandelbrot")
        try FileManager.default.removeItem(at: a)
        try FileManager.default.copyItem(at: other, to: a)
        let moments = try Library(store: store, model: TinyCLIP.model.get()).search("a test pattern", k: 3)
        XCTAssertFalse(moments.isEmpty)
        XCTAssertTrue(moments.allSatisfy { !$0.refined && $0.path == a.path }, "\(moments)")
    }

    func testSearchesWhileAVideoIsReindexedNeverCrash() async throws {
        let a = try clip("a.mp4", "testsrc2")
        let b = try clip("b.mp4", "smptebars")
        let variants = [try clip("variants/v0.mp4", "testsrc2"), try clip("variants/v1.mp4", "mandelbrot", seconds: 5)]
        let store = dir.appendingPathComponent("r.rstore")
        let model = try TinyCLIP.model.get()
        _ = try await Library(store: store, model: model).index([a, b])

        let deadline = Date().addingTimeInterval(12)
        let writer = Task {
            var round = 0
            let lib = try Library(store: store, model: model)
            while Date() < deadline {
                round += 1
                try? FileManager.default.removeItem(at: a)
                try FileManager.default.copyItem(at: variants[round % 2], to: a)
                _ = try await lib.index([a])
            }
            return round
        }
        let readers = (0..<3).map { r in
            Task.detached { () throws -> (answered: Int, refused: Int) in
                let lib = try Library(store: store, model: model)
                var answered = 0
                var refused = 0
                while Date() < deadline {
                    do {
                        let moments = try lib.search(r == 0 ? "a test pattern" : "colour bars", k: 3)
                        XCTAssertFalse(moments.isEmpty)
                        for m in moments { XCTAssertLessThanOrEqual(m.start, m.end) }
                        answered += 1
                    } catch StoreError.notReady, StoreError.unknownVideo {
                        refused += 1
                    } catch is FreshnessError {
                        refused += 1  // the file was replaced and not re-indexed yet: a 409 too
                    }
                }
                return (answered, refused)
            }
        }
        let rounds = try await writer.value
        var answered = 0
        for t in readers { answered += try await t.value.answered }
        XCTAssertGreaterThan(rounds, 1, "the video was re-indexed while searches ran")
        XCTAssertGreaterThan(answered, 10)
    }
}
