import Foundation
import Support

/// Where to find one sampled frame again: the store's own copy of the video layer's offsets
/// (storage knows nothing of decoding).
public struct FrameOffsetRecord: Sendable, Equatable, Codable {
    public var index: Int
    public var pts: Int64
    public var time: Double
    public var seekPTS: Int64

    public init(index: Int, pts: Int64, time: Double, seekPTS: Int64) {
        self.index = index
        self.pts = pts
        self.time = time
        self.seekPTS = seekPTS
    }
}

/// Frame offsets of consecutive frames in a checked blob, a byte or two a frame on regular
/// timelines (a row per frame would cost more than the I-features).
///
/// Layout "RSO2" (little-endian): magic, flags u8 (bit 0: payload stored without LZ4), count u32,
/// first index u32, raw length u32, CRC-32 of the payload u32, payload. The raw payload is the
/// chunk's seconds-per-tick estimate (f64 bits: last minus first time over last minus first pts),
/// then per frame three varints: the pts delta (zig-zag), the seek point's delta to the previous
/// frame's (zig-zag; 0 within a GOP), and the time's bits XOR those of its prediction
/// `previous time + pts delta * tick` (0 or a few low bits when time is a linear function of pts,
/// as `(pts - start) * timeBase` is). Times round-trip bit-exactly whatever they are.
/// "RSO1" blobs (pts delta, pts - seek point, time XOR previous time) are still read.
///
/// Blobs are hostile until checked: the header (outside the checksum) may claim any count or
/// length, so every size is bounded by the blob's own bytes before anything is allocated, and
/// the delta sums use checked arithmetic (a crafted delta is an error, not a wrapped pts).
public enum OffsetCodec {
    /// Largest raw payload decoded (and encoded): >= 280 k frames (up to 30 bytes each), 1.6 days
    /// at 2 fps, far beyond a chunk; caps what a crafted header makes a decode allocate.
    public static let maxRawBytes = 8 << 20
    /// Fewest raw bytes a frame takes (three one-byte varints).
    static let minFrameBytes = 3

    public static func encode(_ offsets: [FrameOffsetRecord]) throws(BlobError) -> Data {
        let first = offsets.first?.index ?? 0
        guard first >= 0, first + offsets.count <= Int(UInt32.max) else {
            throw BlobError("frame index \(first) out of range")
        }
        var tick = 0.0
        if let a = offsets.first, let b = offsets.last, b.pts != a.pts {
            tick = (b.time - a.time) / Double(b.pts &- a.pts)
            if !tick.isFinite { tick = 0 }
        }
        var raw = [UInt8]()
        raw.reserveCapacity(8 + offsets.count * 4)
        withUnsafeBytes(of: tick.bitPattern.littleEndian) { raw.append(contentsOf: $0) }
        var prevPTS: Int64 = 0
        var prevSeek: Int64 = 0
        var prevTime = 0.0
        for (i, o) in offsets.enumerated() {
            guard o.index == first + i else {
                throw BlobError("offsets of a chunk must be consecutive: frame \(o.index) follows \(first + i - 1)")
            }
            let (dPTS, o1) = o.pts.subtractingReportingOverflow(prevPTS)
            let (dSeek, o2) = o.seekPTS.subtractingReportingOverflow(prevSeek)
            guard !o1, !o2 else {
                throw BlobError(
                    "frame \(o.index): pts \(o.pts) / seek point \(o.seekPTS) too far from the previous frame's")
            }
            varint(zigzag(dPTS), &raw)
            varint(zigzag(dSeek), &raw)
            varint(o.time.bitPattern ^ predict(prevTime, dPTS, tick).bitPattern, &raw)
            prevPTS = o.pts
            prevSeek = o.seekPTS
            prevTime = o.time
        }
        guard raw.count <= maxRawBytes else {
            throw BlobError("\(offsets.count) frames take \(raw.count) bytes, more than a chunk may (\(maxRawBytes))")
        }
        var flags: UInt8 = 0
        var payload = raw
        if let packed = LZ4Block.compress(raw), packed.count < raw.count { payload = packed } else { flags |= 1 }
        var blob = Data("RSO2".utf8)
        blob.append(flags)
        blob.appendLE(UInt32(offsets.count))
        blob.appendLE(UInt32(first))
        blob.appendLE(UInt32(raw.count))
        blob.appendLE(CRC32.checksum(payload))
        blob.append(contentsOf: payload)
        return blob
    }

    static func predict(_ prevTime: Double, _ deltaPTS: Int64, _ tick: Double) -> Double {
        prevTime + Double(deltaPTS) * tick
    }

    public static func decode(_ blob: Data) throws(BlobError) -> [FrameOffsetRecord] {
        let (v2, count, first, raw) = try unpack(blob)
        var out: [FrameOffsetRecord] = []
        out.reserveCapacity(count)
        var pos = 0
        var prevPTS: Int64 = 0
        var prevSeek: Int64 = 0
        var prevTime = 0.0
        var tick = 0.0
        if v2 {
            guard raw.count >= 8 else { throw BlobError("offsets payload too short") }
            tick = Double(bitPattern: raw.readLE(UInt64.self, at: 0))
            pos = 8
        }
        for i in 0..<count {
            guard let d = readVarint(raw, &pos), let s = readVarint(raw, &pos), let t = readVarint(raw, &pos) else {
                throw BlobError("offsets payload ends after \(i) of \(count) frames")
            }
            let (pts, o1) = prevPTS.addingReportingOverflow(unzigzag(d))
            let (seek, o2) =
                v2 ? prevSeek.addingReportingOverflow(unzigzag(s)) : pts.subtractingReportingOverflow(unzigzag(s))
            guard !o1, !o2 else { throw BlobError("frame \(first + i): pts or seek point overflows 64 bits") }
            let time = Double(bitPattern: t ^ (v2 ? predict(prevTime, unzigzag(d), tick) : prevTime).bitPattern)
            out.append(FrameOffsetRecord(index: first + i, pts: pts, time: time, seekPTS: seek))
            prevPTS = pts
            prevSeek = seek
            prevTime = time
        }
        guard pos == raw.count else { throw BlobError("offsets payload has \(raw.count - pos) trailing bytes") }
        return out
    }

    /// The checked header and the raw payload (decompressed) of a blob.
    static func unpack(_ blob: Data) throws(BlobError) -> (v2: Bool, count: Int, first: Int, raw: [UInt8]) {
        let b = [UInt8](blob)
        let v2 = b.starts(with: "RSO2".utf8)
        guard v2 || b.starts(with: "RSO1".utf8) else { throw BlobError("not an offsets blob (bad magic)") }
        let h = v2 ? 5 : 4  // RSO2 has a flags byte
        guard b.count >= h + 16 else { throw BlobError("offsets blob of only \(b.count) bytes") }
        let flags = v2 ? b[4] : 0
        guard flags & ~1 == 0 else { throw BlobError("unknown offsets flags \(flags)") }
        let count = Int(b.readLE(UInt32.self, at: h))
        let first = Int(b.readLE(UInt32.self, at: h + 4))
        let rawLength = Int(b.readLE(UInt32.self, at: h + 8))
        let crc = b.readLE(UInt32.self, at: h + 12)
        let payload = b[(h + 16)...]
        guard CRC32.checksum(payload) == crc else { throw BlobError("offsets checksum mismatch") }
        // The header is outside the checksum: bound what it may make us allocate. Each frame
        // takes 3 to 30 raw bytes, LZ4 expands at most 255-fold, and no chunk is that large.
        let fixed = v2 ? 8 : 0
        guard rawLength <= maxRawBytes, rawLength <= fixed + count * 30, fixed + count * minFrameBytes <= rawLength,
            rawLength <= payload.count * 256
        else {
            throw BlobError(
                "offsets header claims \(count) frames in \(rawLength) raw bytes from \(payload.count) stored bytes")
        }
        let raw: [UInt8]
        if flags & 1 != 0 {
            guard payload.count == rawLength else {
                throw BlobError("offsets payload is \(payload.count) bytes, header says \(rawLength)")
            }
            raw = Array(payload)
        } else {
            guard let r = LZ4Block.decompress(payload, rawCount: rawLength) else {
                throw BlobError("offsets payload does not decompress")
            }
            raw = r
        }
        return (v2, count, first, raw)
    }

    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    static func unzigzag(_ u: UInt64) -> Int64 { Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1) }

    static func varint(_ v: UInt64, _ out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func readVarint(_ b: [UInt8], _ pos: inout Int) -> UInt64? {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while pos < b.count, shift < 64 {
            let byte = b[pos]
            pos += 1
            v |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return v }
            shift += 7
        }
        return nil
    }
}
