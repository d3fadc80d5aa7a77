import Foundation

/// Writes a float32 `.npy` matrix of `columns` columns row by row, never holding more than
/// one batch: the header is written first with a placeholder row count (right-aligned in a
/// fixed width) and rewritten in place by `finish`, so the file is valid only once finished.
/// It is written to `<path>.partial` and renamed then; a crash leaves no half-counted file.
public final class NPYWriter {
    public let url: URL
    public let columns: Int
    public private(set) var rows = 0
    private let partial: URL
    private let handle: FileHandle
    private let descr: String
    static let countWidth = 20

    public init(url: URL, columns: Int, descr: String = "<f4") throws {
        self.url = url
        self.columns = columns
        self.descr = descr
        partial = URL(fileURLWithPath: url.path + ".partial")
        FileManager.default.createFile(atPath: partial.path, contents: nil)
        handle = try FileHandle(forWritingTo: partial)
        try handle.write(
            contentsOf: NPY.header(descr: descr, shape: columns == 0 ? [0] : [0, columns], countWidth: Self.countWidth))
    }

    /// Appends rows (`values.count` must be a multiple of `columns`).
    public func append(_ values: [Float]) throws {
        precondition(columns > 0 ? values.count % columns == 0 : true)
        try values.withUnsafeBufferPointer { try handle.write(contentsOf: Data(buffer: $0)) }
        rows += columns > 0 ? values.count / columns : values.count
    }

    /// Rewrites the header with the real count, closes and renames the file into place.
    public func finish() throws {
        try handle.seek(toOffset: 0)
        try handle.write(
            contentsOf: NPY.header(
                descr: descr, shape: columns == 0 ? [rows] : [rows, columns], countWidth: Self.countWidth))
        try handle.close()
        _ = try? FileManager.default.removeItem(at: url)
        try FileManager.default.moveItem(at: partial, to: url)
    }

    /// Closes and removes the unfinished file.
    public func abandon() {
        try? handle.close()
        try? FileManager.default.removeItem(at: partial)
    }
}
