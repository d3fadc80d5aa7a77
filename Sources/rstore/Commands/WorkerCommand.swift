import ArgumentParser
import Foundation
import RStoreCommandLine
import ResidualStore

/// `rstore worker --store postgres://... --root archive=/mnt/videos`: claims queued files and
/// indexes them until stopped (the loop, its lease heartbeat and deadline: `IndexWorker`).
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Serve the index queue of a PostgreSQL library (`rstore enqueue`) until stopped.")

    @OptionGroup var library: LibraryOptions
    @Option(help: "Sampling rate, frames per second.") var fps = IndexRecipe.default.fps
    @Option(help: "Frames per committed chunk (the unit of crash-safe resume).") var chunkFrames = IndexRecipe.default
        .chunkFrames
    @Option(help: "Exit after the queue has been empty this many seconds (default: serve until stopped).") var idleExit:
        Double?
    @Option(help: "Seconds between polls of an empty queue.") var poll = 1.0
    @Option(
        help:
            """
            Seconds one job may run before this worker gives it up (cancels the ingest, stops renewing, records the \
            attempt as failed).
            """
    )
    var jobDeadline = 6 * 3600.0
    @Option(
        help:
            """
            Claims of one job at most (workers that died or passed their deadline); then it is failed for good with \
            the reason.
            """
    )
    var maxAttempts = WorkQueue.defaultMaxAttempts

    func validate() throws {
        guard jobDeadline > 0 && jobDeadline <= 30 * 86_400 else {
            throw ValidationError("--job-deadline must be in (0, 2592000] seconds")
        }
        guard (1...1000).contains(maxAttempts) else { throw ValidationError("--max-attempts must be in 1...1000") }
        try checkRecipe(IndexRecipe(fps: fps, chunkFrames: chunkFrames))
        guard poll > 0 && poll <= 60 else { throw ValidationError("--poll must be in (0, 60]") }
    }

    func run() async throws {
        let roots = try library.root.roots()
        guard !roots.isEmpty else { throw ValidationError("give the library roots mounted here: --root NAME=PATH") }
        let queue = try WorkQueue(url: try sharedStoreURL(library.store))
        var config = Library.Configuration()
        config.recipe.fps = fps
        config.recipe.chunkFrames = chunkFrames
        let lib = try library.open(config, store: queue.store)
        var settings = IndexWorker.Settings()
        settings.idleExit = idleExit
        settings.poll = poll
        settings.jobDeadline = jobDeadline
        settings.maxAttempts = maxAttempts
        try await IndexWorker(library: lib, queue: queue, settings: settings).run { s in
            FileHandle.standardError.write(Data((s + "\n").utf8))
        }
    }
}
