import Foundation
import ResidualStore

/// Confines client-supplied paths to the library roots.
///
/// A path is rejected when it is empty, too long, holds a NUL byte or a `..` component (400),
/// or when its real path (symlinks resolved with realpath(3)) lies outside every root (403),
/// so a symlink inside a root that points elsewhere is refused too. Every refusal of the second
/// kind reads the same ("not inside a library root"), so an answer never tells whether a
/// path outside the roots exists. Relative paths are taken
/// relative to the first root where they exist (else the first root).
public struct LibraryRoots: Sendable {
    /// Real paths of the roots.
    public let roots: [String]

    public init(_ urls: [URL]) {
        roots = urls.map { Self.realPath($0.path) ?? $0.standardizedFileURL.path }
    }

    public var isEmpty: Bool { roots.isEmpty }

    static func realPath(_ p: String) -> String? { RootMounts.realPath(p) }

    /// Whether `real` (already resolved) lies inside a root.
    public func contains(realPath real: String) -> Bool {
        roots.contains { RootMounts.relative(real, to: $0) != nil }
    }

    /// The one answer for a path that is not (or does not resolve) inside a root, existing or not.
    static func notInside(_ raw: String) -> APIError {
        APIError(.forbidden, "outside_library_roots", "path \(raw): not inside a library root")
    }

    /// Resolves a client path to a real path inside a root, or throws a 400/403/404 `APIError`.
    public func resolve(_ raw: String) throws -> URL {
        guard !roots.isEmpty else {
            throw APIError(
                .forbidden, "no_library_roots",
                "this server has no library roots: start `rstore serve` with --library-root DIR to index over HTTP")
        }
        do { try RootMounts.checkRelative(raw, allowAbsolute: true) } catch { throw APIError.from(error) }
        let candidates: [String]
        if raw.hasPrefix("/") {
            candidates = [raw]
        } else {
            candidates = roots.map { ($0 as NSString).appendingPathComponent(raw) }
        }
        guard let existing = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            // An absolute path elsewhere gets the same answer whether it exists or not (below
            // too): the client learns nothing about the disk outside the roots.
            if raw.hasPrefix("/"), !contains(realPath: (raw as NSString).standardizingPath) {
                throw Self.notInside(raw)
            }
            throw APIError(.notFound, "no_such_path", "no file or folder \(raw) under the library roots")
        }
        guard let real = Self.realPath(existing), contains(realPath: real) else { throw Self.notInside(raw) }
        return URL(fileURLWithPath: real)
    }
}
