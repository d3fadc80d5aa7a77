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

/// Frame offsets of consecutive frames, delta-encoded: pts deltas and (pts - seek point) as
/// zig-zag varints, times as XOR with the previous time's bits (Gorilla-style), then LZ4 in a
/// checked blob ("RSO1", count u32, first index u32, raw length u32, CRC-32 u32, payload).
/// Regular timelines shrink to a few bytes a frame.
public enum OffsetCodec {
    public static func encode(_ offsets: [FrameOffsetRecord]) -> Data {
        var raw = [UInt8]()
        raw.reserveCapacity(offsets.count * 6)
        var prevPTS: Int64 = 0, prevTime: UInt64 = 0
        for (i, o) in offsets.enumerated() {
            precondition(o.index == (offsets.first?.index ?? 0) + i, "offsets of a chunk must be consecutive")
            varint(zigzag(o.pts &- prevPTS), &raw)
            varint(zigzag(o.pts &- o.seekPTS), &raw)
            varint(o.time.bitPattern ^ prevTime, &raw)
            prevPTS = o.pts
            prevTime = o.time.bitPattern
        }
        let packed = LZ4Block.compress(raw) ?? []
        var blob = Data("RSO1".utf8)
        blob.appendLE(UInt32(offsets.count))
        blob.appendLE(UInt32(offsets.first?.index ?? 0))
        blob.appendLE(UInt32(raw.count))
        blob.appendLE(CRC32.checksum(packed))
        blob.append(contentsOf: packed)
        return blob
    }

    public static func decode(_ blob: Data) throws(BlobError) -> [FrameOffsetRecord] {
        let b = [UInt8](blob)
        guard b.count >= 20, b[0..<4].elementsEqual("RSO1".utf8) else { throw BlobError("not an offsets blob (bad magic or \(b.count) bytes)") }
        let count = Int(b.readLE(UInt32.self, at: 4)), first = Int(b.readLE(UInt32.self, at: 8))
        let rawLength = Int(b.readLE(UInt32.self, at: 12)), crc = b.readLE(UInt32.self, at: 16)
        let payload = b[20...]
        guard CRC32.checksum(payload) == crc else { throw BlobError("offsets checksum mismatch") }
        guard let raw = LZ4Block.decompress(payload, rawCount: rawLength) else { throw BlobError("offsets payload does not decompress") }
        var out: [FrameOffsetRecord] = []
        out.reserveCapacity(count)
        var pos = 0, prevPTS: Int64 = 0, prevTime: UInt64 = 0
        for i in 0..<count {
            guard let d = readVarint(raw, &pos), let s = readVarint(raw, &pos), let t = readVarint(raw, &pos) else {
                throw BlobError("offsets payload ends after \(i) of \(count) frames")
            }
            let pts = prevPTS &+ unzigzag(d)
            let time = t ^ prevTime
            out.append(FrameOffsetRecord(index: first + i, pts: pts, time: Double(bitPattern: time), seekPTS: pts &- unzigzag(s)))
            prevPTS = pts
            prevTime = time
        }
        guard pos == raw.count else { throw BlobError("offsets payload has \(raw.count - pos) trailing bytes") }
        return out
    }

    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    static func unzigzag(_ u: UInt64) -> Int64 { Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1) }

    static func varint(_ v: UInt64, _ out: inout [UInt8]) {
        var v = v
        while v >= 0x80 { out.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }

    static func readVarint(_ b: [UInt8], _ pos: inout Int) -> UInt64? {
        var v: UInt64 = 0, shift: UInt64 = 0
        while pos < b.count, shift < 64 {
            let byte = b[pos]; pos += 1
            v |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return v }
            shift += 7
        }
        return nil
    }
}
