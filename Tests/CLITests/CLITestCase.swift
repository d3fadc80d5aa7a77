import Foundation
import TestSupport
import XCTest

/// A test case with its own temp folder (removed afterwards) and the ffmpeg CLI to make
/// test videos in it.
class CLITestCase: XCTestCase {
    var dir: URL!

    /// Names the temp folder (`rstore-<prefix>-<uuid>`).
    var tempPrefix: String { "cli" }

    override func setUpWithError() throws {
        dir = try TempDirectory.make(tempPrefix)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func ffmpeg(_ args: [String]) throws {
        try ExternalCommand.ffmpeg(args)
    }
}
