import ArgumentParser
import Foundation
import ResidualStore
import Store
import StorePostgres

/// `rstore enqueue --store postgres://... --root archive=/mnt/videos PATH...`: queue files for
/// the `rstore worker`s of a shared library.
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
        let pg = try PostgresStore(url: try sharedStoreURL(store))
        defer { pg.close() }
        let roots = try root.roots()
        guard !roots.isEmpty else { throw ValidationError("give the library root the paths are under: --root NAME=PATH") }
        let entries = try roots.queueEntries(Library.expand(paths.map { URL(fileURLWithPath: $0) }))
        let added = try pg.enqueue(entries)
        let counts = try pg.queueCounts()
        if json {
            struct Out: Encodable { var added: Int; var queue: QueueCounts }
            try printJSON(Out(added: added, queue: counts))
        } else {
            print("\(added) queued (\(entries.reduce(0) { $0 + $1.paths.count } - added) already queued); queue: \(counts.queued) queued, \(counts.claimed) claimed, \(counts.done) done, \(counts.failed) failed")
        }
    }
}

/// `--store`, else $RSTORE_STORE, as a PostgreSQL URL (commands that only make sense shared).
func sharedStoreURL(_ given: String?) throws -> String {
    guard let s = given ?? ProcessInfo.processInfo.environment["RSTORE_STORE"], PostgresLocation.isPostgres(s) else {
        throw ValidationError("this command needs a PostgreSQL store: --store postgres://user@host:port/db (or RSTORE_STORE)")
    }
    return s
}
