import Foundation
import TestSupport
import XCTest

/// `rstore bench ...` runs the `rstore-bench` executable beside `rstore` with the remaining
/// arguments (help too), its output and exit status passed through; without it, a clear error
/// naming where it was looked for and how to build it.
final class BenchForwardingTests: CLITestCase {
    override var tempPrefix: String { "bench-forward" }

    func testBenchBLASRunsThroughTheForwarder() throws {
        let r = try RStoreProcess.run(["bench", "blas", "--seconds", "0", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertNotNil(json["blas_core"] as? String, r.stdout)
        XCTAssertNil(json["sgemm_gflops"], "--seconds 0 times nothing")
    }

    func testHelpListsTheBenchmarks() throws {
        for args in [["bench", "--help"], ["help", "bench"]] {
            let r = try RStoreProcess.run(args)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
            for name in [
                "encoder", "residual", "store", "decode", "search", "blas", "workers", "cuts", "ingest", "scale",
            ] {
                XCTAssertTrue(r.stdout.contains("\n  \(name) "), "\(args) does not list \(name):\n\(r.stdout)")
            }
        }
        let one = try RStoreProcess.run(["help", "bench", "blas"])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stdout.contains("--seconds"), one.stdout)
    }

    func testTheBenchmarksExitStatusIsPassedThrough() throws {
        let r = try RStoreProcess.run(["bench", "no-such-bench"])
        XCTAssertEqual(r.status, 64, "a usage error of rstore-bench is rstore's: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("no-such-bench"), r.stderr)
    }

    func testMissingBenchBinaryIsNamedWithHowToBuildIt() throws {
        // A copy (not a link: /proc/self/exe would lead back to .build) of rstore, alone in a folder.
        let lone = dir.appendingPathComponent("rstore")
        try FileManager.default.copyItem(at: RStoreProcess.binary, to: lone)
        let r = try ExternalCommand.capture(lone, ["bench", "blas", "--seconds", "0"])
        let stderr = String(decoding: r.stderr, as: UTF8.self)
        XCTAssertEqual(r.status, 1, stderr)
        XCTAssertTrue(r.stdout.isEmpty, String(decoding: r.stdout, as: UTF8.self))
        XCTAssertTrue(stderr.contains(dir.appendingPathComponent("rstore-bench").path), stderr)
        XCTAssertTrue(stderr.contains("swift build --product rstore-bench"), stderr)
    }
}
