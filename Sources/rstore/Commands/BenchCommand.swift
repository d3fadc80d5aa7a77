import ArgumentParser
import Foundation
import RStoreCommandLine

/// `rstore bench ...`: the benchmarks live in their own executable, `rstore-bench`, beside this
/// one; this command runs it with the remaining arguments (help included) in this process's
/// place, so its output and exit status are the benchmark's. `RStore.main` forwards before
/// parsing (so `--help` reaches the benchmarks); this definition lists `bench` in `rstore --help`.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (figures and ratios, never pass/fail), run by `rstore-bench` beside rstore.")

    @Argument(parsing: .captureForPassthrough, help: "A benchmark and its options (`rstore bench --help` lists them).")
    var arguments: [String] = []

    func run() throws { try Self.forward(arguments) }

    /// Replaces this process with `rstore-bench arguments`; returns only by throwing
    /// `SiblingExecutable.Missing` (naming the path looked for) or the exec's failure.
    static func forward(_ arguments: [String]) throws -> Never {
        let bench = try SiblingExecutable("rstore-bench").require()
        let argv = ([bench.path] + arguments).map { strdup($0) } + [nil]
        execv(bench.path, argv)
        let why = String(cString: strerror(errno))
        for p in argv { free(p) }
        throw ForwardError(path: bench.path, reason: why)
    }

    struct ForwardError: Error, CustomStringConvertible {
        var path: String, reason: String
        var description: String { "could not run \(path): \(reason)" }
    }
}
