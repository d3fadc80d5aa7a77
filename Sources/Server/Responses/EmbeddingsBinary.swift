import Foundation
import ResidualStore

/// `application/octet-stream` form of `GET /v1/videos/{id}/embeddings`, all little-endian:
///
/// | offset | size | field |
/// | --- | --- | --- |
/// | 0 | 4 | magic `RSE1` (ASCII) |
/// | 4 | 4 | uint32 count (frames) |
/// | 8 | 4 | uint32 dims |
/// | 12 | 4 | uint32 reserved (0) |
/// | 16 | 8·count | float64 times (seconds since the stream start) |
/// | 16+8c | 4·count | uint32 frame indices |
/// | 16+12c | count, padded with zeros to a multiple of 4 | uint8 kinds: `I` (0x49) or `P` (0x50) |
/// | then | 4·count·dims | float32 rows, row-major, one per frame |
///
/// The same counts are in the `X-RStore-Count` and `X-RStore-Dims` response headers.
public enum EmbeddingsBinary {
    public static let magic: [UInt8] = Array("RSE1".utf8)

    public static func encode(_ rows: [Library.FrameEmbedding], dims: Int) -> [UInt8] {
        let c = rows.count
        let kindBytes = (c + 3) / 4 * 4
        var out: [UInt8] = []
        out.reserveCapacity(16 + 12 * c + kindBytes + 4 * c * dims)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        out.append(contentsOf: magic)
        u32(UInt32(c))
        u32(UInt32(dims))
        u32(0)
        for r in rows { withUnsafeBytes(of: r.time.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        for r in rows { u32(UInt32(r.index)) }
        for r in rows { out.append(r.kind == .i ? 0x49 : 0x50) }  // ASCII "I" / "P"
        out.append(contentsOf: [UInt8](repeating: 0, count: kindBytes - c))
        for r in rows {
            precondition(r.vector.count == dims)
            for f in r.vector { withUnsafeBytes(of: f.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        }
        return out
    }

    /// Parses the format back (for clients and tests): nil when malformed.
    public static func decode(_ bytes: [UInt8]) -> (times: [Double], indices: [Int], kinds: [String], rows: [[Float]])?
    {
        guard bytes.count >= 16, Array(bytes[0..<4]) == magic else { return nil }
        func u32(_ o: Int) -> UInt32 {
            UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        }
        func u64(_ o: Int) -> UInt64 { UInt64(u32(o)) | UInt64(u32(o + 4)) << 32 }
        let c = Int(u32(4))
        let d = Int(u32(8))
        let kindBytes = (c + 3) / 4 * 4
        let rowsAt = 16 + 12 * c + kindBytes
        guard bytes.count == rowsAt + 4 * c * d else { return nil }
        let times = (0..<c).map { Double(bitPattern: u64(16 + 8 * $0)) }
        let indices = (0..<c).map { Int(u32(16 + 8 * c + 4 * $0)) }
        let kinds = (0..<c).map { String(UnicodeScalar(bytes[16 + 12 * c + $0])) }
        let rows = (0..<c).map { r in (0..<d).map { Float(bitPattern: u32(rowsAt + 4 * (r * d + $0))) } }
        return (times, indices, kinds, rows)
    }
}
