import Foundation
import TestSupport
import XCTest

/// `--from/--to` take seconds or ffmpeg's [HH:]MM:SS[.ms]; times print as HH:MM:SS.ss.
final class TimeArgumentTests: XCTestCase {
    func testClockTimesAndSecondsSelectTheSameFrames() throws {
        let dir = try TempDirectory.make("time-arg")
        defer { TempDirectory.remove(dir) }
        let video = dir.appendingPathComponent("a.mp4")
        try ExternalCommand.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "4", "-c:v", "libx264", "-g", "10", "-pix_fmt",
            "yuv420p", video.path,
        ])
        let model = RStoreProcess.tinyModel.path
        let store = dir.appendingPathComponent("s.rstore").path
        XCTAssertEqual(try RStoreProcess.run(["index", "--model", model, "--store", store, video.path]).status, 0)
        let embed = ["embed", "--model", model, "--store", store, video.path]
        let seconds = try RStoreProcess.run(embed + ["--from", "1.5", "--to", "2.5"])
        XCTAssertEqual(seconds.status, 0, seconds.stderr)
        XCTAssertEqual(seconds.stdout.split(separator: "\n").count, 3, "frames at 1.5, 2 and 2.5 s (2 fps)")
        for (from, to) in [("00:00:01.500", "0:02.5"), ("0:0:1.5", "00:02.500")] {
            let clock = try RStoreProcess.run(embed + ["--from", from, "--to", to])
            XCTAssertEqual(clock.status, 0, clock.stderr)
            XCTAssertEqual(clock.stdout, seconds.stdout, "--from \(from) --to \(to)")
        }
        for bad in ["1:75", "-1", "1::2", "a:b", "1:2:3:4", "nan", "01:02.5.1"] {
            let r = try RStoreProcess.run(embed + ["--from=\(bad)"])
            XCTAssertNotEqual(r.status, 0, bad)
            XCTAssertTrue(r.stderr.contains("--from") && r.stderr.contains(bad), r.stderr)
        }
        // The search filters and --like read clock times too.
        let search = ["search", "--model", model, "--store", store, "--json"]
        let likeSeconds = try RStoreProcess.run(search + ["--like", "\(video.path)@1.5", "--from", "1", "--to", "3"])
        XCTAssertEqual(likeSeconds.status, 0, likeSeconds.stderr)
        let likeClock = try RStoreProcess.run(
            search + ["--like", "\(video.path)@00:00:01.500", "--from", "0:01", "--to", "00:00:03"])
        XCTAssertEqual(likeClock.status, 0, likeClock.stderr)
        func moments(_ s: String) -> String {
            String(s[s.range(of: "\"moments\"")!.lowerBound...].prefix { $0 != "]" })
        }
        XCTAssertEqual(moments(likeClock.stdout), moments(likeSeconds.stdout))
        XCTAssertNotEqual(try RStoreProcess.run(search + ["--like", "\(video.path)@1:75"]).status, 0)

        // Printed times read back: HH:MM:SS.ss.
        let ground = try RStoreProcess.run(["ground", "--model", model, "--store", store, video.path, "a test pattern"])
        XCTAssertEqual(ground.status, 0, ground.stderr)
        XCTAssertNotNil(
            ground.stdout.range(
                of: #"^\d{2}:\d{2}:\d{2}\.\d{2}-\d{2}:\d{2}:\d{2}\.\d{2}  "#, options: .regularExpression),
            ground.stdout)
        XCTAssertTrue(ground.stdout.contains("00:00:04.00"), ground.stdout)
    }
}
