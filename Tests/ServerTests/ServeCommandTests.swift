import Foundation
import TestSupport
import XCTest

/// `rstore serve`'s token options, through the built binary: the failures it must refuse
/// before anything listens, and the warning for a token in argv.
final class ServeCommandTests: XCTestCase {
    func serve(_ args: [String], env: [String: String] = [:]) throws -> (status: Int32, stderr: String) {
        guard RStoreProcess.builtBinary != nil else { throw XCTSkip("rstore is not built beside the tests") }
        // --port 70000 makes every run that gets past the token stop at validation.
        let out = try RStoreProcess.run(
            [
                "serve", "--model", TestPaths.tinyCLIP.path,
                "--store",
                FileManager.default.temporaryDirectory.appendingPathComponent("rstore-serve-\(getpid()).rstore").path,
            ] + args,
            environment: env)
        return (out.status, out.stderr)
    }

    /// A password in a store URL on the command line is visible in `ps`: warned about, as --token is.
    func testPasswordInStoreURLIsWarnedAbout() throws {
        guard RStoreProcess.builtBinary != nil else { throw XCTSkip("rstore is not built beside the tests") }
        // Port 1 refuses at once; the warning comes before anything connects.
        let out = try RStoreProcess.run([
            "serve", "--model", TestPaths.tinyCLIP.path, "--store", "postgres://u:sekrit99@127.0.0.1:1/x", "--port",
            "70000",
        ])
        XCTAssertNotEqual(out.status, 0)
        XCTAssertTrue(out.stderr.contains("warning: the store URL on the command line holds a password"), out.stderr)
        XCTAssertFalse(out.stderr.contains("sekrit99"), out.stderr)
        let none = try RStoreProcess.run(
            ["serve", "--model", TestPaths.tinyCLIP.path, "--store", "postgres://u@127.0.0.1:1/x", "--port", "70000"],
            environment: ["PGPASSWORD": "sekrit99"])
        XCTAssertFalse(none.stderr.contains("warning"), none.stderr)
    }

    func testTokenOptions() throws {
        let dir = try TempDirectory.make("serve-tok")
        defer { TempDirectory.remove(dir) }
        let file = dir.appendingPathComponent("token")
        try "0123456789abcdef\n".write(to: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)

        let argv = try serve(["--token", "0123456789abcdef", "--port", "70000"])
        XCTAssertNotEqual(argv.status, 0)
        XCTAssertTrue(argv.stderr.contains("warning: --token puts the token in the process list"), argv.stderr)
        XCTAssertTrue(argv.stderr.contains("--port 70000"), argv.stderr)

        let fromFile = try serve(["--token-file", file.path, "--port", "70000"])
        XCTAssertFalse(fromFile.stderr.contains("warning"), fromFile.stderr)
        XCTAssertTrue(fromFile.stderr.contains("--port 70000"), fromFile.stderr)

        // A token file others may read is refused, as ssh refuses such a key.
        for mode in [0o644, 0o640, 0o604, 0o660] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file.path)
            let open = try serve(["--token-file", file.path, "--port", "70000"])
            XCTAssertNotEqual(open.status, 0)
            XCTAssertTrue(
                open.stderr.contains(
                    "--token-file \(file.path): permissions \(String(format: "%04o", mode)) are too open"), open.stderr)
            XCTAssertTrue(open.stderr.contains("chmod 600"), open.stderr)
            XCTAssertFalse(open.stderr.contains("--port 70000"), "refused before validation: \(open.stderr)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: file.path)
        XCTAssertTrue(try serve(["--token-file", file.path, "--port", "70000"]).stderr.contains("--port 70000"))

        let missing = try serve(["--token-file", dir.appendingPathComponent("nope").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("nope"), missing.stderr)

        let both = try serve(["--token", "0123456789abcdef", "--token-file", file.path])
        XCTAssertTrue(both.stderr.contains("not both"), both.stderr)

        let weak = try serve(["--host", "0.0.0.0"], env: ["RSTORE_TOKEN": "short"])
        XCTAssertNotEqual(weak.status, 0)
        XCTAssertTrue(weak.stderr.contains("RSTORE_TOKEN: the token is shorter than 8"), weak.stderr)

        let open = try serve(["--host", "0.0.0.0"])
        XCTAssertTrue(open.stderr.contains("refusing to bind 0.0.0.0 without a token"), open.stderr)

        let badHost = try serve(["--allow-host", "http://x/"])
        XCTAssertTrue(badHost.stderr.contains("--allow-host"), badHost.stderr)

        let noFolder = try serve(["--root", "archive=\(dir.appendingPathComponent("absent").path)"])
        XCTAssertNotEqual(noFolder.status, 0)
        XCTAssertTrue(
            noFolder.stderr.contains("--root archive=\(dir.appendingPathComponent("absent").path): not a folder"),
            noFolder.stderr)
        let badName = try serve(["--root", "a/b=\(dir.path)"])
        XCTAssertTrue(badName.stderr.contains("expected NAME=PATH"), badName.stderr)
    }
}
