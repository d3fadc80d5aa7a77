import ArgumentParser
import Foundation
import RStoreCommandLine
import ResidualStore

/// `rstore store ...`: operations on a store as a whole.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Operations on a whole store.", subcommands: [StoreCopyCommand.self])
}

/// `rstore store copy FROM TO`: SQLite <-> PostgreSQL (or any pair); check with `rstore verify --store TO`.
struct StoreCopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract:
            """
            Copy a store's model and ready videos to another store (a file or postgres://...), blobs byte for byte; \
            resumable.
            """
    )

    @Argument(help: "The store to copy: a file or postgres://user@host:port/db.") var from: String
    @Argument(help: "The store to copy into (created or extended; its model must be the same).") var to: String
    @Flag(help: "Print a JSON summary.") var json = false

    func run() throws {
        let (summary, source, target) = try StoreLocation.copy(from: from, to: to) { path, frames in
            FileHandle.standardError.write(Data("copying \(path) (\(frames) frames)\n".utf8))
        }
        if json {
            try printJSON(summary)
        } else {
            print(
                """
                \(summary.copied) videos copied (\(summary.frames) frames, \(summary.chunks) chunks), \
                \(summary.unchanged) already there; \(source) -> \(target)
                """
            )
        }
    }
}
