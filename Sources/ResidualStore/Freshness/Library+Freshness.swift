import Foundation
import Store

/// Which stored videos' files were found unchanged in this process, at which size and mtime:
/// the fingerprint is read once per process (and again whenever size or mtime move).
final class FreshnessCache: @unchecked Sendable {
    private struct Seen: Equatable {
        var updatedAt: Double
        var size: Int64
        var mtime: Double
    }
    private let lock = NSLock()
    private var seen: [Int64: Seen] = [:]
    private let limit = 100_000

    func verified(_ v: VideoRecord, size: Int64, mtime: Double) -> Bool {
        lock.withLock { seen[v.id ?? -1] == Seen(updatedAt: v.updatedAt, size: size, mtime: mtime) }
    }

    func remember(_ v: VideoRecord, size: Int64, mtime: Double) {
        lock.withLock {
            if seen.count >= limit { seen.removeAll() }
            seen[v.id ?? -1] = Seen(updatedAt: v.updatedAt, size: size, mtime: mtime)
        }
    }
}

extension Library {
    /// Throws `FreshnessError` unless `v`'s file is still the one that was indexed: size and
    /// mtime every time (one stat), the fingerprint of its first and last MiB the first time in
    /// this process and whenever size or mtime changed. A file only touched (same fingerprint)
    /// is accepted. Called before any pixel of a stored video is read.
    public func checkFresh(_ v: VideoRecord) throws {
        let url = try file(of: v)
        let (size, mtime) = try FileFingerprint.stat(url)
        if freshness.verified(v, size: size, mtime: mtime) { return }
        if size != v.size {
            throw FreshnessError.stale(path: v.path, what: "size was \(v.size) bytes, now \(size)")
        }
        let moved = abs(mtime - v.mtime) > 1e-6
        let when = moved ? "modified \(Self.isoTime(mtime)), indexed version of \(Self.isoTime(v.mtime))" : ""
        if v.fingerprint.isEmpty {
            // Indexed before fingerprints: size and mtime are all there is.
            if moved { throw FreshnessError.stale(path: v.path, what: when) }
        } else {
            let now = try FileFingerprint.of(url)
            guard now.hash == v.fingerprint else {
                let what =
                    "content of its first or last MiB differs" + (moved ? "; \(when)" : " at the same size and mtime")
                throw FreshnessError.stale(path: v.path, what: what)
            }
        }
        freshness.remember(v, size: size, mtime: mtime)
    }

    /// The reason `v` cannot be read now (changed, moved, unreadable), or nil when it is fresh.
    public func staleness(_ v: VideoRecord) -> FreshnessError? {
        do {
            try checkFresh(v)
            return nil
        } catch let e as FreshnessError { return e } catch {
            return .unreadable(path: v.path, reason: "\(error)")
        }
    }

    static func isoTime(_ t: Double) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t))
    }
}
