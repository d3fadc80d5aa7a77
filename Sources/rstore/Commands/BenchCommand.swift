import ArgumentParser

/// `rstore bench ...`: benchmarks that print figures and ratios against a roofline measured in the same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (figures and ratios, never pass/fail).",
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
}
