import Foundation
import Support

/// How I-features are stored: quantised, then LZ4, inside a checked blob.
///
/// Blob layout (little-endian): "RSF1", codec u8, dim u16, count u32, raw length u32, CRC-32 of
/// the compressed payload u32, then the LZ4 payload. LZ4 gains little on float data; the size
/// comes from quantisation and from storing 1/(N+1) of the frames.
public enum FeatureCodec: String, Sendable, Codable, CaseIterable {
    /// IEEE half precision.
    case f16 = "f16+lz4"
    /// int8 with one float32 scale per vector (symmetric, round to nearest).
    case i8 = "i8+lz4"
    /// Plain float32 (tests and debugging).
    case f32 = "f32+lz4"

    var tag: UInt8 { switch self { case .f16: 1; case .i8: 2; case .f32: 3 } }

    /// Encodes `count` vectors of `dim` floats (row-major).
    public func encode(_ vectors: [Float], dim: Int) -> Data {
        precondition(dim > 0 && vectors.count % dim == 0)
        let count = vectors.count / dim
        var raw = [UInt8]()
        switch self {
        case .f16:
            raw.reserveCapacity(vectors.count * 2)
            for v in vectors { let b = Float16(v).bitPattern; raw.append(UInt8(b & 0xff)); raw.append(UInt8(b >> 8)) }
        case .f32:
            raw.reserveCapacity(vectors.count * 4)
            for v in vectors { withUnsafeBytes(of: v.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
        case .i8:
            raw.reserveCapacity(count * (4 + dim))
            for r in 0..<count {
                let row = vectors[r * dim..<(r + 1) * dim]
                let maxAbs = row.reduce(0) { max($0, abs($1)) }
                let scale: Float = maxAbs > 0 ? maxAbs / 127 : 1
                withUnsafeBytes(of: scale.bitPattern.littleEndian) { raw.append(contentsOf: $0) }
                for v in row { raw.append(UInt8(bitPattern: Int8(max(-127, min(127, (v / scale).rounded()))))) }
            }
        }
        let packed = LZ4Block.compress(raw) ?? []
        var blob = Data("RSF1".utf8)
        blob.append(tag)
        blob.appendLE(UInt16(dim))
        blob.appendLE(UInt32(count))
        blob.appendLE(UInt32(raw.count))
        blob.appendLE(CRC32.checksum(packed))
        blob.append(contentsOf: packed)
        return blob
    }

    /// Decodes a blob written by `encode`: (dim, row-major floats). Throws a reason on any
    /// inconsistency (magic, codec, sizes, checksum), never reads out of bounds.
    public static func decode(_ blob: Data) throws(BlobError) -> (dim: Int, values: [Float]) {
        let b = [UInt8](blob)
        guard b.count >= 19, b[0..<4].elementsEqual("RSF1".utf8) else { throw BlobError("not a feature blob (bad magic or \(b.count) bytes)") }
        guard let codec = FeatureCodec.allCases.first(where: { $0.tag == b[4] }) else { throw BlobError("unknown codec tag \(b[4])") }
        let dim = Int(b.readLE(UInt16.self, at: 5)), count = Int(b.readLE(UInt32.self, at: 7))
        let rawLength = Int(b.readLE(UInt32.self, at: 11)), crc = b.readLE(UInt32.self, at: 15)
        let payload = b[19...]
        guard CRC32.checksum(payload) == crc else { throw BlobError("checksum mismatch (stored \(crc), computed \(CRC32.checksum(payload)))") }
        let expected: Int
        switch codec {
        case .f16: expected = count * dim * 2
        case .f32: expected = count * dim * 4
        case .i8: expected = count * (4 + dim)
        }
        guard dim > 0, rawLength == expected else { throw BlobError("length \(rawLength) does not fit \(count) x \(dim) \(codec.rawValue)") }
        guard let raw = LZ4Block.decompress(payload, rawCount: rawLength) else { throw BlobError("LZ4 payload does not decompress to \(rawLength) bytes") }
        var out = [Float](repeating: 0, count: count * dim)
        switch codec {
        case .f16:
            for i in 0..<out.count { out[i] = Float(Float16(bitPattern: UInt16(raw[2 * i]) | UInt16(raw[2 * i + 1]) << 8)) }
        case .f32:
            for i in 0..<out.count { out[i] = Float(bitPattern: raw.readLE(UInt32.self, at: 4 * i)) }
        case .i8:
            for r in 0..<count {
                let base = r * (4 + dim)
                let scale = Float(bitPattern: raw.readLE(UInt32.self, at: base))
                for j in 0..<dim { out[r * dim + j] = Float(Int8(bitPattern: raw[base + 4 + j])) * scale }
            }
        }
        return (dim, out)
    }
}

/// A stored blob failed validation; the store adds path, video and frame.
public struct BlobError: Error, CustomStringConvertible {
    public let description: String
    init(_ reason: String) { description = reason }
}

extension Data {
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
}

extension Array where Element == UInt8 {
    func readLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var v: T = 0
        for i in 0..<MemoryLayout<T>.size { v |= T(self[offset + i]) << (8 * i) }
        return v
    }
}
