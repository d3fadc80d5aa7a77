import Foundation
import TestSupport
import XCTest

/// `rstore probe` (through the engine's `VideoProbe`, no model or store): stream facts and the
/// sampled frames' offsets; a file that is no video fails with a message naming it.
final class ProbeCommandTests: CLITestCase {
    override var tempPrefix: String { "probe" }

    func testProbeListsTheSampledFrames() throws {
        let clip = dir.appendingPathComponent("clip.mp4")
        try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "2", "-pix_fmt", "yuv420p", clip.path])
        let r = try RStoreProcess.run(["probe", "--json", "--fps", "2", clip.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(Set(json.keys), ["info", "fps", "frames"], "no error key when decoding went to the end")
        let info = try XCTUnwrap(json["info"] as? [String: Any])
        XCTAssertEqual(info["width"] as? Int, 160)
        XCTAssertEqual(info["height"] as? Int, 120)
        let frames = try XCTUnwrap(json["frames"] as? [[String: Any]])
        XCTAssertEqual(frames.compactMap { $0["time"] as? Double }, [0, 0.5, 1, 1.5])
        XCTAssertEqual(frames.compactMap { $0["index"] as? Int }, [0, 1, 2, 3])

        let text = try RStoreProcess.run(["probe", "--fps", "2", clip.path])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("samples:     4 at 2.0 fps"), text.stdout)
    }

    func testANonVideoFailsNamingTheFile() throws {
        let bad = dir.appendingPathComponent("notes.mp4")
        try Data("not a video".utf8).write(to: bad)
        let r = try RStoreProcess.run(["probe", "--json", bad.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains(bad.path), r.stderr)
    }
}
