import Foundation
import Tensor
import TestSupport
import XCTest

/// rstore picks OpenBLAS kernels for the CPU it runs on (BLASCore): re-execs itself once with
/// OPENBLAS_CORETYPE when OpenBLAS fell back to a generic core, respects a user's choice, and
/// never loops. Expectations come from /proc/cpuinfo, so they hold on any x86-64 machine.
final class BLASCoreCommandTests: XCTestCase {
    static let guardVariable = "RSTORE_BLAS_DEFAULT_CORE"
    static let genericCores: Set<String> = [
        "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai",
        "coppermine", "northwood", "banias", "opteron", "opteron_sse3", "barcelona",
        "bobcat", "generic", "unknown",
    ]

    /// `rstore bench blas --seconds 0 --json` in a child with `environment`; fails the test
    /// (instead of hanging) if the child does not finish, as an exec loop would not.
    private func report(_ environment: [String: String?]) throws -> [String: Any] {
        let p = Process()
        p.executableURL = RStoreProcess.binary
        p.arguments = ["bench", "blas", "--seconds", "0", "--json"]
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning {
            p.terminate()
            XCTFail("rstore did not finish within 60 s (exec loop?)")
        }
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        return try XCTUnwrap(
            JSONSerialization.jsonObject(with: data) as? [String: Any], String(decoding: data, as: UTF8.self))
    }

    /// The core this machine should get, from its flags, when OpenBLAS alone picks `fallback`.
    private func expectedCore(fallback: String) throws -> String {
        guard Self.genericCores.contains(fallback.lowercased()) else { return fallback }
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let line = try XCTUnwrap(info.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(line.split(separator: ":")[1].split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return fallback
    }

    func testChildRunsTheKernelsThisCPUAllows() throws {
        try XCTSkipIf(
            ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil, "the test process runs a user-chosen core")
        let fallback = BLAS.coreName  // what OpenBLAS picks by itself here
        let expected = try expectedCore(fallback: fallback)
        let r = try report(["OPENBLAS_CORETYPE": nil, Self.guardVariable: nil])
        XCTAssertEqual(r["blas_core"] as? String, expected)
        if expected != fallback {
            XCTAssertEqual(r["blas_core_choice"] as? String, "auto")
            XCTAssertEqual(r["blas_default_core"] as? String, fallback)
            XCTAssertFalse(Self.genericCores.contains(expected.lowercased()))
        } else {
            XCTAssertEqual(r["blas_core_choice"] as? String, "default")
        }
    }

    func testAUserChosenCoreIsRespected() throws {
        // Prescott runs on every x86-64 CPU and is exactly what the rule would replace.
        let r = try report(["OPENBLAS_CORETYPE": "Prescott", Self.guardVariable: nil])
        XCTAssertEqual(r["blas_core"] as? String, "Prescott")
        XCTAssertEqual(r["blas_core_choice"] as? String, "user")
    }

    func testTheGuardStopsASecondExec() throws {
        // As if OpenBLAS had ignored the variable after the re-exec: the child must go on
        // with what it has (no further exec), and finish.
        try XCTSkipIf(
            ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil, "the test process runs a user-chosen core")
        let r = try report(["OPENBLAS_CORETYPE": nil, Self.guardVariable: "Prescott"])
        XCTAssertEqual(r["blas_core"] as? String, BLAS.coreName)
        XCTAssertEqual(r["blas_core_choice"] as? String, "default")
    }
}
