import Foundation
import ArgumentParser
import StorePostgres

/// The `rstore` command-line tool: a thin layer over the library targets.
@main
struct RStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rstore",
        abstract: "Index video archives into CLIP embeddings (ResidualViT) and query them.",
        subcommands: [
            IndexCommand.self,
            SearchCommand.self,
            EmbedCommand.self,
            GroundCommand.self,
            ExportCommand.self,
            ListCommand.self,
            RemoveCommand.self,
            PruneCommand.self,
            StatsCommand.self,
            VerifyCommand.self,
            EncodeCommand.self,
            ModelCommand.self,
            ScanCommand.self,
            ProbeCommand.self,
            BenchCommand.self,
            TrainTokenizerCommand.self,
            EvalCommand.self,
            ServeCommand.self,
            EnqueueCommand.self,
            WorkerCommand.self,
            StoreCommand.self,
        ]
    )

    /// Picks OpenBLAS's kernels for this CPU (may re-exec once) before anything else runs.
    static func main() async {
        BLASCore.adoptMachineKernels()
        if let w = PostgresLocation.argvPasswordWarning(CommandLine.arguments) { FileHandle.standardError.write(Data(w.utf8)) }
        await main(nil)
    }
}
