import Foundation
import Support

/// How I-features are stored: quantised, then LZ4, inside a checked blob.
///
/// Blob layout (little-endian): "RSF1", tag u8, dim u16, count u32, raw length u32, CRC-32 of
/// the payload u32, then the payload. The tag's low 7 bits name the codec; its high bit says the
/// payload is the raw bytes, stored as is because LZ4 did not make them smaller (LZ4 gains
/// nothing on quantised embeddings, ratio ~1.004 the wrong way: the size comes from quantisation
/// and from storing 1/(N+1) of the frames). Byte-shuffling fp16 before LZ4 was measured and
/// dropped: 0% on random unit vectors, <1% on strongly correlated ones.
public enum FeatureCodec: String, Sendable, Codable, CaseIterable {
    /// IEEE half precision (default).
    case f16 = "f16+lz4"
    /// int8 with one float32 scale per vector (symmetric, round to nearest; |error| <= scale/2).
    case i8 = "i8+lz4"
    /// Plain float32 (tests and debugging).
    case f32 = "f32+lz4"

    var tag: UInt8 {
        switch self {
        case .f16: 1
        case .i8: 2
        case .f32: 3
        }
    }
    static let rawFlag: UInt8 = 0x80
    static let headerSize = 19
    /// Largest raw payload of one blob: 240 float32 vectors of 65,535 dims fit; the u32 length
    /// field alone would let a crafted header ask for 4 GiB.
    public static let maxRawBytes = 64 << 20

    /// Bytes of one vector before compression.
    public func rawBytes(dim: Int) -> Int {
        switch self {
        case .f16: 2 * dim
        case .i8: 4 + dim
        case .f32: 4 * dim
        }
    }

    /// Encodes `vectors.count / dim` vectors of `dim` floats (row-major). Refuses non-finite
    /// values, and values beyond half precision's range for f16, naming the vector's position.
    public func encode(_ vectors: [Float], dim: Int) throws(BlobError) -> Data {
        guard dim > 0, dim <= Int(UInt16.max), vectors.count % dim == 0 else {
            throw BlobError("\(vectors.count) values are not whole vectors of dimension \(dim)")
        }
        let count = vectors.count / dim
        guard count * rawBytes(dim: dim) <= Self.maxRawBytes else {
            throw BlobError(
                "\(count) vectors of dimension \(dim) take more than \(Self.maxRawBytes) bytes as \(rawValue)")
        }
        var raw = [UInt8](repeating: 0, count: count * rawBytes(dim: dim))
        if let bad = vectors.firstIndex(where: {
            !$0.isFinite || (self == .f16 && abs($0) > Float(Float16.greatestFiniteMagnitude))
        }) {
            throw BlobError("vector \(bad / dim) element \(bad % dim) is \(vectors[bad]), not storable as \(rawValue)")
        }
        raw.withUnsafeMutableBytes { out in
            vectors.withUnsafeBufferPointer { v in
                switch self {
                case .f16:
                    for i in 0..<v.count {
                        out.storeBytes(of: Float16(v[i]).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    }
                case .f32:
                    for i in 0..<v.count {
                        out.storeBytes(of: v[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                    }
                case .i8:
                    for r in 0..<count {
                        let row = UnsafeBufferPointer(rebasing: v[r * dim..<(r + 1) * dim])
                        let maxAbs = row.reduce(Float(0)) { max($0, abs($1)) }
                        let scale: Float = maxAbs > 0 ? maxAbs / 127 : 1
                        let base = r * (4 + dim)
                        out.storeBytes(of: scale.bitPattern.littleEndian, toByteOffset: base, as: UInt32.self)
                        for j in 0..<dim {
                            let q = Int8(max(-127, min(127, (row[j] / scale).rounded())))
                            out.storeBytes(of: q, toByteOffset: base + 4 + j, as: Int8.self)
                        }
                    }
                }
            }
        }
        var tag = self.tag
        var payload = raw
        if let packed = LZ4Block.compress(raw), packed.count < raw.count {
            payload = packed
        } else {
            tag |= Self.rawFlag
        }
        var blob = Data(capacity: Self.headerSize + payload.count)
        blob.append(contentsOf: "RSF1".utf8)
        blob.append(tag)
        blob.appendLE(UInt16(dim))
        blob.appendLE(UInt32(count))
        blob.appendLE(UInt32(raw.count))
        blob.appendLE(CRC32.checksum(payload))
        blob.append(contentsOf: payload)
        return blob
    }

    /// What a blob's header says, after checking magic, codec and sizes (not the payload).
    public static func header(_ blob: Data) throws(BlobError) -> (codec: FeatureCodec, dim: Int, count: Int) {
        let h = try parse(blob)
        return (h.codec, h.dim, h.count)
    }

    /// Decodes a blob written by `encode`: (dim, row-major floats).
    public static func decode(_ blob: Data) throws(BlobError) -> (dim: Int, values: [Float]) {
        var out: [Float] = []
        let (dim, _) = try decode(blob, appendingTo: &out)
        return (dim, out)
    }

    /// Decodes a blob, appending its vectors to `out` (the stage-1 search matrix is built this way
    /// without intermediate arrays). Throws a reason on any inconsistency (magic, codec, sizes,
    /// checksum, LZ4), never reads out of bounds, and leaves `out` unchanged when it throws.
    @discardableResult
    public static func decode(_ blob: Data, appendingTo out: inout [Float]) throws(BlobError) -> (dim: Int, count: Int)
    {
        let h = try parse(blob)
        let payload = blob.dropFirst(headerSize)
        let crc = CRC32.checksum(payload)
        guard crc == h.crc else { throw BlobError("checksum mismatch (stored \(h.crc), computed \(crc))") }
        let raw: [UInt8]
        if h.stored {
            guard payload.count == h.rawLength else {
                throw BlobError("stored payload is \(payload.count) bytes, header says \(h.rawLength)")
            }
            raw = [UInt8](payload)
        } else {
            // The header is outside the checksum: bound what it may make us allocate.
            guard h.rawLength <= payload.count * 256 else {
                throw BlobError("header claims \(h.rawLength) raw bytes from \(payload.count)")
            }
            guard let r = LZ4Block.decompress(payload, rawCount: h.rawLength) else {
                throw BlobError("LZ4 payload does not decompress to \(h.rawLength) bytes")
            }
            raw = r
        }
        let start = out.count
        let n = h.count * h.dim
        let dim = h.dim
        out.reserveCapacity(start + n)
        if h.codec == .f16, n > 0 {
            out.append(contentsOf: repeatElement(0, count: n))
            raw.withUnsafeBytes { src in
                out.withUnsafeMutableBufferPointer { dst in
                    HalfPrecision.widen(src.baseAddress!, count: n, into: dst.baseAddress! + start)
                }
            }
            return (dim, h.count)
        }
        raw.withUnsafeBytes { src in
            switch h.codec {
            case .f16:
                break  // decoded above (n > 0)
            case .f32:
                for i in 0..<n {
                    out.append(
                        Float(
                            bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    )
                }
            case .i8:
                for r in 0..<h.count {
                    let base = r * (4 + dim)
                    let scale = Float(
                        bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: base, as: UInt32.self)))
                    for j in 0..<dim {
                        out.append(Float(src.load(fromByteOffset: base + 4 + j, as: Int8.self)) * scale)
                    }
                }
            }
        }
        return (dim, h.count)
    }

    private struct Header {
        var codec: FeatureCodec
        var stored: Bool
        var dim: Int
        var count: Int
        var rawLength: Int
        var crc: UInt32
    }

    private static func parse(_ blob: Data) throws(BlobError) -> Header {
        guard blob.count >= headerSize, blob.prefix(4).elementsEqual("RSF1".utf8) else {
            throw BlobError("not a feature blob (bad magic or only \(blob.count) bytes)")
        }
        let tag = blob.byte(4)
        guard let codec = FeatureCodec.allCases.first(where: { $0.tag == tag & ~rawFlag }) else {
            throw BlobError("unknown codec tag \(tag)")
        }
        let dim = Int(blob.readLE(UInt16.self, at: 5))
        let count = Int(blob.readLE(UInt32.self, at: 7))
        let rawLength = Int(blob.readLE(UInt32.self, at: 11))
        let crc = blob.readLE(UInt32.self, at: 15)
        // count and dim come from 32- and 16-bit fields: their product cannot overflow Int.
        guard dim > 0, rawLength == count * codec.rawBytes(dim: dim) else {
            throw BlobError("raw length \(rawLength) does not fit \(count) x \(dim) \(codec.rawValue)")
        }
        guard rawLength <= maxRawBytes else {
            throw BlobError(
                """
                header claims \(count) x \(dim) \(codec.rawValue) (\(rawLength) bytes), more than a blob may hold \
                (\(maxRawBytes))
                """
            )
        }
        return Header(codec: codec, stored: tag & rawFlag != 0, dim: dim, count: count, rawLength: rawLength, crc: crc)
    }
}

/// A stored blob failed validation; the store adds path, video and frame.
public struct BlobError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ reason: String) { description = reason }
}

extension Data {
    /// The byte at `offset` from the start (Data slices keep their parent's indices).
    func byte(_ offset: Int) -> UInt8 { self[startIndex + offset] }

    func readLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var v: T = 0
        for i in 0..<MemoryLayout<T>.size { v |= T(byte(offset + i)) << (8 * i) }
        return v
    }
}

extension Array where Element == UInt8 {
    func readLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var v: T = 0
        for i in 0..<MemoryLayout<T>.size { v |= T(self[offset + i]) << (8 * i) }
        return v
    }
}
