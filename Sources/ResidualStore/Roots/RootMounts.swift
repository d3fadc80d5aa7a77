import Foundation

/// Where this process mounts the library's named roots (`--root NAME=PATH`), and the one mapping
/// between a file on this machine and its identity in the store.
///
/// A file under a root is stored as `NAME:relative/path` (see `StoredPath`), so machines that
/// mount the archive in different places agree on what it is; anything else keeps its absolute
/// path, as one-machine stores always have. Stored paths are input from other machines: a
/// relative part with `..`, a leading `/`, a NUL byte, or a symlink that leads out of the root
/// is refused, here and only here.
public struct RootMounts: Sendable, Equatable {
    /// Root name -> folder on this machine (as given, standardized).
    public let folders: [String: URL]

    public init() { folders = [:] }

    /// Throws `RootError.badName` for a name other than letters, digits, `-` and `_`.
    public init(_ folders: [String: URL]) throws {
        for name in folders.keys where !Self.isValidName(name) { throw RootError.badName(name) }
        self.folders = folders.mapValues { $0.standardizedFileURL }
    }

    public var isEmpty: Bool { folders.isEmpty }
    public var names: [String] { folders.keys.sorted() }

    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "_" }
    }

    /// The store's name for `file`: `NAME:relative` under the deepest root that holds it,
    /// else its absolute path. A file that lies in a root by name but whose real path (symlinks
    /// resolved) leaves it is refused: no other machine could find it there.
    package func storedPath(for file: URL) throws -> String {
        let f = file.standardizedFileURL.path
        for (name, base) in folders.sorted(by: { ($0.value.path.count, $1.key) > ($1.value.path.count, $0.key) }) {
            for b in Set([base.path, Self.realPath(base.path) ?? base.path]) {
                guard let rel = Self.relative(f, to: b), !rel.isEmpty else { continue }
                _ = try resolve(root: name, relative: rel)
                return StoredPath.rooted(root: name, path: rel).stored
            }
        }
        return f
    }

    /// Files under the roots as the queue holds them: relative paths grouped by root name,
    /// names sorted. Throws `RootError.underNoRoot` for a file under none of them.
    package func queueEntries(_ files: [URL]) throws -> [(root: String, paths: [String])] {
        var byRoot: [String: [String]] = [:]
        for f in files {
            guard case .rooted(let root, let rel) = StoredPath(try storedPath(for: f)) else {
                throw RootError.underNoRoot(path: f.path, roots: folders.map { "\($0.key)=\($0.value.path)" }.sorted())
            }
            byRoot[root, default: []].append(rel)
        }
        return byRoot.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The local file of a stored path; `video` names it in errors. Throws
    /// `RootError.notMounted` for a root this process was not given, `RootError.badPath` /
    /// `.leavesRoot` for a hostile relative part.
    public func file(for stored: String, video: Int64? = nil) throws -> URL {
        switch StoredPath(stored) {
        case .absolute(let p):
            // Never resolved against this process's working directory.
            guard p.hasPrefix("/") else { throw RootError.badPath(path: p, reason: .unrooted) }
            return URL(fileURLWithPath: p)
        case .rooted(let root, let rel):
            guard folders[root] != nil else {
                throw RootError.notMounted(root: root, video: video, path: stored, mounted: names)
            }
            return try resolve(root: root, relative: rel)
        }
    }

    /// `relative` under root `name`, checked.
    func resolve(root name: String, relative rel: String) throws -> URL {
        try Self.checkRelative(rel)
        let base = folders[name]!
        let joined = base.appendingPathComponent(rel).standardizedFileURL
        // A missing file is left to the reader (it fails with "missing"); an existing one must
        // really be inside the root.
        if let real = Self.realPath(joined.path) {
            guard Self.relative(real, to: Self.realPath(base.path) ?? base.path) != nil else {
                throw RootError.leavesRoot(root: name, path: rel)
            }
        }
        return joined
    }

    /// The checks every client- or peer-supplied path gets before it touches the disk: not
    /// empty, at most 4096 bytes, no NUL, no `..` component; relative unless `allowAbsolute`.
    public static func checkRelative(_ path: String, allowAbsolute: Bool = false) throws {
        if path.isEmpty { throw RootError.badPath(path: path, reason: .empty) }
        if path.utf8.count > 4096 { throw RootError.badPath(path: String(path.prefix(64)) + "…", reason: .tooLong) }
        if path.contains("\0") {
            throw RootError.badPath(path: path.replacingOccurrences(of: "\0", with: "\\0"), reason: .nul)
        }
        if path.split(separator: "/", omittingEmptySubsequences: true).contains("..") {
            throw RootError.badPath(path: path, reason: .traversal)
        }
        if !allowAbsolute && path.hasPrefix("/") { throw RootError.badPath(path: path, reason: .absolute) }
    }

    /// `path` relative to `folder` ("" for the folder itself), nil when it is not inside it.
    /// Both are taken as given (standardized or real paths, not mixed).
    public static func relative(_ path: String, to folder: String) -> String? {
        if path == folder { return "" }
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : nil
    }

    /// realpath(3), nil when the path does not exist.
    public static func realPath(_ p: String) -> String? {
        guard let r = realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }
}

/// A video's path as the store holds it: absolute (one machine), or relative to a named root.
/// The rooted form `NAME:relative/path` never starts with `/`, so it cannot be mistaken for an
/// absolute path, and stores written before roots existed read as `.absolute`.
public enum StoredPath: Sendable, Equatable {
    case absolute(String)
    case rooted(root: String, path: String)

    public init(_ stored: String) {
        if !stored.hasPrefix("/"), let colon = stored.firstIndex(of: ":"),
            RootMounts.isValidName(String(stored[..<colon]))
        {
            self = .rooted(root: String(stored[..<colon]), path: String(stored[stored.index(after: colon)...]))
        } else {
            self = .absolute(stored)
        }
    }

    public var stored: String {
        switch self {
        case .absolute(let p): return p
        case .rooted(let r, let p): return "\(r):\(p)"
        }
    }
}

/// A stored path that cannot become a file here.
public enum RootError: Error, CustomStringConvertible, Equatable {
    public enum Reason: String, Sendable { case empty, tooLong, nul, traversal, absolute, unrooted }
    /// The video lives under a root this process was not given (`--root NAME=PATH`).
    case notMounted(root: String, video: Int64?, path: String, mounted: [String])
    case badPath(path: String, reason: Reason)
    /// The path exists, but its real path (symlinks resolved) is outside its root.
    case leavesRoot(root: String, path: String)
    case badName(String)
    /// A file to queue lies under none of the named roots (a shared library's queue holds root-relative paths only).
    case underNoRoot(path: String, roots: [String])

    public var description: String {
        switch self {
        case .notMounted(let root, let video, let path, let mounted):
            let which = video.map { "video \($0) (\(path))" } ?? path
            return
                """
                \(which) lies under library root `\(root)`, which is not mounted here (roots given: \
                \(mounted.isEmpty ? "none" : mounted.joined(separator: ", "))); pass --root \(root)=PATH
                """
        case .badPath(let path, let reason):
            let why =
                switch reason {
                case .empty: "it is empty"
                case .tooLong: "it is longer than 4096 bytes"
                case .nul: "it contains a NUL byte"
                case .traversal: "it contains `..`"
                case .absolute: "a path under a root must be relative"
                case .unrooted: "a stored path must be absolute or NAME:relative/path"
                }
            return "path \(path) refused: \(why)"
        case .leavesRoot(let root, let path):
            return "\(root):\(path) resolves outside library root `\(root)` (a symlink leads out of it)"
        case .underNoRoot(let p, let r):
            return
                """
                \(p) lies under none of the named library roots \
                (\(r.isEmpty ? "none given" : r.joined(separator: ", "))): give --root NAME=PATH for the folder it is \
                in
                """
        case .badName(let n): return "library root name \"\(n)\": use letters, digits, - and _"
        }
    }
}
