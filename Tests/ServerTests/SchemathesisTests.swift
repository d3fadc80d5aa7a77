import Foundation
import TestSupport
import XCTest

/// The API against its own OpenAPI document: `Tools/schemathesis.sh` starts `rstore serve` on a
/// small store and runs schemathesis (checks: no 5xx, every response matches the schema).
/// Skipped when schemathesis is not installed, except in CI (`CI=true`), where that fails.
final class SchemathesisTests: XCTestCase {
    func testAPIConformsToItsOpenAPIDocument() throws {
        guard ExternalCommand.find("schemathesis") != nil else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("schemathesis is not installed (pip install schemathesis); .ci/run installs it")
                return
            }
            throw XCTSkip("schemathesis is not installed (pip install schemathesis)")
        }
        let p = Process()
        p.executableURL = TestPaths.packageRoot.appendingPathComponent("Tools/schemathesis.sh")
        var env = ProcessInfo.processInfo.environment
        if let bin = RStoreProcess.builtBinary { env["RSTORE"] = bin.path }
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
