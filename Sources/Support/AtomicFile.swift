import Foundation

/// Whole-file replacement that a reader never sees half done: the parts go to a temporary file
/// beside `url`, which is then renamed over it (rename is atomic within one file system).
public enum AtomicFile {
    /// Writes `parts` one after another (no concatenated copy of a large part); `sync` flushes
    /// the bytes to disk before the rename. On failure the temporary file is removed and the
    /// old file, if any, is left as it was.
    public static func write(_ parts: [Data], to url: URL, sync: Bool = false) throws {
        let tmp = url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max))")
        do {
            try (parts.first ?? Data()).write(to: tmp)
            if parts.count > 1 || sync {
                let h = try FileHandle(forWritingTo: tmp)
                defer { try? h.close() }
                try h.seekToEnd()
                for part in parts.dropFirst() { try h.write(contentsOf: part) }
                if sync { try h.synchronize() }
            }
            guard rename(tmp.path, url.path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }
}
