import CLIP
import Foundation
import ResidualStore
import TestSupport
import XCTest

/// Search must answer like grounding: on a one-video library, the best moment of
/// `search(text, k: 1)` is the moment `ground(video, text)` ranks first.
final class SearchQualityTests: XCTestCase {
    /// 36 s of three visibly different scenes (GOP 10 s), so the similarity curve has structure.
    static func scenesVideo(in dir: URL) throws -> URL {
        try SceneVideos.threeScenes(in: dir, size: "320x240", rate: 25, seconds: 12, gop: 250)
    }

    func testSearchAndGroundReturnTheSameMomentInAOneVideoLibrary() async throws {
        let dir = try TempDirectory.make("quality")
        defer { TempDirectory.remove(dir) }
        let url = try Self.scenesVideo(in: dir)
        let lib = try Library(store: dir.appendingPathComponent("lib.rstore"), model: try TinyCLIP.model.get())
        let summary = try await lib.index([url])
        XCTAssertEqual(summary.failed, 0)
        let v = try XCTUnwrap(try lib.videos().first)
        for text in ["a colourful test pattern", "a fractal", "bars of colour", "a red ball"] {
            let grounded = try XCTUnwrap(try lib.ground(v, text: text).first)
            let found = try XCTUnwrap(try lib.search(text, k: 1).first)
            XCTAssertEqual(found.videoID, grounded.videoID)
            XCTAssertGreaterThanOrEqual(
                Grounding.iou((found.start, found.end), (grounded.start, grounded.end)), 0.8,
                "\(text): search \(found.start)-\(found.end) vs ground \(grounded.start)-\(grounded.end)")
        }
    }

    func testStage2IsBoundedByTheBudgetAndFlagsCoarseMomentsInsteadOfFailing() async throws {
        let dir = try TempDirectory.make("quality")
        defer { TempDirectory.remove(dir) }
        let url = try Self.scenesVideo(in: dir)
        let lib = try Library(store: dir.appendingPathComponent("lib.rstore"), model: try TinyCLIP.model.get())
        _ = try await lib.index([url])
        let v = try XCTUnwrap(try lib.videos().first)
        let text = "a colourful test pattern"
        let full = try lib.searchReport(text, k: 2)
        XCTAssertTrue(full.refined)
        XCTAssertGreaterThan(full.pFrames, 0)
        // Only edge and peak P-frames: at most 4N per refined candidate (2k candidates).
        XCTAssertLessThanOrEqual(full.pFrames, 4 * v.n * 2 * 2)
        XCTAssertLessThan(full.pFrames, v.frameCount - (v.frameCount + v.n) / (v.n + 1))

        let none = try lib.searchReport(text, k: 2, control: QueryControl(limits: .init(maxPFrames: 0)))
        XCTAssertEqual(none.pFrames, 0)
        XCTAssertFalse(none.refined)
        XCTAssertFalse(none.moments.isEmpty)
        XCTAssertTrue(none.moments.allSatisfy { !$0.refined })

        let some = try lib.searchReport(
            "bars of colour", k: 2, control: QueryControl(limits: .init(maxPFrames: 2 * v.n + 1)))
        XCTAssertLessThanOrEqual(some.pFrames, 2 * v.n + 1)
        XCTAssertFalse(some.moments.isEmpty)
    }
}
