import Foundation
import TestSupport
import XCTest

/// `rstore stats` says what the decoded-frame tier holds against the library: hours held and
/// their share, the budget's kind, stills; and that the tier is off with `--frame-tier-mb 0`.
final class StatsTierCommandTests: CLITestCase {
    override var tempPrefix: String { "statstier" }

    func testStatsReportHoursHeldShareBudgetAndStills() throws {
        let video = dir.appendingPathComponent("v.mp4")
        try ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "10", "-c:v", "libx264", "-preset", "ultrafast",
            "-pix_fmt", "yuv420p", video.path,
        ])
        let common = ["--model", RStoreProcess.tinyModel.path, "--store", dir.appendingPathComponent("s.rstore").path]
        let index = try RStoreProcess.run(["index"] + common + [video.path])
        XCTAssertEqual(index.status, 0, index.stderr)

        let json = try RStoreProcess.run(["stats"] + common + ["--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let tier = try XCTUnwrap(doc["frame_tier"] as? [String: Any], json.stdout)
        XCTAssertEqual(tier["budget"] as? String, "library")
        XCTAssertEqual(tier["library_hours"] as? Double ?? 0, 10.0 / 3600, accuracy: 1e-3)
        XCTAssertEqual(tier["hours_held"] as? Double ?? 0, tier["library_hours"] as? Double ?? -1, accuracy: 1e-9)
        XCTAssertEqual(tier["share_held"] as? Double, 1)
        XCTAssertGreaterThan(tier["stills"] as? Int ?? 0, 0)
        XCTAssertGreaterThan(tier["still_budget"] as? Int ?? 0, 0)
        XCTAssertNotNil(tier["capped_by_disk"] as? Bool)

        let text = try RStoreProcess.run(["stats"] + common)
        XCTAssertTrue(text.stdout.contains("(follows the library"), text.stdout)
        XCTAssertTrue(text.stdout.contains("video-hours (100%); stills"), text.stdout)

        let fixed = try RStoreProcess.run(["stats"] + common + ["--frame-tier-mb", "8", "--json"])
        let fixedDoc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(fixed.stdout.utf8)) as? [String: Any])
        let fixedTier = try XCTUnwrap(fixedDoc["frame_tier"] as? [String: Any], fixed.stdout)
        XCTAssertEqual(fixedTier["budget"] as? String, "fixed")
        XCTAssertEqual(fixedTier["byte_budget"] as? Int, 8 << 20)

        let off = try RStoreProcess.run(["stats"] + common + ["--frame-tier-mb", "0"])
        XCTAssertTrue(off.stdout.contains("frame tier   off"), off.stdout)
    }
}
