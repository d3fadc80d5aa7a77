import Foundation
import XCTest

/// A test case with its own temp folder (removed afterwards) and the ffmpeg CLI to make
/// test videos in it.
class CLITestCase: XCTestCase {
    var dir: URL!

    /// Names the temp folder (`rstore-<prefix>-<uuid>`).
    var tempPrefix: String { "cli" }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rstore-\(tempPrefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func ffmpeg(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-v", "error", "-y"] + args
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
    }
}
