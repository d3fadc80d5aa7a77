import ArgumentParser
import Foundation
import ResidualStore

/// `--root NAME=PATH`: where this machine mounts a named library root. Files under a root are
/// stored (and queued) relative to it, so machines that mount the archive in different places
/// agree; stored paths become files here through the same roots (`RootMounts`).
struct LibraryRootOption: ParsableArguments {
    @Option(
        name: .customLong("root"),
        help:
            """
            A named library root on this machine, NAME=PATH (repeatable), e.g. archive=/mnt/videos. Files under it \
            are stored as NAME:relative/path.
            """
    )
    var specs: [String] = []

    /// The roots given (none: every path stays absolute, as on one machine).
    func roots() throws -> RootMounts {
        var out: [String: URL] = [:]
        for spec in specs {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, RootMounts.isValidName(parts[0]), !parts[1].isEmpty else {
                throw ValidationError("--root \(spec): expected NAME=PATH (NAME of letters, digits, - and _)")
            }
            guard out[parts[0]] == nil else { throw ValidationError("--root \(parts[0]) given twice") }
            out[parts[0]] = URL(fileURLWithPath: parts[1])
        }
        return try RootMounts(out)
    }
}
