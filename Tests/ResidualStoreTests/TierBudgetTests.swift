import Foundation
import TestSupport
import XCTest

@testable import ResidualStore

/// The tier's default budget follows the library's hours, is capped by free disk, and a
/// fixed budget (or 0: off) overrides it; `tierStats` says how much of the library it holds.
final class TierBudgetTests: XCTestCase {
    let perHour = Double(TierBudget.framesPerHour + TierBudget.stillsPerHour)

    func testHoursTimesPerHourWithHeadroom() {
        let b = TierBudget.compute(hours: 100, freeDiskBytes: 1 << 50, fixedFrames: nil)
        XCTAssertFalse(b.cappedByDisk)
        XCTAssertEqual(
            Double(b.frames), (100 + TierBudget.headroomHours) * Double(TierBudget.framesPerHour), accuracy: 2)
        XCTAssertEqual(
            Double(b.stills), (100 + TierBudget.headroomHours) * Double(TierBudget.stillsPerHour), accuracy: 2)
        let empty = TierBudget.compute(hours: 0, freeDiskBytes: nil, fixedFrames: nil)
        XCTAssertEqual(Double(empty.frames + empty.stills), TierBudget.headroomHours * perHour, accuracy: 4)
        XCTAssertEqual(TierBudget.compute(hours: .nan, freeDiskBytes: nil, fixedFrames: nil), empty)
    }

    func testCappedByAShareOfFreeDiskPlusWhatTheTierHolds() {
        let free: Int64 = 4 << 30
        let b = TierBudget.compute(hours: 1000, freeDiskBytes: free, tierBytes: 1 << 30, fixedFrames: nil)
        XCTAssertTrue(b.cappedByDisk)
        XCTAssertEqual(Double(b.frames + b.stills), TierBudget.diskShare * Double(free + (1 << 30)), accuracy: 4)
        XCTAssertEqual(
            Double(b.stills) / Double(b.frames), Double(TierBudget.stillsPerHour) / Double(TierBudget.framesPerHour),
            accuracy: 1e-6)
        let full = TierBudget.compute(hours: 1000, freeDiskBytes: 0, fixedFrames: nil)
        XCTAssertEqual(full.frames, 0)
        XCTAssertTrue(full.cappedByDisk)
    }

    func testAFixedBudgetOverridesAndZeroIsOff() {
        let b = TierBudget.compute(hours: 1000, freeDiskBytes: 1, fixedFrames: 300 << 20)
        XCTAssertEqual(b.frames, 300 << 20)
        XCTAssertEqual(b.stills, (300 << 20) / 2)  // 12 MB of stills per 24 MB of frames
        XCTAssertFalse(b.cappedByDisk)
        XCTAssertEqual(TierBudget.compute(hours: 5, freeDiskBytes: nil, fixedFrames: 0).frames, 0)
        XCTAssertEqual(TierBudget.compute(hours: 5, freeDiskBytes: nil, fixedFrames: -3).stills, 0)
    }

    func testLibraryAppliesItsBudgetAndStatsSayWhatTheTierHolds() async throws {
        let dir = try TempDirectory.make("tierbudget")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = try StillsTests.clip(in: dir)
        let model = try TinyCLIP.model.get()
        let lib = try Library(store: dir.appendingPathComponent("a.rstore"), model: model)
        _ = try await lib.index([url])
        let v = try XCTUnwrap(try lib.videos().first)
        let s = try XCTUnwrap(try lib.tierStats())
        let expected = TierBudget.compute(
            hours: v.duration / 3600, freeDiskBytes: TierBudget.freeDiskBytes(at: URL(fileURLWithPath: s.path)),
            tierBytes: s.bytes + s.stillBytes, fixedFrames: nil)
        XCTAssertTrue(s.followsLibrary)
        XCTAssertEqual(s.cappedByDisk, expected.cappedByDisk)
        // Free disk moves while the test runs (other builds): within 1% of the recomputed figure.
        XCTAssertEqual(Double(s.byteBudget), Double(expected.frames), accuracy: Double(expected.frames) / 100 + 1)
        XCTAssertEqual(s.libraryHours, v.duration / 3600, accuracy: 1e-9)
        XCTAssertEqual(s.hoursHeld, s.libraryHours, accuracy: 1e-9, "every P-frame is held after ingest")
        XCTAssertEqual(s.shareHeld, 1, accuracy: 1e-9)
        XCTAssertEqual(s.bytesPerHour, Double(s.bytes) / s.hoursHeld, accuracy: 1e-6)

        // Half of the video's payloads evicted: half of its hours held.
        let p = v.frameCount - v.layout.iFrameCount(frames: v.frameCount)
        let tierURL = URL(fileURLWithPath: s.path)
        let sql = Process()
        sql.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sql.arguments = [
            "sqlite3", tierURL.path,
            "DELETE FROM payloads WHERE frame IN (SELECT frame FROM payloads ORDER BY frame LIMIT \(p / 2))",
        ]
        try sql.run()
        sql.waitUntilExit()
        let half = try XCTUnwrap(try lib.tierStats())
        XCTAssertEqual(half.shareHeld, Double(p - p / 2) / Double(p), accuracy: 1e-9)

        var fixed = Library.Configuration()
        fixed.frameTierBytes = 5 << 20
        let f = try XCTUnwrap(
            try Library(store: dir.appendingPathComponent("a.rstore"), model: model, configuration: fixed).tierStats())
        XCTAssertFalse(f.followsLibrary)
        XCTAssertEqual(f.byteBudget, 5 << 20)
        XCTAssertEqual(f.stillBudget, (5 << 20) / 2)
    }
}
