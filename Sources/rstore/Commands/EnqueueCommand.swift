import ArgumentParser
import Foundation
import RStoreCommandLine
import ResidualStore

/// `rstore enqueue --store postgres://... --root archive=/mnt/videos PATH...`: queue files for
/// the `rstore worker`s of a shared library (through the engine's `WorkQueue`: no model loaded).
struct EnqueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Queue video files and folders for the workers of a PostgreSQL library (`rstore worker`).")

    @Option(help: "The PostgreSQL store, postgres://user@host:port/db. Default: $RSTORE_STORE.") var store: String?
    @OptionGroup var root: LibraryRootOption
    @Argument(help: "Video files or folders (searched recursively), under a --root.") var paths: [String] = []
    @Flag(help: "Print a JSON summary.") var json = false

    func run() throws {
        guard !paths.isEmpty else { throw ValidationError("give video files or folders to queue") }
        let queue = try WorkQueue(url: try sharedStoreURL(store))
        defer { queue.close() }
        let roots = try root.roots()
        guard !roots.isEmpty else {
            throw ValidationError("give the library root the paths are under: --root NAME=PATH")
        }
        let done = try queue.enqueue(paths.map { URL(fileURLWithPath: $0) }, roots: roots)
        let counts = done.queue
        if json {
            struct Out: Encodable {
                var added: Int
                var queue: Library.QueueCounts
            }
            try printJSON(Out(added: done.queued, queue: counts))
        } else {
            print(
                """
                \(done.queued) queued (\(done.alreadyQueued) already queued); queue: \(counts.queued) queued, \
                \(counts.claimed) claimed, \(counts.done) done, \(counts.failed) failed
                """
            )
        }
    }
}
