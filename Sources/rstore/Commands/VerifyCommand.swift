import ArgumentParser
import Foundation
import RStoreCommandLine
import ResidualStore

/// `rstore verify`: decode every blob, and recompute a sample of I-features from the video files.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check every stored blob and recompute a sample of I-features.")

    @OptionGroup var library: LibraryOptions
    @Option(help: "I-features to recompute per video.") var sample = 3
    @Option(help: "Minimum cosine between stored and recomputed I-features.") var minCosine = 0.999

    func run() async throws {
        let report = try library.open().verify(sample: sample, minCosine: minCosine)
        for p in report.problems { print("problem: \(p)") }
        print("\(report.checked) I-features recomputed; \(report.problems.count) problem(s)")
        if !report.problems.isEmpty { throw ExitCode(1) }
    }
}
