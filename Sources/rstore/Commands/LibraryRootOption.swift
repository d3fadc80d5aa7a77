import ArgumentParser
import Foundation

/// `--root NAME=PATH`: where this machine mounts a named library root. Queued paths are stored
/// relative to a root, so machines that mount the archive in different places agree.
struct LibraryRootOption: ParsableArguments {
    @Option(name: .customLong("root"), help: "A named library root on this machine, NAME=PATH (repeatable), e.g. archive=/mnt/videos.")
    var specs: [String] = []

    /// Root name -> absolute folder.
    func roots() throws -> [String: URL] {
        var out: [String: URL] = [:]
        for spec in specs {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), !parts[1].isEmpty else {
                throw ValidationError("--root \(spec): expected NAME=PATH (NAME of letters, digits, - and _)")
            }
            guard out[parts[0]] == nil else { throw ValidationError("--root \(parts[0]) given twice") }
            out[parts[0]] = URL(fileURLWithPath: parts[1]).standardizedFileURL
        }
        return out
    }

    /// `file` as (root name, path relative to it), for the queue.
    static func relative(_ file: URL, roots: [String: URL]) -> (root: String, path: String)? {
        let f = file.standardizedFileURL.path
        for (name, base) in roots.sorted(by: { $0.value.path.count > $1.value.path.count }) {
            let b = base.path.hasSuffix("/") ? base.path : base.path + "/"
            if f.hasPrefix(b) { return (name, String(f.dropFirst(b.count))) }
        }
        return nil
    }

    /// A queued (root, relative path) as a file on this machine; nil for a root not mounted here
    /// or a path that would leave its root (queue rows are input from other machines).
    static func resolve(root: String, path: String, roots: [String: URL]) -> URL? {
        guard let base = roots[root], !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else { return nil }
        return base.appendingPathComponent(path).standardizedFileURL
    }
}
