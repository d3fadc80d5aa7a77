import Foundation

/// Fresh folders under the system temp dir for tests; the caller removes them.
public enum TempDirectory {
    /// Creates `rstore-<name>-<8 random hex>`: the name says which test left it behind.
    public static func make(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("rstore-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    public static func remove(_ dir: URL?) {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }
}
