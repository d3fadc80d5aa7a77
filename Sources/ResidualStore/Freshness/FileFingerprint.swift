import Digest
import Foundation

/// How a stored video's file is recognised without hashing all of it: size, modification
/// time, and SHA-256 of the first and last MiB plus the size. Reading 2 MiB tells a replaced
/// or rewritten file from the indexed one before any of its pixels are trusted.
package struct FileFingerprint: Sendable, Equatable {
    package var size: Int64
    package var mtime: Double
    /// Hex SHA-256 of the first `window` bytes, the last `window` bytes and the size (UInt64 LE).
    package var hash: String

    package static let window = 1 << 20

    /// Size and mtime only (one `stat`). Throws `FreshnessError.missing` if the file is gone.
    package static func stat(_ url: URL) throws -> (size: Int64, mtime: Double) {
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: url.path),
            (attrs[.type] as? FileAttributeType) == .typeRegular
        else {
            throw FreshnessError.missing(path: url.path)
        }
        return (
            (attrs[.size] as? NSNumber)?.int64Value ?? 0,
            (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        )
    }

    /// Reads at most two windows of the file.
    package static func of(_ url: URL) throws -> FileFingerprint {
        let (size, mtime) = try stat(url)
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch { throw FreshnessError.missing(path: url.path) }
        defer { try? handle.close() }
        var sha = SHA256()
        do {
            sha.update(try handle.read(upToCount: window) ?? Data())
            let tail = max(0, size - Int64(window))
            try handle.seek(toOffset: UInt64(tail))
            sha.update(try handle.read(upToCount: window) ?? Data())
        } catch {
            throw FreshnessError.unreadable(path: url.path, reason: "\(error)")
        }
        withUnsafeBytes(of: UInt64(size).littleEndian) { sha.update($0) }
        return FileFingerprint(
            size: size, mtime: mtime, hash: sha.finalize().map { String(format: "%02x", $0) }.joined())
    }
}

/// A stored video's file is not the one that was indexed (or is gone): its pixels would not
/// match its stored features, so nothing is read from it until `rstore index` runs again.
public enum FreshnessError: Error, CustomStringConvertible, Equatable, Sendable {
    case missing(path: String)
    case unreadable(path: String, reason: String)
    /// `what` says what differs (size, modification time, content of the first/last MiB).
    case stale(path: String, what: String)

    public var path: String {
        switch self {
        case .missing(let p), .unreadable(let p, _), .stale(let p, _): return p
        }
    }

    public var description: String {
        switch self {
        case .missing(let p):
            return "\(p): the file was moved or deleted since it was indexed; run `rstore index` on its new path"
        case .unreadable(let p, let r): return "\(p): cannot read the file to check it is the one indexed: \(r)"
        case .stale(let p, let what):
            return
                """
                \(p): the file changed since it was indexed (\(what)); its stored features are stale until `rstore \
                index` runs on it again
                """
        }
    }
}
