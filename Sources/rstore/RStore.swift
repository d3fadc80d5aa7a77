import ArgumentParser
import BuildInfo
import Foundation
import RStoreCommandLine
import ResidualStore

/// The `rstore` command-line tool: a thin layer over the library targets.
@main
struct RStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rstore",
        abstract: "Index video archives into CLIP embeddings (ResidualViT) and query them.",
        version: BuildInfo.version,
        groupedSubcommands: [
            CommandGroup(
                name: "Library",
                subcommands: [
                    IndexCommand.self, ListCommand.self, RemoveCommand.self, PruneCommand.self, StatsCommand.self,
                    VerifyCommand.self, ServeCommand.self, EnqueueCommand.self, WorkerCommand.self, StoreCommand.self,
                ]),
            CommandGroup(
                name: "Query",
                subcommands: [
                    SearchCommand.self, EmbedCommand.self, GroundCommand.self, ExportCommand.self, ScanCommand.self,
                ]),
            CommandGroup(
                name: "Model",
                subcommands: [ModelCommand.self, EncodeCommand.self, TrainTokenizerCommand.self, ProbeCommand.self]),
            CommandGroup(name: "Evaluation", subcommands: [EvalCommand.self]),
            CommandGroup(name: "Benchmarks", subcommands: [BenchCommand.self]),
        ]
    )

    /// Picks OpenBLAS's kernels for this CPU (may re-exec once) before anything else runs.
    static func main() async {
        BLASCore.adoptMachineKernels()
        if let w = StoreLocation.passwordWarning(arguments: CommandLine.arguments) {
            FileHandle.standardError.write(Data(w.utf8))
        }
        // `serve` options from RSTORE_* variables (the command line wins): see ServeEnvironment.
        var args = Array(CommandLine.arguments.dropFirst())
        // `rstore bench ...` and `rstore help bench ...` run `rstore-bench` (see BenchCommand).
        if args.first == "bench" || (args.count >= 2 && args[0] == "help" && args[1] == "bench") {
            let rest = args.first == "bench" ? Array(args.dropFirst()) : Array(args.dropFirst(2)) + ["--help"]
            do { try BenchCommand.forward(rest) } catch { Self.exit(withError: error) }
        }
        if args.first == "serve" {
            args =
                ["serve"]
                + ServeEnvironment.arguments(Array(args.dropFirst()), environment: ProcessInfo.processInfo.environment)
        }
        await main(args)
    }
}
