import Foundation
import ResidualStore
import TestSupport
import XCTest

/// A search that reports its progress (`searchReport(progress:)`) hands stage 1's answer
/// first and stage 2's batches after, and answers exactly as without it; `SearchDeadline`
/// answers stage 1's moments when its time passes first.
final class SearchProgressTests: XCTestCase {
    /// What a search handed its progress callback, in order.
    final class Heard: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [SearchProgress] = []
        func add(_ e: SearchProgress) { lock.withLock { events.append(e) } }
        var all: [SearchProgress] { lock.withLock { events } }
    }

    /// One library for the tests of this class (indexing is most of their time); read only.
    static let shared = Task { () async throws -> Library in try await library(in: try TempDirectory.make("progress")) }

    static func library(in dir: URL) async throws -> Library {
        var config = Library.Configuration()
        config.frameTierBytes = 0  // stage 2 decodes: the slow case streaming is for
        let lib = try Library(
            store: dir.appendingPathComponent("lib.rstore"), model: try TinyCLIP.model.get(), configuration: config)
        // Three scenes, 4 s each at 10 fps (GOP 4 s): a curve with structure, indexed in seconds.
        let url = try SceneVideos.threeScenes(in: dir)
        let summary = try await lib.index([url])
        XCTAssertEqual(summary.failed, 0)
        return lib
    }

    func testCoarseFirstThenRefinedAndTheSameMomentsAsWithoutProgress() async throws {
        let lib = try await Self.shared.value
        for text in ["a colourful test pattern", "bars of colour"] {
            let heard = Heard()
            let streamed = try lib.searchReport(.text(text), k: 3, progress: { heard.add($0) })
            let plain = try lib.searchReport(.text(text), k: 3)
            let coarse = try lib.searchReport(.text(text), k: 3, control: QueryControl(limits: .init(maxPFrames: 0)))
            XCTAssertEqual(streamed.moments, plain.moments, text)
            XCTAssertTrue(streamed.refined)
            XCTAssertFalse(coarse.moments.isEmpty)

            let events = heard.all
            guard case .coarse(let first)? = events.first else { return XCTFail("\(text): first event \(events)") }
            XCTAssertEqual(first.moments, coarse.moments, "stage 1's answer is the answer with no P-frame budget")
            XCTAssertTrue(first.moments.allSatisfy { !$0.refined })
            XCTAssertEqual(first.pFrames, 0)
            XCTAssertEqual(first.stage1Rows, streamed.stage1Rows)
            XCTAssertGreaterThan(first.stage1Ms, 0)
            var refinedVideos = Set<Int64>()
            var last: [Moment] = []
            for e in events.dropFirst() {
                guard case .refined(let moments, let videos) = e else {
                    return XCTFail("\(text): \(e) after the first")
                }
                refinedVideos.formUnion(videos)
                XCTAssertTrue(moments.allSatisfy { videos.contains($0.videoID) && $0.refined })
                last = moments
            }
            XCTAssertEqual(refinedVideos, Set(streamed.stage2Videos))
            // One video, one batched pass: its refined moments are the answer.
            XCTAssertEqual(events.count, 2)
            XCTAssertEqual(last, streamed.moments)
        }
    }

    func testDeadlineAnswersStageOnesMomentsWhenItPassesFirst() async throws {
        let lib = try await Self.shared.value
        let text = "a fractal"
        let coarse = try lib.searchReport(.text(text), k: 2, control: QueryControl(limits: .init(maxPFrames: 0)))

        // Time enough: the refined report, nothing cancelled.
        let roomy = QueryControl()
        let full = try SearchDeadline(at: Date().addingTimeInterval(600), control: roomy).run { progress in
            try lib.searchReport(.text(text), k: 2, control: roomy, progress: progress)
        }
        XCTAssertFalse(full.passed)
        XCTAssertTrue(full.report.refined)
        XCTAssertEqual(full.report.moments, try lib.searchReport(text, k: 2).moments)
        XCTAssertFalse(roomy.isCancelled)

        // Stage 2 held up past the deadline: stage 1's answer, and the search is told to stop.
        let tight = QueryControl()
        let finished = DispatchSemaphore(value: 0)
        let late = try SearchDeadline(at: Date().addingTimeInterval(0.05), control: tight).run { progress in
            defer { finished.signal() }
            return try lib.searchReport(.text(text), k: 2, control: tight) { event in
                progress(event)
                if case .coarse = event { Thread.sleep(forTimeInterval: 1) }
            }
        }
        XCTAssertTrue(late.passed)
        XCTAssertEqual(late.report.moments, coarse.moments)
        XCTAssertFalse(late.report.refined)
        XCTAssertTrue(tight.isCancelled)
        // `run` returned only once the search thread stopped (at its next check): a CLI that
        // prints and exits must not tear down memory stage 2 still uses.
        XCTAssertEqual(finished.wait(timeout: .now()), .success, "the search thread was still running")

        // A deadline already past still waits for stage 1 (there is nothing else to show).
        let past = QueryControl()
        let now = try SearchDeadline(at: Date().addingTimeInterval(-1), control: past).run { progress in
            try lib.searchReport(.text(text), k: 2, control: past, progress: progress)
        }
        XCTAssertEqual(now.passed ? now.report.moments : coarse.moments, coarse.moments)
        XCTAssertTrue(past.isCancelled == now.passed)

        // The search's own errors are thrown as they are.
        XCTAssertThrowsError(
            try SearchDeadline(at: Date().addingTimeInterval(60), control: QueryControl()).run { progress in
                try lib.searchReport(.text(text), k: 0, progress: progress)
            }
        ) { XCTAssertEqual(($0 as? LibraryError)?.description, LibraryError.badK(0).description) }
    }
}
