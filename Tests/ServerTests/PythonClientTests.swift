import Foundation
import TestSupport
import XCTest

/// The Python client (clients/python, standard library + numpy) against a real `rstore serve`:
/// this test makes a small library (a.mp4 and b.mp4 indexed, c.mp4 for the client to index),
/// starts the server with a token and the library root, and runs the client's unittest suite
/// from the source tree (nothing is installed). Skipped without python3 and numpy, except in
/// CI (`CI=true`), where that fails.
final class PythonClientTests: XCTestCase {
    func testPythonClientAgainstALiveServer() throws {
        guard RStoreProcess.builtBinary != nil else { throw XCTSkip("rstore is not built beside the tests") }
        guard let python = ExternalCommand.find("python3"),
            (try? ExternalCommand.capture(URL(fileURLWithPath: python), ["-c", "import numpy"]).status) == 0
        else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("python3 with numpy is needed (.ci/run installs numpy)")
                return
            }
            throw XCTSkip("python3 with numpy is not installed")
        }
        let dir = try TempDirectory.make("pyclient")
        defer { TempDirectory.remove(dir) }
        let lib = dir.appendingPathComponent("lib")
        try FileManager.default.createDirectory(at: lib, withIntermediateDirectories: true)
        for (name, source, seconds) in [("a", "testsrc2", "4"), ("b", "smptebars", "3"), ("c", "testsrc", "2")] {
            try ExternalCommand.ffmpeg([
                "-f", "lavfi", "-i", "\(source)=size=160x120:rate=10", "-t", seconds, "-c:v", "libx264", "-g", "10",
                "-pix_fmt", "yuv420p", lib.appendingPathComponent("\(name).mp4").path,
            ])
        }
        let model = RStoreProcess.tinyModel.path
        let store = dir.appendingPathComponent("s.rstore").path
        let indexed = try RStoreProcess.run([
            "index", "--model", model, "--store", store,
            lib.appendingPathComponent("a.mp4").path, lib.appendingPathComponent("b.mp4").path,
        ])
        XCTAssertEqual(indexed.status, 0, indexed.stderr)
        let token = "py-client-token-0123"
        let tokenFile = dir.appendingPathComponent("token")
        try token.write(to: tokenFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokenFile.path)
        let server = try ServeProcess(
            [
                "--model", model, "--store", store, "--token-file", tokenFile.path, "--library-root", lib.path,
                "--log-level", "warning",
            ], logDirectory: dir)
        defer { server.stop() }

        let client = TestPaths.packageRoot.appendingPathComponent("clients/python")
        var env = ProcessInfo.processInfo.environment
        env["PYTHONPATH"] = client.appendingPathComponent("src").path
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["RSTORE_TEST_URL"] = server.url
        env["RSTORE_TEST_TOKEN"] = token
        let r = try ExternalCommand.capture(
            URL(fileURLWithPath: python),
            ["-m", "unittest", "discover", "-v", "-s", client.appendingPathComponent("tests").path],
            environment: env)
        let out = String(decoding: r.stdout + r.stderr, as: UTF8.self)
        XCTAssertEqual(
            r.status, 0,
            "python client tests failed:\n\(out.suffix(6000))\n--- server log\n\(server.stderr.suffix(2000))")
        XCTAssertTrue(out.contains("Ran 8 tests") && out.contains("OK") && !out.contains("skipped"), out)
    }
}
