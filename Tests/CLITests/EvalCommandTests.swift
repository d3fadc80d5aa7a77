import Foundation
import TestSupport
import XCTest

/// `rstore eval fidelity` and `rstore eval grounding` as a user runs them (tiny CLIP, a
/// generated clip): one JSON object per row, missing videos listed, bad input named.
final class EvalCommandTests: CLITestCase {
    override var tempPrefix: String { "evalcli" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        try ffmpeg([
            "-f", "lavfi", "-i", "mandelbrot=size=160x120:rate=25", "-t", "4",
            "-c:v", "libx264", "-bf", "2", "-pix_fmt", "yuv420p", dir.appendingPathComponent("M1.mp4").path,
        ])
    }

    func rows(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func testFidelityJSONLines() throws {
        let model = RStoreProcess.tinyModel.path
        let video = dir.appendingPathComponent("M1.mp4").path
        let out = try RStoreProcess.run([
            "eval", "fidelity", video, "--model", model, "--strategy", "uniform,motion", "--json",
        ])
        XCTAssertEqual(out.status, 0, out.stderr)
        let r = try rows(out.stdout)
        XCTAssertEqual(r.map { $0["strategy"] as? String }, ["full", "uniform", "motion"])
        XCTAssertEqual(r[1]["p_frames"] as? Int, 5, "8 frames at 2 fps, N = 2: I-frames 0, 3, 6")
        for row in r.dropFirst() {
            let mean = try XCTUnwrap(row["mean_cosine"] as? Double)
            let low = try XCTUnwrap(row["min_cosine"] as? Double)
            XCTAssertLessThanOrEqual(low, mean)
            XCTAssertLessThan(
                try XCTUnwrap(row["gflops_per_frame"] as? Double), try XCTUnwrap(r[0]["gflops_per_frame"] as? Double))
        }
        let table = try RStoreProcess.run(["eval", "fidelity", video, "--model", model, "--strategy", "center"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("mean cos"), table.stdout)
        let bad = try RStoreProcess.run(["eval", "fidelity", video, "--model", model, "--strategy", "zigzag"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--strategy: cannot read zigzag"), bad.stderr)
    }

    func testGroundingListsMissingVideos() throws {
        let ann = dir.appendingPathComponent("sta.txt")
        try "M1 0.0 2.0##a fractal zooming in\nNOPE 1.0 2.0##not there\n".write(
            to: ann, atomically: true, encoding: .utf8)
        let out = try RStoreProcess.run([
            "eval", "grounding", "--annotations", ann.path, "--videos", dir.path,
            "--model", RStoreProcess.tinyModel.path, "--strategy", "uniform", "--json",
        ])
        XCTAssertEqual(out.status, 0, out.stderr)
        XCTAssertTrue(out.stderr.contains("1 video(s) not found") && out.stderr.contains("NOPE"), out.stderr)
        let r = try rows(out.stdout)
        XCTAssertEqual(r.map { $0["setting"] as? String }, ["full CLIP", "ResidualViT"])
        XCTAssertEqual(r.map { $0["queries"] as? Int }, [1, 1])
        for key in ["r1_iou03", "r1_iou05", "r1_iou07", "r5_iou03", "r5_iou05", "r5_iou07", "miou", "gflops_per_frame"]
        {
            XCTAssertNotNil(r[0][key] as? Double, key)
        }
        XCTAssertEqual(r[0]["preset"] as? String, "library")
        XCTAssertEqual(r[0]["fps"] as? Double, 2)

        // A preset sets the protocol; a value given overrides it and renames it.
        let sta = try RStoreProcess.run([
            "eval", "grounding", "--annotations", ann.path, "--videos", dir.path, "--preset", "activitynet",
            "--fps", "3", "--model", RStoreProcess.tinyModel.path, "--strategy", "uniform", "--json",
        ])
        XCTAssertEqual(sta.status, 0, sta.stderr)
        let s = try rows(sta.stdout)
        XCTAssertEqual(s[0]["preset"] as? String, "activitynet+overrides")
        XCTAssertEqual(s[0]["fps"] as? Double, 3)
        XCTAssertEqual(s[0]["threshold_shift"] as? Double ?? 0, 0.95, accuracy: 1e-6)
        let unknown = try RStoreProcess.run([
            "eval", "grounding", "--annotations", ann.path, "--videos", dir.path, "--preset", "mad",
            "--model", RStoreProcess.tinyModel.path,
        ])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("mad") && unknown.stderr.contains("charades-sta"), unknown.stderr)

        try "M1 0.0 2.0 no separator\n".write(to: ann, atomically: true, encoding: .utf8)
        let bad = try RStoreProcess.run([
            "eval", "grounding", "--annotations", ann.path, "--videos", dir.path,
            "--model", RStoreProcess.tinyModel.path,
        ])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("\(ann.path):1:"), bad.stderr)
    }
}
