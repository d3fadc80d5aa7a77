import CLIP
import Foundation
import ResidualStore
import TestSupport
import XCTest

/// The grounding metrics on curves with known answers, the annotation formats, and both
/// evaluations end to end on a real generated clip with the tiny CLIP.
final class EvalTests: XCTestCase {
    /// 60 frames at 2 fps (30 s): a high bump over 10-15 s, a lower one over 0-5 s.
    static let curve: [Float] = (0..<60).map { k in (20..<30).contains(k) ? 0.9 : (0..<10).contains(k) ? 0.5 : 0 }
    static let times = (0..<60).map { Double($0) / 2 }

    func testRankedSpansAreRunsInSecondsThenTheWholeVideo() {
        let spans = GroundingProtocol(fps: 2, window: 1).rankedSpans(curve: Self.curve, times: Self.times, duration: 30)
        XCTAssertEqual(spans.map(\.0), [10, 0, 0])
        XCTAssertEqual(spans.map(\.1), [15, 5, 30])
    }

    func testRecallAndMeanIoUOnKnownAnswers() {
        let spans = GroundingProtocol(fps: 2, window: 1).rankedSpans(curve: Self.curve, times: Self.times, duration: 30)
        var m = GroundingMetrics()
        m.add(ranked: spans, truth: (10, 15))  // top-1 exact: IoU 1
        m.add(ranked: spans, truth: (0, 5))  // second proposal exact, top-1 IoU 0
        m.add(ranked: spans, truth: (10, 20))  // top-1 IoU 5/10 = 0.5: counts at 0.3 only (strictly above)
        XCTAssertEqual(m.queries, 3)
        XCTAssertEqual(m.recall(at: 1, 0), 200.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(m.recall(at: 1, 1), 100.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(m.recall(at: 1, 2), 100.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(m.recall(at: 5, 0), 100, accuracy: 1e-9)
        XCTAssertEqual(m.recall(at: 5, 1), 200.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(m.recall(at: 5, 2), 200.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(m.mIoU, 50, accuracy: 1e-9)
        // Only the first five proposals count for R@5.
        var late = GroundingMetrics()
        late.add(ranked: [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (20, 25)], truth: (20, 25))
        XCTAssertEqual(late.recall(at: 5, 0), 0)
        XCTAssertEqual(GroundingMetrics().mIoU, 0, "no queries: zero, not NaN")
    }

    func testAnnotationFormats() throws {
        let text = """
            AO8RW 0.0 6.9##a person is putting a book on a shelf.

            {"video": "sub/clip.mp4", "start": 1.5, "end": 3, "text": "someone opens a door"}
            Y6R7T 24.3 30.4##person turn a light on ## twice.
            """
        let list = try GroundingAnnotations.parse(text, path: "a.txt")
        XCTAssertEqual(list.map(\.video), ["AO8RW", "sub/clip.mp4", "Y6R7T"])
        XCTAssertEqual(list.map(\.start), [0, 1.5, 24.3])
        XCTAssertEqual(list.map(\.end), [6.9, 3, 30.4])
        XCTAssertEqual(
            list.map(\.text),
            ["a person is putting a book on a shelf.", "someone opens a door", "person turn a light on ## twice."])
        XCTAssertEqual(list.map(\.line), [1, 3, 4])
        for (bad, line, needle) in [
            ("A 1 2##ok\nB 5 3##reversed", 2, "start < end"),
            ("A 1 2 no separator", 1, "##"),
            ("A x 2##t", 1, "VIDEO START END"),
            ("A 1 2##", 1, "empty sentence"),
            ("{\"video\": \"v\", \"start\": 1}", 1, "\"text\""),
            ("A nan 2##t", 1, "start < end"),
        ] {
            XCTAssertThrowsError(try GroundingAnnotations.parse(bad, path: "bad.txt")) { e in
                guard case .badAnnotation(let path, let l, let reason) = e as? EvalError else { return XCTFail("\(e)") }
                XCTAssertEqual(path, "bad.txt")
                XCTAssertEqual(l, line, bad)
                XCTAssertTrue(reason.contains(needle), "\(bad): \(reason)")
                XCTAssertTrue("\(e)".hasPrefix("bad.txt:\(line): "), "\(e)")
            }
        }
        XCTAssertThrowsError(try GroundingAnnotations.parse("\n\n", path: "empty.txt"))
    }

    func testVideosResolveInsideTheFolderOnly() throws {
        let dir = try TempDirectory.make("resolve")
        defer { TempDirectory.remove(dir) }
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("videos/sub"), withIntermediateDirectories: true)
        for f in ["videos/AO8RW.mp4", "videos/sub/clip.mkv", "outside.mp4"] {
            _ = FileManager.default.createFile(atPath: dir.appendingPathComponent(f).path, contents: Data([0]))
        }
        let videos = dir.appendingPathComponent("videos")
        XCTAssertEqual(GroundingEvaluation.resolve("AO8RW", in: videos)?.lastPathComponent, "AO8RW.mp4")
        XCTAssertEqual(GroundingEvaluation.resolve("AO8RW.mp4", in: videos)?.lastPathComponent, "AO8RW.mp4")
        XCTAssertEqual(GroundingEvaluation.resolve("sub/clip", in: videos)?.lastPathComponent, "clip.mkv")
        XCTAssertNil(GroundingEvaluation.resolve("../outside", in: videos), "names may not leave the folder")
        XCTAssertNil(GroundingEvaluation.resolve("sub", in: videos), "a folder is not a video")
        XCTAssertNil(GroundingEvaluation.resolve("nope", in: videos))
    }

    func testFidelityKnownAnswers() async throws {
        let model = try TinyCLIP.model.get()
        let url = try PipelineTests.video.get()
        let zero = ResidualTokenizer.zero(for: model)
        let eval = try FidelityEvaluation(model: model, maxFrames: 12, batch: 5)
        let settings =
            [FidelityEvaluation.Setting(n: 2, p: 0, strategy: .uniform, tokenizerName: "A=0", tokenizer: zero)]
            + ReductionStrategy.allCases.map {
                FidelityEvaluation.Setting(n: 2, p: 0.85, strategy: $0, tokenizerName: "A=0", tokenizer: zero)
            }
        let rows = try await eval.run(videos: [url], settings: settings)
        XCTAssertEqual(rows.map(\.strategy), ["full", "uniform"] + ReductionStrategy.allCases.map(\.rawValue))
        XCTAssertEqual(rows[0].frames, 12)
        XCTAssertNil(rows[0].mean_cosine)
        // p = 0 keeps every patch and A = 0 adds no token: the P-frame pass is full CLIP.
        XCTAssertEqual(rows[1].p_frames, 8)
        XCTAssertEqual(try XCTUnwrap(rows[1].min_cosine), 1, accuracy: 1e-5)
        XCTAssertEqual(rows[1].gflops_per_frame, rows[0].gflops_per_frame, accuracy: 1e-9)
        for r in rows.dropFirst(2) {
            let mean = try XCTUnwrap(r.mean_cosine)
            let low = try XCTUnwrap(r.min_cosine)
            XCTAssertLessThan(mean, 0.99999, "\(r.strategy): dropping 85% of the patches changes the feature")
            XCTAssertLessThanOrEqual(low, mean)
            XCTAssertGreaterThan(low, -1)
            // (1 + 2 x P-frame cost) / 3 of a full frame: well under it, above a third of it.
            XCTAssertLessThan(r.gflops_per_frame, 0.6 * rows[0].gflops_per_frame, r.strategy)
            XCTAssertGreaterThan(r.gflops_per_frame, rows[0].gflops_per_frame / 3, r.strategy)
            XCTAssertGreaterThan(r.ms_per_frame, 0)
        }
    }

    func testGroundingRunListsMissingVideosAndScoresTheRest() async throws {
        let model = try TinyCLIP.model.get()
        let url = try PipelineTests.video.get()
        let dir = try TempDirectory.make("ground")
        defer { TempDirectory.remove(dir) }
        try FileManager.default.copyItem(at: url, to: dir.appendingPathComponent("CLIP1.mp4"))
        _ = FileManager.default.createFile(
            atPath: dir.appendingPathComponent("BROKEN.mp4").path, contents: Data("not a video".utf8))
        let list = try GroundingAnnotations.parse(
            """
            CLIP1 0.0 2.5##a test pattern with a moving circle
            GONE 1.0 2.0##a missing video
            CLIP1 3.0 6.0##coloured bars
            BROKEN 0.0 1.0##an unreadable file
            """, path: "a.txt")
        let zero = ResidualTokenizer.zero(for: model)
        let eval = try GroundingEvaluation(model: model, batch: 4)
        let report = try await eval.run(
            annotations: list, videos: dir,
            settings: [.init(n: 2, p: 0.85, strategy: .center, tokenizerName: "A=0", tokenizer: zero)])
        XCTAssertEqual(report.missing, ["GONE"])
        XCTAssertEqual(report.failed.map(\.video), ["BROKEN"])
        XCTAssertEqual(report.rows.map(\.setting), ["full CLIP", "ResidualViT"])
        XCTAssertEqual(report.rows.map(\.queries), [2, 2])
        XCTAssertEqual(report.rows.map(\.videos), [1, 1])
        for r in report.rows {
            for v in [r.r1_iou03, r.r1_iou05, r.r1_iou07, r.r5_iou03, r.r5_iou05, r.r5_iou07, r.miou] {
                XCTAssertTrue((0...100).contains(v))
            }
            XCTAssertGreaterThanOrEqual(r.r5_iou03, r.r1_iou03)
            XCTAssertGreaterThanOrEqual(r.r1_iou03, r.r1_iou07)
        }
        // Nothing found at all: a typed error naming both inputs.
        do {
            _ = try await eval.run(annotations: Array(list[1...1]), videos: dir, settings: [], annotationsPath: "a.txt")
            XCTFail("expected an error")
        } catch let e as EvalError {
            XCTAssertEqual(e, .noVideos(annotations: "a.txt", videos: dir.path))
        }
    }
}
