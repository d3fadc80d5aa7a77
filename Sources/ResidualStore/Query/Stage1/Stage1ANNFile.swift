import CKernels
import Foundation
import Support

/// Stage 1's approximate index persisted beside the store (`<store>.ann`), so a process does
/// not re-read every I-feature of a large library before its first query.
///
/// Like `<store>.matrix` it is a cache the store can always rebuild: it lists, per video, its
/// id and generation (`updatedAt`), so on load videos that changed are removed and re-added
/// and gone ones removed. It is never trusted: magic, format, sizes, the 64-bit checksum of
/// the body, the model hash, the dimension and the FAISS factory are checked before FAISS
/// parses a byte, and FAISS's own parse errors are caught (`FaissIndex`). A file that fails
/// any check is rebuilt from the store with a warning.
///
/// Layout (little-endian): "RSA1", format u32, dim u32, videos u32, rows u64, trained-on rows
/// u64, store generation i64, body bytes u64, checksum u64 (`rs_hash64` of the FAISS bytes seeded with that of the table), model hash
/// (64 bytes, zero padded), factory (64 bytes, zero padded); body: per video (id i64,
/// generation f64, rows u32), then the FAISS index bytes.
enum Stage1ANNFile {
    static let magic = Data("RSA1".utf8)
    static let format: UInt32 = 1
    static let headerSize = 4 + 4 + 4 + 4 + 8 + 8 + 8 + 8 + 8 + 64 + 64

    typealias Segment = MatrixFile.Segment

    /// What a file held: the index, its per-video table, and how many rows it was trained on.
    struct Contents {
        var index: FaissIndex
        var segments: [Segment]
        var trainedOn: Int
        var generation: Int64
        /// The FAISS factory string it was made with.
        var factory = ""
    }

    enum LoadError: Error, CustomStringConvertible {
        case unreadable(String), damaged(String), stale(String)
        var description: String {
            switch self {
            case .unreadable(let s): "unreadable: \(s)"
            case .damaged(let s): "damaged: \(s)"
            case .stale(let s): "stale: \(s)"
            }
        }
    }

    /// Reads and checks the file; nil when there is none, a `LoadError` naming the cause when
    /// it cannot be used.
    static func read(_ url: URL, dim: Int, model: String, factory: String?) throws(LoadError) -> Contents? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch { throw .unreadable("\(error)") }
        guard data.count >= headerSize else { throw .damaged("\(data.count) bytes, shorter than the header") }
        var r = ByteReader(data)
        guard r.bytes(4) == magic else { throw .damaged("not an index file (magic)") }
        let fmt = r.u32()
        guard fmt == format else { throw .stale("format \(fmt), expected \(format)") }
        let fileDim = Int(r.u32())
        guard fileDim == dim else { throw .stale("dimension \(fileDim), the model's is \(dim)") }
        let videoCount = r.u32()
        let rowCount = r.u64()
        let trainedOn = r.u64()
        let generation = Int64(bitPattern: r.u64())
        let bodyBytes = r.u64()
        let checksum = r.u64()
        let modelField = r.bytes(64)
        let factoryField = r.bytes(64)
        guard videoCount <= 10_000_000, rowCount <= 1 << 40, trainedOn <= 1 << 40, bodyBytes <= 1 << 44 else {
            throw .damaged("header counts out of range")
        }
        guard Int(bodyBytes) == data.count - headerSize else {
            throw .damaged("body of \(data.count - headerSize) bytes, header says \(bodyBytes)")
        }
        guard modelField == MatrixFile.modelBytes(model) else { throw .stale("written for another model") }
        let fileFactory = String(decoding: factoryField.prefix { $0 != 0 }, as: UTF8.self)
        if let factory, factory != fileFactory { throw .stale("index \(fileFactory), configured \(factory)") }
        let body = data[(data.startIndex + headerSize)...]
        let tableBytes = Int(videoCount) * Segment.tableBytes
        guard tableBytes < body.count else { throw .damaged("table of \(videoCount) videos larger than the body") }
        let table = body.prefix(tableBytes)
        let faiss = body.dropFirst(tableBytes)
        guard checksum == Self.checksum(table: table, faiss: faiss) else { throw .damaged("checksum mismatch") }
        let (segments, sum2) = Segment.readTable(&r, count: Int(videoCount))
        guard sum2 == Int(rowCount) else { throw .damaged("table rows \(sum2), header \(rowCount)") }
        let index: FaissIndex
        do {
            index = try faiss.withUnsafeBytes { try FaissIndex(serialized: $0) }
        } catch { throw .damaged("\(error)") }
        guard index.dim == dim, index.count == Int(rowCount), index.isTrained else {
            throw .damaged("index holds \(index.count) rows of \(index.dim), the table \(rowCount) of \(dim)")
        }
        return Contents(
            index: index, segments: segments, trainedOn: Int(trainedOn), generation: generation, factory: fileFactory)
    }

    /// Writes the file atomically (a temporary file renamed over it). Throws when it cannot:
    /// the caller warns and serves from memory.
    static func write(_ url: URL, _ c: Contents, model: String) throws {
        let faiss = try c.index.serialized()
        var table = Data()
        table.reserveCapacity(c.segments.count * Segment.tableBytes)
        Segment.appendTable(c.segments, to: &table)
        var out = magic
        out.appendLE(format)
        out.appendLE(UInt32(c.index.dim))
        out.appendLE(UInt32(c.segments.count))
        out.appendLE(UInt64(c.index.count))
        out.appendLE(UInt64(c.trainedOn))
        out.appendLE(UInt64(bitPattern: c.generation))
        out.appendLE(UInt64(table.count + faiss.count))
        out.appendLE(checksum(table: table, faiss: faiss))
        out.append(MatrixFile.modelBytes(model))
        out.append(MatrixFile.modelBytes(c.factory))
        out.append(table)
        // Header and table, then the FAISS bytes as they are (no copy of a large index).
        try AtomicFile.write([out, faiss], to: url, sync: true)
    }

    static func checksum(table: Data, faiss: Data) -> UInt64 {
        let seed = table.withUnsafeBytes { rs_hash64($0.baseAddress, $0.count, 0x5253_4131) }
        return faiss.withUnsafeBytes { rs_hash64($0.baseAddress, $0.count, seed) }
    }
}
