import Foundation
import XCTest

/// The real-world sample videos the decoding tests run on.
public enum SampleVideos {
    /// media/samples/*.mp4, sorted by name. Runs Tools/fetch-sample-videos.sh if they are
    /// missing; if that fails: XCTSkip when CI is unset, failure when CI is set.
    public static func all() throws -> [URL] {
        func list() -> [URL] {
            let files =
                (try? FileManager.default.contentsOfDirectory(at: TestPaths.samples, includingPropertiesForKeys: nil))
                ?? []
            return files.filter { $0.pathExtension == "mp4" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
        }
        var found = list()
        if found.isEmpty {
            let script = TestPaths.packageRoot.appendingPathComponent("Tools/fetch-sample-videos.sh").path
            _ = try? ExternalCommand.run("/bin/bash", [script])
            found = list()
        }
        if found.isEmpty {
            let msg = "sample videos missing in \(TestPaths.samples.path): run Tools/fetch-sample-videos.sh"
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail(msg)
                throw XCTSkip(msg)  // stop the test after recording the failure
            }
            throw XCTSkip(msg)
        }
        return found
    }
}
