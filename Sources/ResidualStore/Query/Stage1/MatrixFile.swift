import Foundation
import Store
import Support

/// The stage-1 matrix persisted beside the store (`<store>.matrix`), so a fresh process does
/// not decode every I-feature blob from SQLite before its first query.
///
/// The file lists, per video, its id and generation (`updatedAt`, which changes on every
/// re-index) and its rows. On load (`Library.stage1Matrix`, Stage1Build.swift), videos whose
/// generation still matches the store are taken from the file, new or changed ones are read
/// from the store, gone ones are dropped; the file is rewritten (atomically) only when
/// something changed. A file that is missing,
/// truncated, fails its CRC-32, or was written for another model or width is ignored and
/// rebuilt. It is a cache: deleting it only makes the next query's start slower.
///
/// Layout (little-endian): "RSM1", format u32, dim u32, videos u32, rows u64, model hash
/// (64 bytes, zero padded), CRC-32 of everything after the header u32; then per video
/// (id i64, generation f64, rows u32); per row frame u32; per row scale f32; codes i8 x dim.
enum MatrixFile {
    static let magic = Data("RSM1".utf8)
    static let format: UInt32 = 1
    static let headerSize = 4 + 4 + 4 + 4 + 8 + 64 + 4

    /// One video's run of rows, as both stage-1 files store it: 20 bytes (video, generation, rows).
    struct Segment: Equatable {
        var video: Int64
        var generation: Double
        var rows: Int

        static let tableBytes = 20

        /// Reads `count` entries; the second value is their total rows, for the caller's check.
        static func readTable(_ r: inout ByteReader, count: Int) -> (segments: [Segment], rows: Int) {
            var segments: [Segment] = []
            segments.reserveCapacity(count)
            var sum = 0
            for _ in 0..<count {
                let s = Segment(
                    video: Int64(bitPattern: r.u64()), generation: Double(bitPattern: r.u64()), rows: Int(r.u32()))
                segments.append(s)
                sum += s.rows
            }
            return (segments, sum)
        }

        static func appendTable(_ segments: [Segment], to data: inout Data) {
            for s in segments {
                data.appendLE(UInt64(bitPattern: s.video))
                data.appendLE(s.generation.bitPattern)
                data.appendLE(UInt32(s.rows))
            }
        }
    }

    /// Reads the file; nil when it is missing, damaged or not for this model and width.
    static func read(_ url: URL, dim: Int, model: String) -> (segments: [Segment], matrix: IFeatureMatrix)? {
        guard let data = try? Data(contentsOf: url, options: .alwaysMapped), data.count >= headerSize else {
            return nil
        }
        var r = ByteReader(data)
        guard r.bytes(4) == magic, r.u32() == format, Int(r.u32()) == dim else { return nil }
        // Counts are bounded before any arithmetic: a damaged header must read as "rebuild",
        // never overflow (which would trap on every start of the process).
        let videoCount = r.u32()
        let rowCount = r.u64()
        guard videoCount <= 10_000_000, rowCount <= 1 << 34, dim > 0, dim <= 1 << 16 else { return nil }
        let videos = Int(videoCount)
        let rows = Int(rowCount)
        let modelField = r.bytes(64)
        guard modelField == modelBytes(model) else { return nil }
        let crc = r.u32()
        let expected = videos * Segment.tableBytes + rows * (8 + dim)
        guard data.count == headerSize + expected,
            CRC32.checksum(data[(data.startIndex + headerSize)...]) == crc
        else { return nil }
        let (segments, sum) = Segment.readTable(&r, count: videos)
        guard sum == rows else { return nil }
        var frames: [Int] = []
        frames.reserveCapacity(rows)
        for _ in 0..<rows { frames.append(Int(r.u32())) }
        var scales = [Float](repeating: 0, count: rows)
        scales.withUnsafeMutableBytes { r.copy(into: $0) }
        var codes = [Int8](repeating: 0, count: rows * dim)
        codes.withUnsafeMutableBytes { r.copy(into: $0) }
        var rowList: [IFeatureMatrix.Row] = []
        rowList.reserveCapacity(rows)
        var j = 0
        for s in segments {
            for _ in 0..<s.rows {
                rowList.append(.init(video: s.video, frame: frames[j]))
                j += 1
            }
        }
        return (segments, IFeatureMatrix(dim: dim, codes: codes, scales: scales, rows: rowList))
    }

    /// Writes the file atomically (a temporary file renamed over it); best effort.
    static func write(_ url: URL, segments: [Segment], matrix m: IFeatureMatrix, model: String) {
        var body = Data()
        body.reserveCapacity(segments.count * Segment.tableBytes + m.rows.count * (8 + m.dim))
        Segment.appendTable(segments, to: &body)
        for r in m.rows { body.appendLE(UInt32(r.frame)) }
        m.scales.withUnsafeBytes { body.append(contentsOf: $0) }
        m.codes.withUnsafeBytes { body.append(contentsOf: $0) }
        var out = magic
        out.appendLE(format)
        out.appendLE(UInt32(m.dim))
        out.appendLE(UInt32(segments.count))
        out.appendLE(UInt64(m.rows.count))
        out.append(modelBytes(model))
        out.appendLE(CRC32.checksum(body))
        out.append(body)
        try? AtomicFile.write([out], to: url)
    }

    static func modelBytes(_ model: String) -> Data {
        var d = Data(model.utf8.prefix(64))
        d.append(Data(repeating: 0, count: 64 - d.count))
        return d
    }
}
