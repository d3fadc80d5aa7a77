import ArgumentParser
import RStoreCommandLine

/// `rstore-bench ...` (also reached as `rstore bench ...`, which forwards here): benchmarks
/// that print figures and ratios against a roofline measured in the same run.
@main
struct RStoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rstore-bench",
        abstract: "Benchmarks (figures and ratios, never pass/fail).",
        discussion:
            """
            `rstore bench SUBCOMMAND ...` runs this binary (it sits beside `rstore`; build it with `swift build \
            --product rstore-bench`).
            """,
        subcommands: [
            BenchEncoderCommand.self,
            BenchResidualCommand.self,
            BenchStoreCommand.self,
            BenchDecodeCommand.self,
            BenchSearchCommand.self,
            BenchBLASCommand.self,
            BenchWorkersCommand.self,
            BenchCutsCommand.self,
            BenchIngestCommand.self,
            BenchScaleCommand.self,
        ]
    )

    /// Picks OpenBLAS's kernels for this CPU (may re-exec once) before anything else runs;
    /// after `rstore bench` forwarded here the choice is already made and inherited.
    static func main() async {
        BLASCore.adoptMachineKernels()
        await main(nil)
    }
}
