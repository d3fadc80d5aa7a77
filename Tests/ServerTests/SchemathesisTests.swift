import Foundation
import XCTest

/// The API against its own OpenAPI document: `Tools/schemathesis.sh` starts `rstore serve` on a
/// small store and runs schemathesis (checks: no 5xx, every response matches the schema).
/// Skipped when schemathesis is not installed, except in CI (`CI=true`), where that fails.
final class SchemathesisTests: XCTestCase {
    static var repoRoot: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL }

    /// The built `rstore` beside the test bundle (`swift build --build-tests` builds it).
    static var rstore: URL? {
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("rstore")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir.deleteLastPathComponent()
        }
        return nil
    }

    static func onPath(_ tool: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
        }
    }

    func testAPIConformsToItsOpenAPIDocument() throws {
        guard Self.onPath("schemathesis") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("schemathesis is not installed (pip install schemathesis); .ci/run installs it")
                return
            }
            throw XCTSkip("schemathesis is not installed (pip install schemathesis)")
        }
        let p = Process()
        p.executableURL = Self.repoRoot.appendingPathComponent("Tools/schemathesis.sh")
        var env = ProcessInfo.processInfo.environment
        if let bin = Self.rstore { env["RSTORE"] = bin.path }
        env["NO_COLOR"] = "1"
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, "schemathesis failed:\n\(text.suffix(8000))")
        XCTAssertTrue(text.contains("passed"), text.suffix(2000).description)
    }
}
