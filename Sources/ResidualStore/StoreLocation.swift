import Foundation
import Store
import StorePostgres

/// A store as front ends name it: a SQLite file, or postgres://user@host:port/db for a library
/// shared by many machines (with an index queue: `WorkQueue`). Front ends open stores through
/// here and never see the backends' modules.
public enum StoreLocation {
    /// Whether `location` names a shared (PostgreSQL) store rather than a file.
    public static func isShared(_ location: String) -> Bool { PostgresLocation.isPostgres(location) }

    /// A warning when the command line holds a store URL with a password (ps shows it to every
    /// user of the machine), nil otherwise.
    public static func passwordWarning(arguments: [String]) -> String? {
        PostgresLocation.argvPasswordWarning(arguments)
    }

    /// The store at `location`: postgres://... or a file (which must exist when only read).
    public static func open(_ location: String, readOnly: Bool) throws -> any FeatureStoring {
        if isShared(location) { return try PostgresStore(url: location) }
        let url = URL(fileURLWithPath: location)
        return readOnly ? try SQLiteStore.openReadOnly(url: url) : try SQLiteStore(url: url)
    }

    /// Copies the model and ready videos of the store at `from` into the store at `to` (created
    /// or extended; its model must be the same), blobs byte for byte; resumable. `progress`
    /// hears of each video (stored path, frames) before it is copied. Returns what was copied
    /// and both stores' names as they print (passwords redacted).
    public static func copy(from: String, to: String, progress: ((_ path: String, _ frames: Int) -> Void)? = nil)
        throws -> (summary: StoreCopy.Summary, from: String, to: String)
    {
        let source = try open(from, readOnly: true)
        let target = try open(to, readOnly: false)
        let summary = try StoreCopy.copy(from: source, to: target) { v in progress?(v.path, v.frameCount) }
        return (summary, source.path, target.path)
    }
}
