import ArgumentParser
import Foundation
import ResidualStore

/// The filters of `search` and `export` (`SearchFilter`). The root filter is `--in-root`:
/// `--root NAME=PATH` already says where a root is mounted on every library command.
struct FilterOptions: ParsableArguments {
    @Option(name: .customLong("in-root"), help: "Only videos under this named library root (repeatable).") var inRoot:
        [String] = []
    @Option(help: "Only videos whose stored path (or file here) lies under this prefix, folder-wise.") var pathPrefix:
        String?
    @Option(name: .customLong("video"), help: "Only this video id (repeatable).") var videoIDs: [Int64] = []
    @Option(help: "Only frames from this time of each video on: seconds or HH:MM:SS.ms.") var from: TimeArgument?
    @Option(help: "Only frames up to this time of each video: seconds or HH:MM:SS.ms.") var to: TimeArgument?

    var filter: SearchFilter {
        SearchFilter(roots: inRoot, pathPrefix: pathPrefix, videoIDs: videoIDs, from: from?.seconds, to: to?.seconds)
    }

    func validate() throws {
        do { try filter.validate() } catch let e as LibraryError { throw ValidationError(e.description) }
    }
}
