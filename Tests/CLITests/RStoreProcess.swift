import Foundation
import Tensor
import XCTest

/// Runs the built `rstore` binary, as a user would.
struct RStoreProcess {
    struct Output { var status: Int32; var stdout: String; var stderr: String }

    static var binary: URL {
        // Tests run from .build/<config>/<Package>PackageTests.xctest; rstore sits beside it.
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("rstore")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../.build/debug/rstore").standardizedFileURL
    }

    static var repoRoot: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL }
    static var tinyModel: URL { repoRoot.appendingPathComponent("Tests/CLIPTests/Fixtures/tiny-clip") }

    /// For tests that compare the CLI's numbers with in-process ones at ~1e-6: the child runs
    /// the OpenBLAS kernels of this test process (rstore would otherwise pick faster ones,
    /// whose float sums differ in the last bits).
    static var sameBLASKernels: [String: String] { ["OPENBLAS_CORETYPE": BLAS.coreName] }

    /// Runs rstore with `environment` over this process's (a nil value removes the variable).
    @discardableResult
    static func run(_ args: [String], environment: [String: String?] = [:]) throws -> Output {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["RSTORE_MODEL"] = nil
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}
