import Foundation
import Support

#if canImport(Glibc)
import Glibc
#endif

/// Remembers the SHA-256 of weight files by (path, inode, size, mtime), so a process does not
/// hash hundreds of megabytes on every start (B/32: ~4 s). Any change of the file (rewrite,
/// replace, touch) changes one of the four and the hash is computed again; `rstore verify`
/// always recomputes it.
///
/// The cache is one small text file (`$RSTORE_HASH_CACHE`, else `$XDG_CACHE_HOME/rstore/weights-sha256`,
/// else `~/.cache/rstore/weights-sha256`), one entry a line, replaced atomically. Its content is
/// untrusted: lines that do not parse are ignored, and a missing or unreadable cache only
/// means hashing again.
public enum WeightsHashCache {
    /// What identifies one version of a file on disk.
    public struct Identity: Equatable, Sendable {
        public var path: String
        public var inode: UInt64
        public var size: Int64
        public var mtimeNanoseconds: Int64
    }

    static let maxEntries = 64
    static let maxFileBytes = 64 << 10

    public static var location: URL {
        let env = ProcessInfo.processInfo.environment
        if let p = env["RSTORE_HASH_CACHE"], !p.isEmpty { return URL(fileURLWithPath: p) }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("rstore/weights-sha256")
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/rstore/weights-sha256")
    }

    /// The file's identity now, or nil when it cannot be stat'ed.
    public static func identity(of url: URL) -> Identity? {
        let path = url.standardizedFileURL.path
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        return Identity(path: path, inode: UInt64(st.st_ino), size: Int64(st.st_size), mtimeNanoseconds: mtime)
    }

    /// The cached hash of the file as it is now, if any.
    public static func lookup(_ url: URL, cache: URL = location) -> String? {
        guard let id = identity(of: url) else { return nil }
        return entries(cache).first { $0.id == id }?.sha
    }

    /// Records `sha` for the file as it is now (best effort: a cache that cannot be written is
    /// not an error, only a slower next start).
    public static func store(_ sha: String, for url: URL, cache: URL = location) {
        guard isHexDigest(sha), let id = identity(of: url) else { return }
        var kept = entries(cache).filter { $0.id.path != id.path }
        kept.insert((id, sha), at: 0)
        let text =
            kept.prefix(maxEntries).map {
                "\($0.sha)\t\($0.id.inode)\t\($0.id.size)\t\($0.id.mtimeNanoseconds)\t\($0.id.path)"
            }
            .joined(separator: "\n") + "\n"
        let dir = cache.deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try? AtomicFile.write([Data(text.utf8)], to: cache)
    }

    /// Parsed entries; malformed lines are skipped, an oversized file is ignored.
    static func entries(_ cache: URL) -> [(id: Identity, sha: String)] {
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: cache.path),
            let size = (attrs[.size] as? NSNumber)?.intValue, size <= maxFileBytes,
            let data = try? Data(contentsOf: cache)
        else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false)
            guard f.count == 5, isHexDigest(String(f[0])), let ino = UInt64(f[1]), let size = Int64(f[2]),
                let mtime = Int64(f[3]), f[4].hasPrefix("/")
            else { return nil }
            return (Identity(path: String(f[4]), inode: ino, size: size, mtimeNanoseconds: mtime), String(f[0]))
        }
    }

    static func isHexDigest(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
