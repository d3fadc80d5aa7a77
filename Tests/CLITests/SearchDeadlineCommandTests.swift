import Foundation
import TestSupport
import XCTest

/// `rstore search --coarse` (stage 1's moments only) and `--deadline` (stage 1's moments when
/// the time passes before stage 2 finishes) through the real binary.
final class SearchDeadlineCommandTests: CLITestCase {
    override var tempPrefix: String { "search-deadline" }

    struct Moment: Decodable, Equatable {
        let video_id: Int64
        let first_frame: Int
        let last_frame: Int
        let refined: Bool
    }
    struct Report: Decodable {
        let moments: [Moment]
        let p_frames: Int
        let refined: Bool
        let deadline_passed: Bool?
    }

    func rstore(_ args: [String], store: URL) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try RStoreProcess.run(
            [args[0], "--model", RStoreProcess.tinyModel.path, "--store", store.path] + args.dropFirst())
        return (r.status, r.stdout, r.stderr)
    }

    func search(_ args: [String], store: URL) throws -> (Report, stderr: String) {
        let r = try rstore(["search", "--json", "a test pattern", "-k", "3"] + args, store: store)
        XCTAssertEqual(r.status, 0, r.stderr)
        return (try JSONDecoder().decode(Report.self, from: Data(r.stdout.utf8)), r.stderr)
    }

    func testCoarseAndDeadlinePrintStageOnesMoments() throws {
        let store = dir.appendingPathComponent("lib.rstore")
        let a = dir.appendingPathComponent("a.mp4")
        try ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
            a.path,
        ])
        XCTAssertEqual(try rstore(["index", a.path, "--frame-tier-mb", "0"], store: store).status, 0)

        let full = try search([], store: store).0
        XCTAssertTrue(full.refined)
        XCTAssertGreaterThan(full.p_frames, 0)
        XCTAssertNil(full.deadline_passed, "only said with --deadline")
        let budget0 = try search(["--max-p-frames", "0"], store: store).0

        // --coarse: no P-frame, every moment flagged, the moments of a zero P-frame budget.
        let coarse = try search(["--coarse"], store: store).0
        XCTAssertEqual(coarse.p_frames, 0)
        XCTAssertFalse(coarse.refined)
        XCTAssertFalse(coarse.moments.isEmpty)
        XCTAssertTrue(coarse.moments.allSatisfy { !$0.refined })
        XCTAssertEqual(coarse.moments, budget0.moments)
        let text = try rstore(["search", "a test pattern", "-k", "3", "--coarse"], store: store)
        XCTAssertEqual(text.status, 0, text.stderr)
        let lines = text.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, coarse.moments.count)
        XCTAssertTrue(lines.allSatisfy { $0.hasSuffix("(coarse)") }, text.stdout)

        // A deadline that passes (the model alone takes longer to load): stage 1's moments, exit 0.
        // Several times: the process exits right after printing, so stage 2 must have stopped
        // (a search thread still running at exit once aborted the process in malloc).
        for _ in 0..<3 {
            let (late, note) = try search(["--deadline", "0.001"], store: store)
            XCTAssertEqual(late.deadline_passed, true)
            XCTAssertEqual(late.moments, budget0.moments)
            XCTAssertFalse(late.refined)
            XCTAssertTrue(note.contains("--deadline 0.001 s passed before stage 2 finished"), note)
        }

        // Time enough: the refined answer.
        let roomy = try search(["--deadline", "600"], store: store).0
        XCTAssertEqual(roomy.deadline_passed, false)
        XCTAssertEqual(roomy.moments, full.moments)

        for bad in ["0", "-1", "nan", "1e9", "soon"] {
            let r = try rstore(["search", "x", "--deadline", bad], store: store)
            XCTAssertNotEqual(r.status, 0, bad)
            XCTAssertTrue(r.stderr.contains("--deadline"), r.stderr)
        }

        // The decoding budget: 0 refines the best candidate only (nothing else is at hand with
        // the tier off); inf every one; a negative or unreadable budget is refused.
        let best = try search(["--frame-tier-mb", "0", "--refine-decode-budget", "0"], store: store).0
        XCTAssertTrue(best.moments.contains(where: \.refined))
        XCTAssertLessThanOrEqual(best.p_frames, full.p_frames)
        let every = try search(["--frame-tier-mb", "0", "--refine-decode-budget", "inf"], store: store).0
        XCTAssertEqual(every.moments, full.moments)
        for bad in ["-1", "nan", "lots"] {
            let r = try rstore(["search", "x", "--refine-decode-budget", bad], store: store)
            XCTAssertNotEqual(r.status, 0, bad)
            XCTAssertTrue(
                r.stderr.contains("--refine-decode-budget") || r.stderr.contains("refine-decode-budget"), r.stderr)
        }
    }
}
