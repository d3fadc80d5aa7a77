import Foundation
import Tensor

/// Runs the built `rstore` binary, as a user would.
public enum RStoreProcess {
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// The `rstore` built beside the test bundle (`swift build --build-tests` builds it), if any.
    public static var builtBinary: URL? {
        // Tests run from .build/<config>/<Package>PackageTests.xctest; rstore sits beside it.
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("rstore")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir.deleteLastPathComponent()
        }
        return nil
    }

    public static var binary: URL {
        builtBinary ?? TestPaths.packageRoot.appendingPathComponent(".build/debug/rstore")
    }

    /// The model the CLI tests pass to `--model`.
    public static var tinyModel: URL { TestPaths.tinyCLIP }

    /// For tests that compare the CLI's numbers with in-process ones at ~1e-6: the child runs
    /// the OpenBLAS kernels of this test process (rstore would otherwise pick faster ones,
    /// whose float sums differ in the last bits).
    public static var sameBLASKernels: [String: String?] { ["OPENBLAS_CORETYPE": BLAS.coreName] }

    /// Runs `rstore args` with the caller's environment plus `environment` (a nil value removes
    /// the variable), minus the variables that would change which model or token it uses.
    @discardableResult
    public static func run(_ args: [String], environment: [String: String?] = [:]) throws -> Output {
        var env = ProcessInfo.processInfo.environment
        env["RSTORE_MODEL"] = nil
        env["RSTORE_TOKEN"] = nil
        for (k, v) in environment { env[k] = v }
        let r = try ExternalCommand.capture(binary, args, environment: env)
        return Output(
            status: r.status, stdout: String(decoding: r.stdout, as: UTF8.self),
            stderr: String(decoding: r.stderr, as: UTF8.self))
    }
}
